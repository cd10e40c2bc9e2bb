"""Fixers: one module per fixable check id, each ``plan(cluster, findings, options)``.

A fixer only *plans* (returns :class:`~auditor.fixers.plan.NodePlan` values: file edits with
diffs, service actions, notes); it never touches a node. :func:`build_plan` runs the fixers
for the failing findings and merges their output into one :class:`FixPlan`; the apply
engine (``auditor.fixers.apply``) executes it node by node. Checks that cannot be fixed
automatically get :class:`Advice` instead (``ADVICE`` modules, e.g. DB-EXTERNAL), so the
admin sees the remaining work in the same output.

Registry: ``FIXERS`` (check id -> plan function) and ``ADVICE`` (check id -> (text, refs)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from auditor.fixers import (
    db_external,
    ims_repo_shared,
    ims_service_account,
    mgmt_config_consistent,
    spoc_ims_addresses,
    spoc_mgmt_list,
)
from auditor.fixers.order import rollout_order
from auditor.fixers.plan import (
    Advice,
    Blocked,
    CannotPlan,
    FixOptions,
    FixPlan,
    NodePlan,
    merge_node_plans,
)

PlanFn = Callable[..., list[NodePlan]]

FIXERS: dict[str, PlanFn] = {
    mod.CHECK_ID: mod.plan
    for mod in (spoc_mgmt_list, spoc_ims_addresses, ims_repo_shared, ims_service_account, mgmt_config_consistent)
}
# fixers that also run without a failure when the admin named the value to enforce
EXPLICIT: dict[str, Callable[[FixOptions], bool]] = {
    ims_repo_shared.CHECK_ID: lambda o: bool(o.repository_path),
    ims_service_account.CHECK_ID: lambda o: bool(o.service_account),
}
ADVICE: dict[str, tuple[str, tuple[str, ...]]] = {
    db_external.CHECK_ID: (db_external.ADVICE, db_external.REFERENCES),
}


def fixable_check_ids() -> list[str]:
    return sorted(FIXERS)


def build_plan(cluster, findings: Sequence, options: FixOptions | None = None,
               metas: dict | None = None) -> FixPlan:
    """Plan fixes for every failing finding (already filtered by --check by the caller).

    ``findings`` with status ``error`` are never "fixed": the check could not even evaluate
    the node (unreadable file, unreachable node), so they are reported as blocked.
    ``metas`` (check id -> CheckMeta) supplies remediation text for failing checks that have
    neither a fixer nor an ADVICE entry.
    """
    options = options or FixOptions()
    out = FixPlan()
    failing = [f for f in findings if f.failing and (f.node is None or options.targets(f.node))]
    by_check: dict[str, list] = {}
    for f in failing:
        by_check.setdefault(f.check_id, []).append(f)
    # an explicit value from the admin (--repository-path, --service-account) is enforced even
    # where nothing fails yet (e.g. moving the repository), as long as its check was selected
    ran = {f.check_id for f in findings}
    for check_id, explicit in EXPLICIT.items():
        if check_id in ran and check_id not in by_check and explicit(options):
            by_check[check_id] = []
    node_plans: list[NodePlan] = []
    for check_id, fs in sorted(by_check.items()):
        errors = [f for f in fs if f.status.value == "error"]
        fails = [f for f in fs if f.status.value == "fail"]
        if check_id in FIXERS:  # errors of other checks are the audit's business, not the plan's
            for f in errors:
                out.blocked.append(Blocked(check_id, [f.node] if f.node else [],
                                           f"the check could not evaluate this node: {f.message}"))
        if not fails and not (check_id in EXPLICIT and EXPLICIT[check_id](options)):
            continue
        nodes = sorted({f.node for f in fails if f.node}, key=str.lower)
        if check_id in FIXERS:
            try:
                produced = FIXERS[check_id](cluster, fails, options)
            except CannotPlan as exc:
                out.blocked.append(Blocked(check_id, exc.nodes or nodes, exc.reason))
                continue
            node_plans.extend(produced)
            # every failing finding is accounted for: planned, blocked or noted, never dropped
            covered = {p.node.lower() for p in produced if not p.empty or p.blocked or p.notes}
            for f in fails:
                if f.node and f.node.lower() not in covered:
                    out.blocked.append(Blocked(check_id, [f.node], f"no automatic change for: {f.message}"))
        elif check_id in ADVICE:
            text, refs = ADVICE[check_id]
            out.advice.append(Advice(check_id, nodes, text, list(refs)))
        else:
            meta = (metas or {}).get(check_id)
            text = meta.remediation if meta else fs[0].message
            out.advice.append(Advice(check_id, nodes, text, list(meta.references) if meta else []))
    order = [n.name for n in cluster.nodes]
    out.nodes = rollout_order(cluster, merge_node_plans(node_plans, order=order))
    for n in out.nodes:
        out.blocked.extend(n.blocked)
        out.notes.extend(x for x in n.notes if x not in out.notes)
    return out


__all__ = [
    "ADVICE", "FIXERS", "Advice", "Blocked", "CannotPlan", "FixOptions", "FixPlan", "NodePlan", "build_plan",
    "fixable_check_ids",
]
