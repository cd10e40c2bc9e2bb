"""Fixer for SPOC-MGMT-LIST: make each Spooler Controller's spoc.conf list every Management server.

What is right comes from the Management servers themselves (their GUID, IP and CML port in
the Management configuration), never from another SPOC's list, so one wrong spoc.conf cannot
spread. An entry's identity is its GUID: an entry whose GUID is a current server keeps its
place and gets that server's address; two servers sharing a GUID stop the fixer. The edit is minimal and keeps everything else of the file byte for byte:

- a missing server is appended with the next free suffix, right after the existing server
  lines, copying their separator style and line endings;
- a listed server with a wrong IP or port is corrected in place, and so is the GUID of an
  entry whose address is a current server not otherwise listed (a reinstalled server);
- an entry whose GUID belongs to no Management server (a decommissioned one) is removed only
  with ``--remove-stale`` (a SPOC pointing at a dead server costs a timeout, while removing
  a server the admin still needs would cut the SPOC off), and the remaining entries are
  renumbered so no gap is left in the suffixes.

Then the Spooler Controller is restarted (profile ``restart_after_change.spoc_conf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.cluster import Cluster, NodeView, normalize_guid
from auditor.findings import Finding
from auditor.fixers._common import (
    addresses,
    blocked_plan,
    current_bytes,
    nothing_to_change,
    restart_name,
    server_ip,
    target_nodes,
)
from auditor.fixers.plan import Blocked, CannotPlan, FileEdit, FixOptions, NodePlan
from auditor.parsers import SpocConfDocument

CHECK_ID = "SPOC-MGMT-LIST"
RESTART_NOTE = ("restarting {service} briefly interrupts job processing on that node; nodes are changed one "
                "at a time, so the other members of a SPOC group keep serving (plan a quiet period; see the "
                "vendor's 'How and When to Restart a Standalone SPOC and SPOC Group')")


@dataclass
class MgmtServer:
    name: str
    guid: str
    ip: str
    port: str


def expected_servers(cluster: Cluster) -> list[MgmtServer]:
    """The Management servers every SPOC must list, in inventory order.

    Refuses (CannotPlan) when any Management server's identity is unknown: writing a list
    with a server missing would be exactly the drift this fixer exists to remove.
    """
    default_port = cluster.profile.get("spoc_conf.default_port")
    out: list[MgmtServer] = []
    unknown: list[str] = []
    for n in cluster.management_nodes:
        m = n.management
        ip = server_ip(n)
        port = (m.cml_port if m else None) or default_port
        if not n.reachable or m is None or not m.guid or not ip or port is None:
            unknown.append(n.name)
            continue
        out.append(MgmtServer(n.name, m.guid, ip, str(port)))
    if unknown:
        raise CannotPlan("the identity (GUID, IP, port) of Management server(s) " + ", ".join(unknown)
                         + " is unknown, so the complete list cannot be written", unknown)
    if not out:
        raise CannotPlan("the inventory has no Management server")
    by_guid: dict[str, list[str]] = {}
    for s in out:
        by_guid.setdefault(normalize_guid(s.guid), []).append(s.name)
    clash = [names for names in by_guid.values() if len(names) > 1]
    if clash:
        raise CannotPlan("Management servers share a GUID (" + "; ".join(", ".join(c) for c in clash)
                         + "), so entries cannot be told apart; fix the duplicate GUID first (GUID-UNIQUE)",
                         [n for c in clash for n in c])
    return out


def _key(cluster: Cluster, field: str, index: int) -> str:
    base = cluster.profile.get(f"spoc_conf.{field}_key", {"guid": "serverGUID", "ip": "serverIP",
                                                          "port": "serverPORT"}[field])
    return base if index == 1 else f"{base}{index}"


def _same_host(cluster: Cluster, view: NodeView, written: str | None, server: MgmtServer) -> bool:
    if written is None:
        return False
    if written.strip() == server.ip:
        return True
    target = cluster.node(server.name)
    # resolved as the check does: "localhost" in a SPOC's list is not a Management server
    return target is not None and cluster.resolve(written, from_node=None) is target


def _normalize_keys(cluster: Cluster, doc: SpocConfDocument) -> list[str]:
    """Make every server key canonical before matching: one line per key (the effective,
    last value is kept, as the reader uses it) and standard suffixes (``serverGUID1`` ->
    ``serverGUID``, ``serverIP02`` -> ``serverIP2``)."""
    changes: list[str] = []
    for entry in doc.servers():
        for fieldname, key in entry.keys.items():
            canonical = _key(cluster, fieldname, entry.index)
            value = getattr(entry, fieldname)
            if key != canonical:
                if canonical in doc:
                    doc.remove(key)
                    doc.set(canonical, value)  # the value the reader used (last line wins)
                    changes.append(f"merge {key} into {canonical}")
                else:
                    doc.rename(key, canonical)
                    changes.append(f"rename {key} -> {canonical}")
            elif len([e for e in doc.entries if e.key == key]) > 1:
                doc.remove(key)
                doc.set_server(entry.index, **{fieldname: value})
                changes.append(f"keep one {key} line (was written more than once)")
    return changes


def plan_node(cluster: Cluster, view: NodeView, servers: Sequence[MgmtServer], options: FixOptions,
              findings: Sequence[Finding]) -> NodePlan:
    spoc = view.spoc
    if spoc is None:
        return blocked_plan(view, CHECK_ID, "no Spooler Controller found on this node")
    if not spoc.conf.ok or spoc.conf.path is None:
        return blocked_plan(view, CHECK_ID, f"cannot edit spoc.conf: {spoc.conf.problem()}")
    old = current_bytes(view, spoc.conf.path)
    if old is None:
        return blocked_plan(view, CHECK_ID, f"{spoc.conf.path} content was not collected")
    service = restart_name(cluster, view, "spoc_conf", "spooler_controller")
    if service is None:
        return blocked_plan(view, CHECK_ID, "the Spooler Controller service was not found, so a change "
                                            "could not be picked up")
    doc = SpocConfDocument.from_profile(old, spoc.conf.path, cluster.profile)
    wanted = {normalize_guid(s.guid): s for s in servers}
    changes: list[str] = _normalize_keys(cluster, doc)
    notes: list[str] = []
    stale: list[int] = []
    kept: list[str] = []
    seen: set[str] = set()
    for entry in doc.servers():
        g = normalize_guid(entry.guid) if entry.guid else None
        server = wanted.get(g) if g else None
        if server is None:
            # no or unknown GUID, but the address is a current server this file does not list by
            # GUID: the same machine under a wrong/missing GUID (e.g. reinstalled), so the GUID
            # is corrected in place rather than the entry treated as stale
            listed = {normalize_guid(e.guid) for e in doc.servers() if e.guid}
            server = next((s for s in servers if _same_host(cluster, view, entry.ip, s)
                           and normalize_guid(s.guid) not in listed), None)
        if server is None or normalize_guid(server.guid) in seen:
            stale.append(entry.index)
            continue
        seen.add(normalize_guid(server.guid))
        fix: dict[str, str] = {}
        if entry.guid is None or normalize_guid(entry.guid) != normalize_guid(server.guid):
            fix["guid"] = server.guid
        if not _same_host(cluster, view, entry.ip, server):
            fix["ip"] = server.ip
        if (entry.port or "").strip() != server.port:
            fix["port"] = server.port
        if fix:
            doc.set_server(entry.index, **fix)
            changes.append(f"correct entry {entry.index} ({server.name}): "
                           + ", ".join(f"{_key(cluster, k, entry.index)} -> {v}" for k, v in fix.items()))
    by_index = {e.index: e for e in doc.servers()}
    described = [f"entry {i} ({by_index[i].guid or 'no GUID'}, {by_index[i].ip or '?'}:{by_index[i].port or '?'})"
                 for i in stale]
    # missing servers go in first, right after the last server line (while one exists to copy
    # the style from), then stale entries go and everything is renumbered without gaps
    added = [s for s in servers if normalize_guid(s.guid) not in seen]
    for server in added:
        doc.append_server(server.guid, server.ip, server.port)
    if stale and options.remove_stale:
        for i in sorted(stale, reverse=True):
            doc.remove_server(i, renumber=True)
        changes.append("remove stale " + "; ".join(described) + " and renumber the rest")
    elif stale:
        kept.append("kept stale " + "; ".join(described)
                    + " (no Management server has that GUID); rerun with --remove-stale to remove")
    # a numbering gap (entries 1, 2, 4) is closed too
    for pos, entry in enumerate(doc.servers(), start=1):
        if entry.index != pos:
            for fieldname, key in entry.keys.items():
                doc.rename(key, _key(cluster, fieldname, pos))
            if normalize_guid(entry.guid or "") not in {normalize_guid(a.guid) for a in added}:
                changes.append(f"renumber entry {entry.index} -> {pos}")
    final = {normalize_guid(e.guid): e.index for e in doc.servers() if e.guid}
    for server in added:
        changes.append(f"add {server.name} ({server.guid}, {server.ip}:{server.port}) as entry "
                       f"{final.get(normalize_guid(server.guid), '?')}")
    new = doc.render()
    plan = NodePlan(node=view.name, notes=notes, addresses=addresses(findings, view.name))
    if kept:
        plan.blocked.append(Blocked(CHECK_ID, [view.name], "; ".join(kept)))
        plan.partial = list(plan.addresses)
    if new != old:
        plan.edits.append(FileEdit(node=view.name, path=spoc.conf.path, old=old, new=new, check_id=CHECK_ID,
                                   reason="; ".join(changes), restart=service))
        plan.notes.append(RESTART_NOTE.format(service=service))
    elif not kept:
        plan.blocked.append(nothing_to_change(view, CHECK_ID, findings))
    return plan


def plan(cluster: Cluster, findings: Sequence[Finding], options: FixOptions) -> list[NodePlan]:
    nodes = target_nodes(cluster, findings, options)
    if not nodes:
        return []
    servers = expected_servers(cluster)
    return [plan_node(cluster, n, servers, options, findings) for n in nodes]
