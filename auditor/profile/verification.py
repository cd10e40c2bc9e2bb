"""What ``auditor profile verify`` found: the profile's facts held against one cluster.

Plain typed values (no cluster model, no I/O), so the audit report can carry them
(``AuditReport.product_model``, the HTML "Product model" section, ``product_model`` in
report.json) and the command can print and write them. The JSON form is documented in
docs/report-schema.md (*product_model*); :meth:`Verification.to_dict` and
:meth:`Verification.from_dict` round-trip it.

Per node a fact is :attr:`Outcome.CONFIRMED` (this node shows it), :attr:`Outcome.CONTRADICTED`
(this node shows something else: the file is absent, the key is not in the file that was read,
the service runs under another name) or :attr:`Outcome.COULD_NOT_TELL` (the node was not
collected, the subsystem is not installed there, the file could not be read). Nodes that
showed the same thing are kept together (:class:`NodeGroup`), so a 5,000-node cluster whose
site servers all agree is one line, not 5,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from auditor.profile.view import Certainty

VERIFICATION_FORMAT_VERSION = 1


class Outcome(StrEnum):
    """What one node showed about one fact."""

    CONFIRMED = "confirmed"
    CONTRADICTED = "contradicted"
    COULD_NOT_TELL = "could_not_tell"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class FactOutcome(StrEnum):
    """What the cluster showed about one fact: contradicted on any node wins, then confirmed on
    any node; ``unverifiable`` for a fact nothing collected can show (the reason says why)."""

    CONFIRMED = "confirmed"
    CONTRADICTED = "contradicted"
    COULD_NOT_TELL = "could_not_tell"
    UNVERIFIABLE = "unverifiable"

    @property
    def label(self) -> str:
        return {"could_not_tell": "could not tell", "unverifiable": "cannot be verified"}.get(self.value, self.value)


class Scope(StrEnum):
    """Which facts were held against the cluster."""

    UNCERTAIN = "uncertain"  # the facts the profile marks assumed or inferred
    ALL = "all"  # every product fact, confirmed ones and those the profile says nothing about too


class Observation(NamedTuple):
    """What one node showed: the outcome and, in one line, what was seen (a named tuple: made
    once per node and fact, 150,000 times on a 5,000-node cluster)."""

    outcome: Outcome
    seen: str


@dataclass(frozen=True)
class NodeGroup:
    """Nodes that showed the same thing about a fact."""

    outcome: Outcome
    seen: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class FactResult:
    """One fact held against the cluster.

    ``looks_for`` says what was looked at (for an unverifiable fact: why nothing collected can
    show it); ``note`` what the admin should know about the whole (the nodes disagree, no
    collected node runs the subsystem ...); ``relied_on_by`` the checks whose findings trust
    this fact."""

    fact: str
    value: str
    certainty: Certainty | None
    looks_for: str
    outcome: FactOutcome
    groups: tuple[NodeGroup, ...] = ()
    note: str = ""
    relied_on_by: tuple[str, ...] = ()

    def nodes(self, outcome: Outcome) -> list[str]:
        return [n for g in self.groups if g.outcome is outcome for n in g.nodes]

    def count(self, outcome: Outcome) -> int:
        return sum(len(g.nodes) for g in self.groups if g.outcome is outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: self.count(o) for o in Outcome}


def fact_outcome(groups: Iterable[NodeGroup]) -> FactOutcome:
    """The whole-cluster outcome of a fact from its node groups."""
    seen = {g.outcome for g in groups}
    if Outcome.CONTRADICTED in seen:
        return FactOutcome.CONTRADICTED
    if Outcome.CONFIRMED in seen:
        return FactOutcome.CONFIRMED
    return FactOutcome.COULD_NOT_TELL


@dataclass(frozen=True)
class Verification:
    """Every selected fact of one profile held against one cluster."""

    profile: str  # Profile.label
    scope: Scope
    nodes_total: int
    not_collected: tuple[str, ...]  # nodes (in scope) whose facts could not be seen at all
    facts: tuple[FactResult, ...]
    only_nodes: tuple[str, ...] = ()  # --node: the nodes the results cover (empty: all)
    only_facts: tuple[str, ...] = ()  # --fact patterns (empty: every fact of the scope)

    def with_outcome(self, outcome: FactOutcome) -> list[FactResult]:
        return [f for f in self.facts if f.outcome is outcome]

    @property
    def summary(self) -> dict[str, int]:
        """Facts per whole-cluster outcome (every key always present)."""
        out = {o.value: 0 for o in FactOutcome}
        for f in self.facts:
            out[f.outcome.value] += 1
        return out

    @property
    def contradicted(self) -> list[FactResult]:
        return self.with_outcome(FactOutcome.CONTRADICTED)

    # ---- JSON (docs/report-schema.md, product_model) -----------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": VERIFICATION_FORMAT_VERSION,
            "profile": self.profile,
            "scope": self.scope.value,
            "nodes_total": self.nodes_total,
            "not_collected": list(self.not_collected),
            "only_nodes": list(self.only_nodes),
            "only_facts": list(self.only_facts),
            "summary": self.summary,
            "facts": [_fact_to_dict(f) for f in self.facts],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verification:
        """The value :meth:`to_dict` wrote (ValueError for another format version)."""
        if d.get("format_version") != VERIFICATION_FORMAT_VERSION:
            raise ValueError(f"unsupported product_model format_version {d.get('format_version')!r}")
        return cls(
            profile=str(d["profile"]),
            scope=Scope(d["scope"]),
            nodes_total=int(d["nodes_total"]),
            not_collected=tuple(d["not_collected"]),
            only_nodes=tuple(d.get("only_nodes") or ()),
            only_facts=tuple(d.get("only_facts") or ()),
            facts=tuple(_fact_from_dict(f) for f in d["facts"]),
        )


def _fact_to_dict(f: FactResult) -> dict[str, Any]:
    return {
        "fact": f.fact,
        "value": f.value,
        "certainty": f.certainty.value if f.certainty is not None else None,
        "outcome": f.outcome.value,
        "looks_for": f.looks_for,
        "note": f.note,
        "counts": f.counts,
        "relied_on_by": list(f.relied_on_by),
        "results": [{"outcome": g.outcome.value, "seen": g.seen, "nodes": list(g.nodes)} for g in f.groups],
    }


def _fact_from_dict(d: Mapping[str, Any]) -> FactResult:
    return FactResult(
        fact=d["fact"],
        value=d["value"],
        certainty=Certainty(d["certainty"]) if d.get("certainty") else None,
        looks_for=d["looks_for"],
        outcome=FactOutcome(d["outcome"]),
        groups=tuple(NodeGroup(Outcome(g["outcome"]), g["seen"], tuple(g["nodes"])) for g in d["results"]),
        note=d.get("note") or "",
        relied_on_by=tuple(d.get("relied_on_by") or ()),
    )


__all__ = ["VERIFICATION_FORMAT_VERSION", "FactOutcome", "FactResult", "NodeGroup", "Observation", "Outcome", "Scope",
           "Verification", "fact_outcome"]
