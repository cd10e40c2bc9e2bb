"""The vocabulary of a pre-change validation: a precondition, its verdict, the whole report.

A precondition is data the way a check is (:class:`Precondition`, declared once per module in
``auditor/precheck/conditions/``), and what it concluded is one :class:`ConditionResult`: a
verdict, the reason in one sentence, the nodes concerned, the check findings it rests on
(the evidence) and the values the change needs with where each came from (the version a new
Management server must be installed with, the service account it needs ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from auditor.expectations import Expected
from auditor.findings import Finding, sources_to_dict
from auditor.profile import Certainty
from auditor.vocab import ExitStatus, NodeStatus


class Change(StrEnum):
    """The change a precheck validates (the ``auditor precheck`` sub-command)."""

    ADD_MANAGEMENT = "add-management"
    UPDATE = "update"


class Verdict(StrEnum):
    """What one precondition, or the whole precheck, concludes."""

    GO = "go"
    WARNING = "warning"  # go, with something to look at first
    NO_GO = "no-go"

    @property
    def rank(self) -> int:
        return (Verdict.GO, Verdict.WARNING, Verdict.NO_GO).index(self)


@dataclass(frozen=True)
class Precondition:
    """What must hold before a change, and why (the metadata of one precondition module).

    ``reuses`` names the checks whose logic decides it (``auditor checks ID`` explains them);
    ``certainty`` is how sure the product fact behind it is (``confirmed``/``inferred``/
    ``assumed``), shown beside the verdict.
    """

    id: str  # stable UPPER-KEBAB id, e.g. EXTERNAL-DATABASE
    title: str
    rationale: str
    remediation: str
    reuses: tuple[str, ...] = ()
    certainty: Certainty = Certainty.CONFIRMED


@dataclass(frozen=True)
class Outcome:
    """What a precondition's ``evaluate`` concludes (the meta is added by the caller)."""

    verdict: Verdict
    reason: str
    nodes: tuple[str, ...] = ()  # the nodes the reason is about
    evidence: tuple[Finding, ...] = ()  # failing check findings behind a no-go or warning
    needs: Mapping[str, Expected] = field(default_factory=dict)  # values the change needs, with their source


@dataclass(frozen=True)
class ConditionResult:
    condition: Precondition
    outcome: Outcome

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict

    def to_dict(self) -> dict[str, Any]:
        c, o = self.condition, self.outcome
        return {"id": c.id, "title": c.title, "verdict": o.verdict.value, "reason": o.reason,
                "nodes": list(o.nodes), "certainty": c.certainty.value, "reuses": list(c.reuses),
                "remediation": c.remediation if o.verdict is not Verdict.GO else "",
                "needs": sources_to_dict(dict(o.needs)),
                "evidence": [f.to_dict() for f in o.evidence]}


class StepState(StrEnum):
    """Where one server stands in an update's order."""

    DONE = "done"  # already on the target version
    NEXT = "next"  # the server to run the installer on now
    PENDING = "pending"


@dataclass(frozen=True)
class Step:
    """One step of a change's order (update: one node to run the installer on)."""

    number: int
    node: str
    role: str  # management / site
    version: str | None  # what the node runs now
    state: StepState
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "node": self.node, "role": self.role, "version": self.version,
                "state": self.state.value, "note": self.note}


@dataclass(frozen=True)
class NodeCollection:
    """How collecting one node went, as the precheck reports it."""

    name: str
    roles: tuple[str, ...]
    status: NodeStatus
    reason: str = ""

    @property
    def collected(self) -> bool:
        return self.status is NodeStatus.OK


@dataclass
class PrecheckReport:
    """Everything one precheck run found, for every output (console, HTML, JSON)."""

    change: Change
    cluster: str
    subject: str  # the new Management server's name, or the target version ("" when not given)
    results: list[ConditionResult]
    nodes: list[NodeCollection]
    started_at: str
    finished_at: str
    tool_version: str
    inventory: str = ""
    order: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what to do next, in order
    inputs: dict[str, Expected] = field(default_factory=dict)  # further values the change needs (installer inputs)
    run_id: int | None = None  # the history run recorded for this precheck
    baseline_pinned: bool = False
    history_note: str = ""  # what happened in the history: recorded, pinned, or why not
    written: list[Path] = field(default_factory=list)  # the report files written (--out)

    @property
    def not_collected(self) -> list[NodeCollection]:
        return [n for n in self.nodes if not n.collected]

    @property
    def verdict(self) -> Verdict:
        worst = max((r.verdict for r in self.results), key=lambda v: v.rank, default=Verdict.GO)
        return Verdict.NO_GO if self.not_collected else worst

    @property
    def exit_code(self) -> ExitStatus:
        """0 go (warnings included), 1 no-go, 3 a node could not be collected (wins over 1)."""
        if self.not_collected:
            return ExitStatus.UNREACHABLE
        return ExitStatus.FINDINGS if self.verdict is Verdict.NO_GO else ExitStatus.OK

    def needs(self) -> dict[str, Expected]:
        """Every value the change needs, from every precondition, in precondition order."""
        out: dict[str, Expected] = {}
        for r in self.results:
            for what, e in r.outcome.needs.items():
                out.setdefault(what, e)
        for what, e in self.inputs.items():
            out.setdefault(what, e)
        return out

    def by_verdict(self, verdict: Verdict) -> list[ConditionResult]:
        return [r for r in self.results if r.verdict is verdict]


__all__ = ["Change", "ConditionResult", "NodeCollection", "Outcome", "Precondition", "PrecheckReport", "Step",
           "StepState", "Verdict"]
