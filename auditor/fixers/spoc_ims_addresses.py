"""Fixer for SPOC-IMS-ADDRESSES: complete ``infrastructureServiceAddresses`` on each SPOC.

The Infrastructure Service Proxy on a SPOC node only knows the Infrastructure Services listed
in ``SPOC\\ims\\application.properties``; a Management server missing there is never used.
The fix appends the missing Management servers to the value and keeps the existing entries
exactly as written, in their order, with the same separator. New entries copy the format of
an existing entry (this node's first, else another SPOC's): same scheme, port and path, and
the same kind of host (IP, short name or FQDN), so ``10.0.10.11:8443`` gains ``10.0.10.12:8443``
and ``https://mgmt1.corp.example:8443/ims`` gains ``https://mgmt2.corp.example:8443/ims``.

Entries that point at no Management server are removed only with ``--remove-stale`` (one may
be a load-balancer alias the model cannot resolve: the dry run shows which before anything is
done). Then the Infrastructure Service Proxy is restarted (profile
``restart_after_change.spoc_ims_properties``).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.addresses import is_ip
from auditor.cluster import Cluster, ImsAddress, NodeView, SpocView
from auditor.findings import Finding
from auditor.fixers._common import (
    addresses,
    blocked_plan,
    editable_spoc_file,
    nothing_to_change,
    target_nodes,
    unknown_reason,
    writable_server,
)
from auditor.fixers.plan import Blocked, FileEdit, FixOptions, NodePlan
from auditor.identity import Identities
from auditor.parsers import PropertiesDocument

CHECK_ID = "SPOC-IMS-ADDRESSES"


def _separator(value: str, entries: Sequence[ImsAddress], separators: Sequence[str]) -> str:
    """The separator as written between the first two entries (``,`` / ``, `` / ``;`` ...)."""
    if len(entries) >= 2:
        a = value.find(entries[0].raw)
        b = value.find(entries[1].raw, a + len(entries[0].raw))
        if a >= 0 and b > a:
            sep = value[a + len(entries[0].raw):b]
            if sep.strip() or sep:
                return sep
    return separators[0] if separators else ","


def _host_for(template_host: str, target: NodeView, ip: str) -> str:
    if is_ip(template_host):
        return ip
    if "." in template_host:
        return target.state.fqdn or ip
    return target.state.hostname or ip


def _format_like(template: ImsAddress, target: NodeView, ip: str) -> str:
    host = _host_for(template.host, target, ip)
    raw = template.raw
    start = raw.find("://") + 3 if "://" in raw else 0
    pos = raw.find(template.host, start)
    if pos < 0:
        return host if template.port is None else f"{host}:{template.port}"
    return raw[:pos] + host + raw[pos + len(template.host):]


def _template(cluster: Cluster, view: NodeView) -> ImsAddress | None:
    if view.spoc and view.spoc.ims_addresses:
        return view.spoc.ims_addresses[0]
    for other in cluster.nodes:
        if other.spoc and other.spoc.ims_addresses:
            return other.spoc.ims_addresses[0]
    return None


def _judge_entries(spoc: SpocView, ids: Identities
                   ) -> tuple[set[str], list[str], list[str], list[str], list[tuple[str, str]]]:
    """Each listed entry's fate, in list order: (servers covered, as lower-case names; stale
    entries, a server listed again; unclaimed entries, no known server; the changes as text;
    (the entry as it will be written, "" when stale, "?" when unclaimed; the entry as found))."""
    covered: set[str] = set()
    stale: list[str] = []
    unclaimed: list[str] = []
    changes: list[str] = []
    written: list[tuple[str, str]] = []
    for entry in spoc.ims_addresses:
        named = ids.by_host(entry.host)  # as the check does: "localhost" is no server address
        target = named[0] if len(named) == 1 else None
        if target is None:
            unclaimed.append(entry.raw)
            written.append(("?", entry.raw))
            continue
        if target.name.lower() in covered:
            stale.append(entry.raw)
            written.append(("", entry.raw))
            continue
        covered.add(target.name.lower())
        w = writable_server(target)
        if is_ip(entry.host) and w.bound_known and not w.names_address(entry.host.strip()):
            fixed = _format_like(entry, target.node, w.ip or "")
            changes.append(f"point {entry.raw} at {fixed} (the address {target.name}'s services bind to)")
            written.append((fixed, entry.raw))
        else:
            written.append((entry.raw, entry.raw))
    return covered, stale, unclaimed, changes, written


def plan_node(cluster: Cluster, view: NodeView, options: FixOptions, findings: Sequence[Finding]) -> NodePlan:
    target = editable_spoc_file(cluster, view, CHECK_ID, lambda spoc: spoc.ims, "the IMS proxy settings",
                                ("spoc_ims_properties", "ims_proxy"), "Infrastructure Service Proxy")
    if isinstance(target, NodePlan):
        return target
    spoc, ims, old, service = target
    key = cluster.profile.spoc_ims.addresses_key
    separators = cluster.profile.spoc_ims.separators
    doc = PropertiesDocument(old, ims.path)
    value = doc.get(key) or ""
    ids = cluster.identities()
    covered, stale, unclaimed, changes, written = _judge_entries(spoc, ids)
    notes: list[str] = []
    owners = [s for s in ids.could_own("bound_ip") if s.name.lower() not in covered]
    if unclaimed and owners:
        # may be a server that was not collected: never removed, and that server is not "missing"
        notes.append(f"kept {', '.join(unclaimed)}: may be {', '.join(s.name for s in owners)} "
                     f"({'; '.join(s.why_unverifiable() for s in owners)})")
        written = [(raw if new == "?" else new, raw) for new, raw in written]
    else:
        stale += unclaimed
    kept = [new if new not in ("", "?") else raw for new, raw in written
            if new not in ("", "?") or not options.remove_stale]
    missing = [s for s in ids.servers if s.name.lower() not in covered and not (unclaimed and s in owners)]
    kept_stale = ""
    added: list[str] = []
    if missing:
        template = _template(cluster, view)
        if template is None:
            return blocked_plan(view, CHECK_ID, f"no SPOC in the cluster has an {key} entry to copy the "
                                                "address format (scheme, port) from; add one by hand")
        for m in missing:
            w = writable_server(m)
            if not w.ip:
                return blocked_plan(view, CHECK_ID, f"cannot add Management server {m.name}: {unknown_reason(w, m)}")
            added.append(_format_like(template, m.node, w.ip))
        changes.append("add " + ", ".join(f"{m.name} ({a})" for m, a in zip(missing, added, strict=True)))
    if stale:
        if options.remove_stale:
            changes.append("remove entries that point at no Management server: " + ", ".join(stale))
        else:
            kept_stale = (f"kept {key} entries that point at no Management server (or repeat one): "
                    + ", ".join(stale) + "; rerun with --remove-stale to remove")
    plan = NodePlan(node=view.name, notes=notes, addresses=addresses(findings, view.name))
    if kept_stale:
        plan.blocked.append(Blocked(CHECK_ID, [view.name], kept_stale))
        plan.partial = list(plan.addresses)
    if not changes:
        if not kept_stale:
            plan.blocked.append(nothing_to_change(view, CHECK_ID, findings))
        return plan
    sep = _separator(value, spoc.ims_addresses, separators)
    doc.set(key, sep.join(kept + added))
    new = doc.render()
    if new != old:
        plan.edits.append(FileEdit(node=view.name, path=ims.path, old=old, new=new, check_id=CHECK_ID,
                                   reason="; ".join(changes), restart=service))
    return plan


def plan(cluster: Cluster, findings: Sequence[Finding], options: FixOptions) -> list[NodePlan]:
    return [plan_node(cluster, n, options, findings) for n in target_nodes(cluster, findings, options)]
