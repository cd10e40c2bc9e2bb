"""Fixer for MGMT-CONFIG-CONSISTENT: align a deviating Management server's shared keys with the cluster.

For every shared key on which a server deviates (auditor.sharedconfig), the value to write is
the one the check's judgement names: the inventory's ``shared_config`` declaration (or its
``database`` for the database keys), else the value most Management servers have, written as the
first of them writes it. A key the others do not have is removed; a key this server lacks is
added after the key that precedes it on the server that has it. Never changed:

- secrets (compared by hash only: the value is never read into a plan, so it cannot be copied);
- node-specific keys (profile ``shared_config.*.node_specific_keys``: never compared either);
- keys with no decided value (a tie, two servers with two values): blocked with the reason, so
  the admin declares the intended value under ``shared_config`` and runs the fix again;
- a shared file this server does not have at all (copy it from another server by hand).

Every edit is minimal (the .properties parser keeps comments, order, encoding and line endings,
and escapes values by Java's rules); the service that reads the file (profile
``shared_config.*.owner`` / ``restart``) is restarted, and the apply engine re-verifies the node.
When some of a server's keys are blocked, the plan fixes the others and the finding is expected
to list fewer differences afterwards (a partial fix).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.cluster import Cluster, NodeView
from auditor.findings import Finding
from auditor.fixers._common import addresses, current_bytes, restart_name
from auditor.fixers.plan import Blocked, FileEdit, FixOptions, NodePlan
from auditor.parsers import PropertiesDocument
from auditor.sharedconfig import SharedKey, compare
from auditor.winpath import path_key

CHECK_ID = "MGMT-CONFIG-CONSISTENT"


def _preceding_key(cluster: Cluster, k: SharedKey) -> str | None:
    """The key before ``k.key`` in the file of the first server that has the reference value."""
    for name in k.holders:
        view = cluster.node(name)
        found = next((f for f in view.management.shared if path_key(f.rel) == path_key(k.rel) and f.result.ok),
                     None) if view and view.management else None
        if found is None:
            continue
        keys = list(found.result.doc)
        if k.key in keys:
            i = keys.index(k.key)
            return keys[i - 1] if i > 0 else None
    return None


def _why_not(k: SharedKey) -> str | None:
    """Why ``k`` cannot be aligned automatically on a server (None: it can)."""
    if k.secret:
        return (f"{k.label}: a secret differs; align it by hand (the tool compares secrets by hash and never "
                "reads or copies their value)")
    if k.reference is None:
        return k.judgement.undecided()
    return None


def _plan_node(cluster: Cluster, view: NodeView, keys: list[SharedKey], findings: Sequence[Finding]) -> NodePlan:
    node_plan = NodePlan(node=view.name, addresses=addresses(findings, view.name))
    blocked: list[str] = []
    by_file: dict[str, list[SharedKey]] = {}
    for k in keys:
        why = _why_not(k)
        if why:
            blocked.append(why)
        else:
            by_file.setdefault(path_key(k.rel), []).append(k)
    for fkey, file_keys in by_file.items():
        shared = next((f for f in view.management.shared if path_key(f.rel) == fkey), None)
        rel = file_keys[0].rel
        if shared is None or not shared.result.ok or shared.result.path is None:
            blocked.append(f"{rel} does not exist on {view.name} (or could not be read): copy it from "
                           f"{', '.join(file_keys[0].holders) or 'another Management server'} by hand")
            continue
        old = current_bytes(view, shared.result.path)
        if old is None:
            blocked.append(f"{shared.result.path}: content was not collected")
            continue
        service = restart_name(cluster, view, shared.spec.restart, shared.spec.owner)
        if service is None:
            blocked.append(f"{rel}: the service that reads it ({shared.spec.owner}) was not found, so a change "
                           "could not be picked up")
            continue
        doc = PropertiesDocument(old, shared.result.path)
        changes = []
        for k in file_keys:
            ref, here = k.reference, k.slot(view.name)
            if ref.absent:
                doc.remove(k.key)
                changes.append(f"remove {k.key} (no other Management server has it)")
            elif here is None or here.absent:
                doc.set(k.key, ref.value or "", after=_preceding_key(cluster, k))
                changes.append(f"add {k.key}={ref.value}")
            else:
                doc.set(k.key, ref.value or "")
                changes.append(f"set {k.key} from {here.value} to {ref.value}")
        node_plan.edits.append(FileEdit(
            node=view.name, path=shared.result.path, old=old, new=doc.render(), check_id=CHECK_ID,
            reason=f"align with the other Management servers: {'; '.join(changes)}", restart=service))
    for why in blocked:
        node_plan.blocked.append(Blocked(CHECK_ID, [view.name], why))
    if not node_plan.edits:
        node_plan.addresses = []  # nothing changes here: the finding stays, blocked with the reason
    elif blocked:
        node_plan.partial = [a for a in node_plan.addresses if a[0] == CHECK_ID]
    return node_plan


def plan(cluster: Cluster, findings: Sequence[Finding], options: FixOptions) -> list[NodePlan]:
    if not any(f.failing for f in findings):
        return []
    comparison = compare(cluster)
    failing = {(f.node or "").lower() for f in findings if f.failing}
    plans: list[NodePlan] = []
    for view in cluster.management_nodes:
        if view.name.lower() not in failing or not options.targets(view.name) or not view.reachable:
            continue
        keys = comparison.failing_on(view.name)
        if not keys:
            continue
        plans.append(_plan_node(cluster, view, keys, findings))
    return plans
