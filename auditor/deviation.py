"""Who is wrong when nodes that must agree do not.

When two Management servers run the Infrastructure Service under different accounts, point
at different repositories, use different database settings or run different versions, a
check must not fail both: the admin would "repair" the server that is right. Every check
(and fixer) that compares nodes asks :func:`judge` instead, which decides in this order:

1. **declared**: the value the admin declared in the inventory (docs/inventory.md) is the
   reference; every node that differs from it deviates;
2. **validity**: a value that cannot work (a local account, a path that is not shared, a
   version that is not the cluster's) deviates whatever the others say, and never becomes
   the reference;
3. **majority**: among the valid values, the one held by more nodes than any other.

Only deviating nodes fail. A node that agrees passes with a note naming the disagreement
("MGMT2 differs, see its finding"). When nothing breaks the tie (two nodes, both valid, no
declaration), every tied node gets :attr:`Verdict.TIE` and the message says which inventory
key to declare and how. Nodes that were not collected are simply not in ``values``: they
never vote and are never blamed (``absent`` only names them in the notes).

The rule has this one home; checks turn a :class:`Judgement` into findings, fixers use its
:attr:`Judgement.reference` as the value to write, or refuse with :meth:`Judgement.undecided`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from auditor.expectations import ExpectationSource, Expected


class Verdict(StrEnum):
    """What one node's value is, compared with the others."""

    AGREES = "agrees"  # holds the reference value
    DEVIATES = "deviates"  # differs from the reference, or cannot work at all
    TIE = "tie"  # one side of a disagreement nothing decides


class Basis(StrEnum):
    """What decided the reference value."""

    DECLARED = "declared"  # the inventory declares it
    UNANIMOUS = "unanimous"  # every node that voted has it
    VALIDITY = "validity"  # the only value that can work
    MAJORITY = "majority"  # held by more nodes than any other valid value
    TIE = "tie"  # nothing decides: no reference
    NONE = "none"  # no node has a value that can work, nothing declared: no reference


@dataclass(frozen=True)
class Declare:
    """How an admin settles a tie: the inventory key and the line to write.

    ``how`` defaults to a top-level key (``ims_service_account: <the intended value>``); a
    per-node or nested declaration passes its own wording."""

    key: str
    how: str = ""

    def instruction(self) -> str:
        how = self.how or f"add `{self.key}: <the intended value>` at the top level of the inventory"
        return f"declare the intended value in the inventory (key {self.key}): {how} (docs/inventory.md)"


@dataclass(frozen=True)
class NodeVerdict:
    """One node's verdict, its value as the node has it, and the sentence that explains it.

    ``reason`` says why a deviating or tied node fails; ``note`` is what an agreeing node's
    pass mentions ("MGMT2 differs, see its finding"), empty when every node agrees."""

    node: str
    verdict: Verdict
    value: Any
    reason: str = ""
    note: str = ""

    @property
    def fails(self) -> bool:
        return self.verdict is not Verdict.AGREES


@dataclass(frozen=True)
class Judgement:
    """The outcome of :func:`judge` for one compared value (an account, a path, a key)."""

    what: str  # what was compared, as a message names it ("Infrastructure Service account")
    basis: Basis
    reference: Any  # the value nodes must have (as the holder or the declaration writes it); None: undecided
    expected: Expected | None  # the reference with its source, for Finding.expected_sources
    verdicts: Mapping[str, NodeVerdict] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # nodes that did not vote (not collected, value not readable)
    declare: Declare | None = None
    declared_problem: str | None = None  # why the declared value itself cannot work, when it cannot

    def of(self, node: str) -> NodeVerdict | None:
        """The verdict of ``node`` (case-insensitive); None for a node that did not vote."""
        hit = self.verdicts.get(node)
        if hit is not None:
            return hit
        low = node.lower()
        return next((v for n, v in self.verdicts.items() if n.lower() == low), None)

    @property
    def deviating(self) -> tuple[str, ...]:
        """Nodes that fail: deviating and tied ones, in name order."""
        return tuple(n for n in _by_name(self.verdicts) if self.verdicts[n].fails)

    @property
    def disagreement(self) -> bool:
        """Whether any node fails (the values differ, or one cannot work)."""
        return bool(self.deviating)

    def undecided(self) -> str | None:
        """Why no value can be written (for a fixer's blocked plan), None when there is a reference."""
        if self.reference is not None:
            return None
        if self.basis is Basis.TIE:
            return self.verdicts[self.deviating[0]].reason
        return (f"no node has a {self.what} that can work and none is declared: "
                + (self.declare.instruction() if self.declare else "choose one"))


def _by_name(names: Iterable[str]) -> list[str]:
    return sorted(names, key=str.lower)


def _names(nodes: Iterable[str]) -> str:
    return ", ".join(_by_name(nodes))


def _differs_note(others: list[str]) -> str:
    if not others:
        return ""
    if len(others) == 1:
        return f"{others[0]} differs, see its finding"
    return f"{_names(others)} differ, see their findings"


def judge(values: Mapping[str, Any], *, what: str, declared: Expected | None = None,
          valid: Callable[[Any], str | None] | None = None,
          key: Callable[[Any], Hashable] = lambda v: v,
          absent: Iterable[str] = (), declare: Declare | None = None,
          show: Callable[[Any], str] = str, plain: Callable[[Any], Any] = lambda v: v) -> Judgement:
    """Decide, for every node in ``values`` (node name -> its value), whether it agrees.

    ``declared``: the inventory's value (source ``declared``), compared through ``key``.
    ``valid(value)``: why a value cannot work, or None when it can.
    ``key(value)``: the comparison form (case, separators...); values are reported as given.
    ``absent``: nodes that could not vote, named in the notes, never judged.
    ``declare``: the inventory key that settles a tie (named in the tie message).
    ``show(value)``: how a value reads in a message (a secret shows as ``<secret>``).
    ``plain(value)``: the value as :class:`Expected` carries it into reports (JSON-able text).
    """
    valid = valid or (lambda _v: None)
    absent = tuple(_by_name(a for a in absent if a not in values))
    problems = {n: valid(v) for n, v in values.items()}
    groups: dict[Hashable, list[str]] = {}
    for n in _by_name(values):
        if problems[n] is None:
            groups.setdefault(key(values[n]), []).append(n)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0].lower()))
    unheard = f" ({_names(absent)}: no value collected, did not vote)" if absent else ""

    if declared is not None and declared.value not in (None, ""):
        ref_key, reference = key(declared.value), declared.value
        basis, expected = Basis.DECLARED, declared
        against = f"the declared {show(reference)} ({declared.detail or 'the inventory'})"
    elif not ranked:
        ref_key = reference = expected = None
        basis, against = Basis.NONE, ""
    elif len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
        ref_key = reference = expected = None
        basis, against = Basis.TIE, ""
    else:
        ref_key, holders = ranked[0]
        reference = values[holders[0]]
        voters = len(values)
        if len(ranked) == 1 and len(holders) == voters:
            basis = Basis.UNANIMOUS
            detail = f"all {voters} agree" if voters > 1 else f"{holders[0]}'s value"
        elif len(ranked) == 1:
            basis = Basis.VALIDITY
            detail = f"the only value that can work ({_names(holders)})"
        else:
            basis = Basis.MAJORITY
            detail = f"{len(holders)} of {voters}: {_names(holders)}"
        expected = Expected(plain(reference), ExpectationSource.CONSENSUS if basis is not Basis.VALIDITY
                            else ExpectationSource.COLLECTED, detail + unheard)
        against = (f"{show(reference)}, the value of {_names(holders)}"
                   + (f" ({len(holders)} of {voters})" if basis is Basis.MAJORITY else "")
                   + (" (the only one that can work)" if basis is Basis.VALIDITY else ""))

    verdicts: dict[str, NodeVerdict] = {}
    if basis is Basis.TIE:
        tied = "; ".join(f"{_names(ns)} {'have' if len(ns) > 1 else 'has'} {show(values[ns[0]])}"
                         for _k, ns in ranked)
        instruction = declare.instruction() if declare else "decide which value is right"
        tie_reason = f"tie: {tied}; nothing decides which {what} is right: {instruction}"
    for n in _by_name(values):
        v, problem = values[n], problems[n]
        if problem is not None:
            also = f"; the cluster's is {against}" if ref_key is not None and key(v) != ref_key else ""
            verdicts[n] = NodeVerdict(n, Verdict.DEVIATES, v, problem + also)
        elif basis is Basis.TIE:
            verdicts[n] = NodeVerdict(n, Verdict.TIE, v, tie_reason)
        elif key(v) != ref_key:
            verdicts[n] = NodeVerdict(n, Verdict.DEVIATES, v, f"{what} {show(v)} differs from {against}")
        else:
            verdicts[n] = NodeVerdict(n, Verdict.AGREES, v)
    failing = [n for n, nv in verdicts.items() if nv.fails]
    for n, nv in verdicts.items():
        if not nv.fails and (failing or absent):
            note = "; ".join(x for x in (_differs_note([o for o in failing if o != n]), unheard.strip(" ()")) if x)
            verdicts[n] = NodeVerdict(n, nv.verdict, nv.value, nv.reason, note)
    declared_problem = valid(declared.value) if basis is Basis.DECLARED else None
    return Judgement(what=what, basis=basis, reference=reference, expected=expected, verdicts=verdicts,
                     absent=absent, declare=declare, declared_problem=declared_problem)


__all__ = ["Basis", "Declare", "Judgement", "NodeVerdict", "Verdict", "judge"]
