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
from dataclasses import dataclass, field

from auditor.addresses import is_ip
from auditor.cluster import Cluster, NodeView, normalize_guid
from auditor.findings import Finding
from auditor.fixers._common import (
    WritableServer,
    addresses,
    editable_spoc_file,
    nothing_to_change,
    target_nodes,
    unknown_reason,
    writable_server,
)
from auditor.fixers.plan import Blocked, CannotPlan, FileEdit, FixOptions, NodePlan
from auditor.parsers import SpocConfDocument
from auditor.parsers.keyvalue import LineEdits
from auditor.parsers.spocconf import ServerLine

CHECK_ID = "SPOC-MGMT-LIST"
RESTART_NOTE = ("restarting {service} briefly interrupts job processing on that node; nodes are changed one "
                "at a time, so the other members of a SPOC group keep serving (plan a quiet period; see the "
                "vendor's 'How and When to Restart a Standalone SPOC and SPOC Group')")


def expected_servers(cluster: Cluster) -> list[WritableServer]:
    """The Management servers every SPOC must list, in inventory order.

    Refuses (CannotPlan) when any Management server's identity (GUID, bound address, CML port)
    is not known from a trusted source (:func:`writable_server`): writing a list with a server
    missing or guessed would be exactly the drift this fixer exists to remove, and nothing is
    planned that depends on a server that was not collected, unless the inventory declares it.
    """
    ids = cluster.identities()
    out = [writable_server(s) for s in ids.servers]
    unknown = [(w, s) for w, s in zip(out, ids.servers, strict=True) if not w.complete]
    if unknown:
        raise CannotPlan("the complete list cannot be written: "
                         + "; ".join(unknown_reason(w, s) for w, s in unknown), [w.name for w, _ in unknown])
    if not out:
        raise CannotPlan("the inventory has no Management server")
    by_guid: dict[str, list[str]] = {}
    for s in out:
        by_guid.setdefault(normalize_guid(s.guid or ""), []).append(s.name)
    clash = [names for names in by_guid.values() if len(names) > 1]
    if clash:
        raise CannotPlan("Management servers share a GUID (" + "; ".join(", ".join(c) for c in clash)
                         + "), so entries cannot be told apart; fix the duplicate GUID first (GUID-UNIQUE)",
                         [n for c in clash for n in c])
    return out


def _same_host(cluster: Cluster, view: NodeView, written: str | None, server: WritableServer) -> bool:
    if written is None:
        return False
    w = written.strip()
    if is_ip(w):  # the address the services bind to (any of the server's, while that is unknown)
        return server.names_address(w)
    target = cluster.node(server.name)
    # a host name, resolved as the check does: "localhost" in a SPOC's list is not a Management server
    return target is not None and cluster.resolve(w, from_node=None) is target


@dataclass
class _Entry:
    """One numbered entry as the fixer will write it: the line kept for each field (None:
    not in the file yet) and the values to write."""

    index: int  # as written (the suffix), before renumbering
    lines: dict[str, ServerLine] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    server: WritableServer | None = None  # None: stale (no Management server has it)
    added: bool = False

    def get(self, fieldname: str) -> str | None:
        return self.values.get(fieldname)

    @property
    def anchor(self) -> ServerLine | None:
        return max(self.lines.values(), key=lambda sl: sl.line) if self.lines else None


@dataclass
class _Edits:
    delete: set[int] = field(default_factory=set)
    changes: list[str] = field(default_factory=list)


def _entries(doc: SpocConfDocument, edits: _Edits) -> list[_Entry]:
    """The entries of the file, one line kept per field: the last one, which is the value the
    reader uses; other lines of the same field (duplicates, ``serverGUID1`` next to
    ``serverGUID``) are deleted, and a kept line with an odd key (``serverIP02``) is renamed
    when the file is rewritten."""
    groups: dict[tuple[int, str], list[ServerLine]] = {}
    for sl in doc.server_lines():
        groups.setdefault((sl.index, sl.field), []).append(sl)
    entries: dict[int, _Entry] = {}
    for (index, fieldname), lines in sorted(groups.items()):
        kept = lines[-1]
        entry = entries.setdefault(index, _Entry(index))
        entry.lines[fieldname] = kept
        entry.values[fieldname] = kept.value
        canonical = doc.key_for(fieldname, index)
        if len(lines) > 1:
            edits.delete.update(sl.line for sl in lines[:-1])
            others = sorted({sl.key for sl in lines if sl.key != canonical})
            edits.changes.append(f"merge {', '.join(others)} into {canonical}" if others
                                 else f"keep one {canonical} line (was written more than once)")
        elif kept.key != canonical:
            edits.changes.append(f"rename {kept.key} -> {canonical}")
    return [entries[i] for i in sorted(entries)]


def _match(cluster: Cluster, view: NodeView, doc: SpocConfDocument, entries: list[_Entry],
           servers: Sequence[WritableServer], edits: _Edits) -> None:
    """Give each entry its Management server (by GUID, else by address) and the corrections
    it needs; an entry no server claims stays stale (``server`` None)."""
    wanted = {normalize_guid(s.guid): s for s in servers}
    listed = {normalize_guid(e.get("guid") or "") for e in entries if e.get("guid")}
    seen: set[str] = set()
    for entry in entries:
        guid = entry.get("guid")
        server = wanted.get(normalize_guid(guid)) if guid else None
        if server is None:
            # no or unknown GUID, but the address is a current server this file does not list by
            # GUID: the same machine under a wrong/missing GUID (e.g. reinstalled), so the GUID
            # is corrected in place rather than the entry treated as stale
            server = next((s for s in servers if _same_host(cluster, view, entry.get("ip"), s)
                           and normalize_guid(s.guid) not in listed), None)
        if server is None or normalize_guid(server.guid) in seen:
            continue
        seen.add(normalize_guid(server.guid))
        entry.server = server
        fix: dict[str, str] = {}
        if guid is None or normalize_guid(guid) != normalize_guid(server.guid):
            fix["guid"] = server.guid
            listed.add(normalize_guid(server.guid))
        if not _same_host(cluster, view, entry.get("ip"), server):
            fix["ip"] = server.ip
        if (entry.get("port") or "").strip() != server.port:
            fix["port"] = server.port
        if fix:
            entry.values.update(fix)
            edits.changes.append(f"correct entry {entry.index} ({server.name}): "
                                 + ", ".join(f"{doc.key_for(k, entry.index)} -> {v}" for k, v in fix.items()))


def _describe(entry: _Entry) -> str:
    return (f"entry {entry.index} ({entry.get('guid') or 'no GUID'}, {entry.get('ip') or '?'}:"
            f"{entry.get('port') or '?'})")


def _rewrite(doc: SpocConfDocument, entries: list[_Entry], edits: _Edits, remove_stale: bool) -> dict[int, int]:
    """Apply every edit to ``doc`` in one pass: stale entries out (with ``remove_stale``),
    the rest numbered 1, 2, 3 ... in their order, each line rewritten only when its key or
    value changes, missing fields after their entry's last line, new entries after the last
    server line. Returns the final number of each entry (by ``id``)."""
    numbered = [e for e in entries if e.server is not None or e.added or not remove_stale]
    final = {id(e): n for n, e in enumerate(numbered, start=1)}
    replace: dict[int, tuple[str, str]] = {}
    insert: dict[int | None, list[tuple[str, str]]] = {}
    existing = [e for e in entries if not e.added]
    last_line = max((sl.line for e in existing for sl in e.lines.values()), default=None)
    for e in existing:
        if id(e) not in final:
            edits.delete.update(sl.line for sl in e.lines.values())
            continue
        n = final[id(e)]
        for fieldname in ("guid", "ip", "port"):
            value = e.values.get(fieldname)
            sl = e.lines.get(fieldname)
            if sl is not None:
                if (sl.key, sl.value) != (doc.key_for(fieldname, n), value):
                    replace[sl.line] = (doc.key_for(fieldname, n), value or "")
            elif value is not None:  # a field the entry lacked: after its other lines
                insert.setdefault(e.anchor.line if e.anchor else None, []).append((doc.key_for(fieldname, n), value))
    for e in entries:
        if e.added:
            insert.setdefault(last_line, []).extend(
                (doc.key_for(f, final[id(e)]), e.values[f]) for f in ("guid", "ip", "port"))
    doc.apply_edits(LineEdits(replace=replace, delete=frozenset(edits.delete), insert_after=insert))
    return final


def plan_node(cluster: Cluster, view: NodeView, servers: Sequence[WritableServer], options: FixOptions,
              findings: Sequence[Finding]) -> NodePlan:
    target = editable_spoc_file(cluster, view, CHECK_ID, lambda spoc: spoc.conf, "spoc.conf",
                                ("spoc_conf", "spooler_controller"), "Spooler Controller")
    if isinstance(target, NodePlan):
        return target
    _spoc, conf, old, service = target
    doc = SpocConfDocument.from_profile(old, conf.path, cluster.profile)
    edits = _Edits()
    entries = _entries(doc, edits)
    _match(cluster, view, doc, entries, servers, edits)
    stale = [e for e in entries if e.server is None]
    # missing servers go after the last server line, numbered after the highest entry
    claimed = {normalize_guid(e.server.guid) for e in entries if e.server is not None}
    next_index = max((e.index for e in entries), default=0) + 1
    added = []
    for n, server in enumerate((s for s in servers if normalize_guid(s.guid) not in claimed), start=next_index):
        added.append(_Entry(n, values={"guid": server.guid, "ip": server.ip, "port": server.port},
                            server=server, added=True))
    entries += added
    final = _rewrite(doc, entries, edits, options.remove_stale)
    kept: list[str] = []
    described = "; ".join(_describe(e) for e in stale)
    if stale and options.remove_stale:
        edits.changes.append("remove stale " + described + " and renumber the rest")
    elif stale:
        kept.append("kept stale " + described
                    + " (no Management server has that GUID); rerun with --remove-stale to remove")
    removed_before = 0
    for e in entries:  # a numbering gap (entries 1, 2, 4) is closed too
        if e.added:
            continue
        if id(e) not in final:
            removed_before += 1
        elif final[id(e)] != e.index - removed_before:
            edits.changes.append(f"renumber entry {e.index - removed_before} -> {final[id(e)]}")
    for e in added:
        assert e.server is not None
        edits.changes.append(f"add {e.server.name} ({e.server.guid}, {e.server.ip}:{e.server.port}) as entry "
                             f"{final[id(e)]}")
    new = doc.render()
    plan = NodePlan(node=view.name, addresses=addresses(findings, view.name))
    if kept:
        plan.blocked.append(Blocked(CHECK_ID, [view.name], "; ".join(kept)))
        plan.partial = list(plan.addresses)
    if new != old:
        plan.edits.append(FileEdit(node=view.name, path=conf.path, old=old, new=new, check_id=CHECK_ID,
                                   reason="; ".join(edits.changes), restart=service))
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
