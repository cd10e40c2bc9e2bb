"""Evaluate a change's preconditions over a :class:`~auditor.precheck.situation.Situation`."""

from __future__ import annotations

from auditor.precheck.conditions import CONDITIONS
from auditor.precheck.model import ConditionResult, Outcome, Verdict
from auditor.precheck.situation import Situation


def evaluate(situation: Situation) -> list[ConditionResult]:
    """Every precondition of ``situation.change``, in its order.

    A precondition that raises is a no-go naming the exception: a validation that could not
    run is never a go (and one broken precondition does not hide the others)."""
    results = []
    for module in CONDITIONS[situation.change]:
        try:
            outcome = module.evaluate(situation)
        except Exception as exc:  # noqa: BLE001 - one broken precondition must not abort the precheck
            outcome = Outcome(Verdict.NO_GO, f"could not be evaluated: {type(exc).__name__}: {exc}")
        results.append(ConditionResult(module.META, outcome))
    return results


__all__ = ["evaluate"]
