"""What a precondition looks at: the collected cluster, seen three ways, and the checks' findings.

A precondition reuses the checks' logic instead of restating their rules: "the cluster uses
an external database" is DB-EXTERNAL passing on every existing Management server. But the
checks must see the right cluster: before a new Management server is installed it is in the
inventory with nothing installed, and every cross-node check would fail because of it (the
Spooler Controllers do not list it yet, it has no version ...). So a :class:`Situation` offers
the cluster per :class:`Scope`:

* ``EXISTING``: the cluster without the new server, as it is before the change;
* ``NEW``: the new server alone (its Windows, its collection);
* ``ALL``: every node of the inventory (installers running anywhere, every node collected).

Models and findings are built once per scope and check, on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from auditor.checks import run_checks
from auditor.cluster import Cluster, NodeView
from auditor.declared import Declarations
from auditor.expectations import Expected
from auditor.findings import Finding
from auditor.nodestate import NodeState, PathProbe
from auditor.precheck.model import Change, Outcome, Verdict
from auditor.profile import Profile
from auditor.winpath import path_key


class Scope(StrEnum):
    EXISTING = "existing"  # the cluster without the new Management server (the whole cluster for an update)
    NEW = "new"  # the new Management server alone
    ALL = "all"  # every node of the inventory


@dataclass
class Situation:
    """The collected cluster and what the admin asked, as the preconditions see it.

    ``new_name``: the Management server to add (add-management); ``new_probes``: the paths
    probed *from* it (the repository share), keyed by :func:`auditor.winpath.path_key`;
    ``target``: the version to update to (update ``--to``), with where it came from.
    """

    change: Change
    states: list[NodeState]
    profile: Profile
    declared: Declarations = field(default_factory=Declarations)
    new_name: str | None = None
    new_probes: Mapping[str, PathProbe] = field(default_factory=dict)
    target: Expected | None = None
    _clusters: dict[Scope, Cluster] = field(default_factory=dict, init=False, repr=False)
    _findings: dict[tuple[Scope, str], list[Finding]] = field(default_factory=dict, init=False, repr=False)

    def _in_scope(self, state: NodeState, scope: Scope) -> bool:
        is_new = self.new_name is not None and state.name.lower() == self.new_name.lower()
        return scope is Scope.ALL or (is_new if scope is Scope.NEW else not is_new)

    def cluster(self, scope: Scope) -> Cluster:
        if scope not in self._clusters:
            states = [s for s in self.states if self._in_scope(s, scope)]
            self._clusters[scope] = Cluster.build(states, self.profile, self.declared)
        return self._clusters[scope]

    def findings(self, check_id: str, scope: Scope = Scope.EXISTING) -> list[Finding]:
        """The findings of one check over the cluster of ``scope``."""
        key = (scope, check_id)
        if key not in self._findings:
            self._findings[key] = run_checks(self.cluster(scope), only={check_id})
        return self._findings[key]

    @property
    def new(self) -> NodeView | None:
        """The new Management server's view (in the ``ALL`` cluster), None for an update."""
        return self.cluster(Scope.ALL).node(self.new_name) if self.new_name else None

    @property
    def existing_management(self) -> list[NodeView]:
        return self.cluster(Scope.EXISTING).management_nodes

    def not_collected(self, nodes: Iterable[NodeView]) -> list[str]:
        return [n.name for n in nodes if not n.reachable]

    def probe_from_new(self, path: str) -> PathProbe | None:
        return self.new_probes.get(path_key(path))


def failing(findings: Iterable[Finding], nodes: Iterable[str] | None = None) -> list[Finding]:
    """The ``fail``/``error`` findings, of ``nodes`` only when given (case-insensitive)."""
    wanted = {n.lower() for n in nodes} if nodes is not None else None
    return [f for f in findings if f.failing and (wanted is None or (f.node or "").lower() in wanted)]


def blocked_by(bad: Sequence[Finding], unseen: Sequence[str]) -> Outcome | None:
    """The no-go of a precondition a check decides: its failing findings (the evidence), else
    the nodes it could not see (never a go about a node not collected); None when neither."""
    if bad:
        return Outcome(Verdict.NO_GO, explain(bad), nodes=tuple(dict.fromkeys(f.node or "" for f in bad)),
                       evidence=tuple(bad))
    if unseen:
        return Outcome(Verdict.NO_GO, f"cannot be confirmed: {names(unseen)} not collected", nodes=tuple(unseen))
    return None


def management_agree(s: Situation, check_id: str, needed: Expected | None, what: str,
                     declare: str) -> Outcome | None:
    """The no-go of a value every existing Management server must share (``check_id`` owns
    the rule, ``needed`` is what it decided): its failing findings, the servers not collected,
    or no agreed value (``declare`` names the inventory key that settles it); None: a go."""
    mgmt = s.existing_management
    stop = blocked_by(failing(s.findings(check_id), [n.name for n in mgmt]), s.not_collected(mgmt))
    if stop is None and needed is None:
        stop = Outcome(Verdict.NO_GO, f"the existing Management servers do not agree on one {what} (declare "
                                      f"{declare} in the inventory)")
    return stop


def names(nodes: Iterable[str]) -> str:
    return ", ".join(sorted(nodes, key=str.lower))


def explain(findings: Iterable[Finding], limit: int = 6) -> str:
    """``MGMT2: version 6.0.111 is behind ...; SITE1: ...``: the evidence in one line."""
    items = [f"{f.node or 'cluster'}: {f.message}" for f in findings]
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


__all__ = ["Scope", "Situation", "blocked_by", "explain", "failing", "management_agree", "names"]
