"""Helpers shared by check modules (not a check: the name starts with ``_``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from auditor.cluster import FileResult, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status


def make(meta: CheckMeta, status: Status, node: str | None, subject: str, message: str, *,
         severity: Severity | None = None, **kw: Any) -> Finding:
    """A finding with the check's defaults; ``fixable`` only on failures a fixer can fix."""
    return Finding(check_id=meta.id, status=status, severity=severity or meta.severity, node=node,
                   subject=subject, message=message, fixable=meta.fixable and status == Status.FAIL, **kw)


def unreachable(meta: CheckMeta, node: NodeView, subject: str | None = None) -> Finding:
    reason = node.state.reason or node.state.status
    return make(meta, Status.SKIP, node.name, subject or node.name,
                f"not evaluated: node unreachable ({reason})", details={"node_status": node.state.status})


def not_applicable(meta: CheckMeta, node: NodeView, why: str) -> Finding:
    return make(meta, Status.SKIP, node.name, node.name, f"not applicable: {why}")


def per_node(meta: CheckMeta, cluster: Any, evaluate: Callable[[NodeView], Iterable[Finding]], *,
             management_only: bool = False) -> Iterator[Finding]:
    """``evaluate`` for every node it can judge; every other node still gets its one finding.

    The one place for the rule every per-node check follows: a node outside the check's scope
    is skipped as not applicable, a node that could not be collected is skipped as unreachable
    (never ``pass``: nothing was seen), so the matrix has a cell for every node and check.
    """
    for node in cluster.nodes:
        if management_only and not node.is_management:
            yield not_applicable(meta, node, "not a Management server")
        elif not node.reachable:
            yield unreachable(meta, node)
        else:
            yield from evaluate(node)


class JudgedOnce:
    """A per-node finding judged once per distinct content of what the check reads from a node.

    Healthy Site servers carry identical server lists (a 5,000-node cluster: ~5,000 copies of
    one list), and judging each copy against the cluster's Management servers again gives the
    same finding but for its node. ``key`` must capture everything the evaluation reads from
    the node (the values, their line numbers, the file's path) except the node's name, which
    the evaluation may use only as the finding's ``node`` and ``subject``: the first finding
    for a key is kept and later nodes get a copy naming them. A finding whose subject is not
    its node's name is never reused (each such node is judged itself).
    """

    def __init__(self, evaluate: Callable[[NodeView], Finding]):
        self.evaluate = evaluate
        self._judged: dict[Hashable, Finding] = {}

    def __call__(self, node: NodeView, key: Hashable) -> Finding:
        first = self._judged.get(key)
        if first is not None:
            return first.about(node.name)
        finding = self.evaluate(node)
        if finding.node == node.name and finding.subject == node.name:
            self._judged[key] = finding
        return finding


def spoc_blocker(meta: CheckMeta, cluster: Any, node: NodeView, file_of: Callable[[Any], FileResult]
                 ) -> Finding | None:
    """Why a check of a reachable node's SPOC configuration cannot judge it, as the finding to
    report (None when it can): no SPOC where one is mandatory (error) or expected (skip), the
    SPOC file ``file_of(node.spoc)`` unreadable or unparsable (error), or no Management server
    in the inventory to compare against (skip)."""
    if node.spoc is None:
        if node.is_management or node.is_site:
            return make(meta, Status.ERROR, node.name, node.name,
                        "cannot evaluate: no Spooler Controller found on this node (see MGMT-SUBSYSTEMS)")
        return not_applicable(meta, node, "no Spooler Controller")
    res = file_of(node.spoc)
    if not res.ok:
        return file_error(meta, node, node.name, res)
    if not cluster.management_nodes:
        return make(meta, Status.SKIP, node.name, node.name,
                    "not evaluated: the inventory names no Management server, so the expected list is unknown")
    return None


def file_error(meta: CheckMeta, node: NodeView, subject: str, res: FileResult, what: str = "") -> Finding:
    msg = (what + ": " if what else "") + "cannot evaluate, " + res.problem()
    return make(meta, Status.ERROR, node.name, subject, msg, file=res.path, line=res.line,
                details={"file_status": res.status})


def majority(values: dict[str, str]) -> tuple[str | None, bool]:
    """Most common value among subjects and whether it is a strict majority winner.

    With a tie there is no trustworthy reference, so callers flag every differing subject.
    """
    counts: dict[str, int] = {}
    for v in values.values():
        counts[v] = counts.get(v, 0) + 1
    if not counts:
        return None, False
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1:
        return ranked[0][0], True
    return ranked[0][0], ranked[0][1] > ranked[1][1]


def product_services(cluster, node: NodeView) -> list:
    """Services of the product (profile service_patterns), legacy SafeQ 5 ones excluded."""
    import fnmatch

    patterns = [p.lower() for p in cluster.profile.service_patterns]
    legacy = {s.lower() for s in cluster.profile.legacy_services}
    return [s for s in node.state.services
            if any(fnmatch.fnmatchcase(s.name.lower(), p) for p in patterns) and s.name.lower() not in legacy]
