"""SPOC-MGMT-LIST: every Spooler Controller lists every Management server, and only those."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import JudgedOnce, per_node, spoc_blocker
from auditor.checks._identity import (
    Judged,
    Verdict,
    best_address,
    judge_address,
    judge_unclaimed,
    possible_owners,
    unverified_match,
)
from auditor.cluster import Cluster, NodeView, normalize_guid
from auditor.evidence import Mark, marks_detail
from auditor.findings import CheckMeta, Finding, Severity
from auditor.identity import Identities, ServerIdentity

META = CheckMeta(
    id="SPOC-MGMT-LIST",
    title="Every Spooler Controller lists every Management server (GUID, IP, port) in spoc.conf",
    severity=Severity.HIGH,
    rationale=(
        "A Spooler Controller talks only to the Management servers named in "
        "SPOC\\conf\\modules\\spoc.conf (serverGUID/serverIP/serverPORT, then suffixes 2, 3 ...). "
        "A missing server is never used by that SPOC; a stale entry (a removed server) or a wrong "
        "IP makes it retry a dead address; duplicates and gaps in the numbering are read "
        "unpredictably. GUIDs are compared as opaque strings, ignoring case and surrounding "
        "braces: such a difference passes with a note, because the product's own comparison "
        "rule is unknown. A host name instead of an IP passes (with a note) when it resolves to "
        "the right node in the audited cluster. How it decides: each Management server's expected "
        "GUID, CML port and bound address is the first one known of: declared in the inventory, "
        "read from its Management configuration (profile keys, assumed), the consensus of the "
        "Spooler Controllers (the GUID most of them list for its address: 'inferred from 37 of 40 "
        "Spooler Controllers'), and for the port the profile default; the finding names each "
        "source. An entry belongs to a server by GUID, else by address. The services bind to one "
        "IPv4 interface (the installer's used local IP): an entry naming another interface of the "
        "same server fails; only when the bound address is unknown is any of its addresses "
        "accepted, with a note. A server that was not collected never makes a node fail: its "
        "entries are not verifiable (error, naming it) unless its identity is declared; an entry "
        "that matches no server is not verifiable while a server that was not collected (its GUID "
        "not declared) is not listed otherwise, and then that server is not called missing; only "
        "when such entries outnumber those servers do some surely stale ones fail. When a collected "
        "server's GUID is unknown everywhere its entry is matched by address, with a note."
    ),
    remediation=(
        "Edit spoc.conf on the node so that it holds exactly one numbered entry (no gaps, first "
        "entry without suffix) per current Management server with its GUID (Management interface > "
        "Dashboard > System info), the IP its services bind to and its CML port; remove entries of "
        "decommissioned servers. Declare guid / bound_ip / cml_port in the inventory where the "
        "finding says a value is only inferred. "
        "Change one node at a time and restart the Spooler Controller service (YSoftSQ-SPOC) "
        "afterwards. `auditor fix --check SPOC-MGMT-LIST` plans exactly these edits."
    ),
    fixable=True,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "spoc_conf.file",
    "spoc_conf.guid_key",
    "spoc_conf.ip_key",
    "spoc_conf.port_key",
    "spoc_conf.default_port",
    "management_conf.guid_key",
    "management_conf.port_key",
    "management_conf.ip_key",
)


def _expected(ids: Identities) -> list[dict]:
    return [{"node": s.name, "guid": s.guid.value if s.guid else None, "ip": best_address(s) if s.addresses else None,
             "port": s.cml_port.value if s.cml_port else None} for s in ids.servers]


def _judge_entry(ids: Identities, judged: Judged, e, target: ServerIdentity, by_guid: bool) -> set[str]:
    """Judge one entry attributed to ``target``; returns the fields found wrong."""
    wrong: set[str] = set()
    where = f"entry {e.index}"
    unverifiable_before = len(judged.unverifiable)
    if not by_guid:  # matched by address: is the GUID the server's?
        if target.guid is None:
            if target.collected:
                judged.add(Verdict.NOTE, f"{where}: GUID not verified, {target.name}'s own GUID is unknown (not in "
                                         "its configuration, not declared, no consensus); declare its guid in the "
                                         "inventory")
            else:
                judged.add(Verdict.UNVERIFIABLE, f"{where}: GUID {e.guid} for {target.name} not verifiable: "
                                                 f"{target.why_unverifiable()}")
        elif judged.compare(target, "GUID", target.guid, e.guid, f"{where}: GUID {e.guid} for {target.name} "
                            f"({e.ip})", e.lines.get("guid")) == Verdict.FAIL:
            wrong.add("guid")
    elif str(target.guid.value) != e.guid and target.guid_key == normalize_guid(e.guid):
        judged.add(Verdict.NOTE, f"{where}: GUID written as {e.guid}, {target.name} has {target.guid.value} "
                                 "(case/braces differ)")
    if judge_address(ids, judged, target, e.ip, where, e.lines.get("ip")) == Verdict.FAIL:
        wrong.add("ip")
    if judged.compare(target, "CML port", target.cml_port, e.port, f"{where}: port {e.port} for {target.name}",
                      e.lines.get("port")) == Verdict.FAIL:
        wrong.add("port")
    how = f"its GUID ({target.guid.source.label})" if by_guid and target.guid else "its address"
    unverified_match(judged, target, where, how, (("GUID", target.guid), ("address", target.bound_ip),
                                                  ("port", target.cml_port)), unverifiable_before)
    return wrong


def evaluate(cluster: Cluster, node: NodeView) -> Finding:
    spoc = node.spoc
    assert spoc is not None
    doc = spoc.conf.doc
    path = spoc.conf.path
    ids = cluster.identities()
    judged = Judged()
    matched: dict[str, int] = {}  # server name -> entry index
    unclaimed: list[tuple[str, int | None]] = []
    unclaimed_pos: list[int] = []
    actual = []
    marks: dict[int, Mark] = {}  # position in `actual` -> what is wrong with that entry
    wrong_fields: dict[int, list[str]] = {}
    for text in doc.server_key_problems():
        judged.problems.append((text, None))
    for pos, e in enumerate(doc.servers()):
        actual.append({"index": e.index, "guid": e.guid, "ip": e.ip, "port": e.port, "line": e.first_line})
        if not e.complete:
            continue  # already reported by server_key_problems
        by_guid = ids.by_guid(e.guid)
        if len(by_guid) > 1:
            judged.add(Verdict.UNVERIFIABLE, f"entry {e.index}: GUID {e.guid} is claimed by "
                                             f"{', '.join(s.name for s in by_guid)} (see GUID-UNIQUE)")
            matched.update({s.name: e.index for s in by_guid})
            continue
        by_host = [] if by_guid else ids.by_host(e.ip)
        target = by_guid[0] if by_guid else (by_host[0] if len(by_host) == 1 else None)
        if target is None:
            unclaimed.append((f"entry {e.index} (GUID {e.guid}, {e.ip})", e.first_line))
            unclaimed_pos.append(pos)
            continue
        for name in sorted(_judge_entry(ids, judged, e, target, bool(by_guid))):
            marks.setdefault(pos, Mark.WRONG)
            wrong_fields.setdefault(pos, []).append(name)
        if target.name in matched:
            judged.add(Verdict.FAIL, f"entry {e.index}: duplicates entry {matched[target.name]} ({target.name})",
                       e.first_line)
            marks[pos] = Mark.STALE
        else:
            matched[target.name] = e.index
    owners = possible_owners(ids.could_own("guid"), set(matched))
    stale = judge_unclaimed(judged, owners, unclaimed,
                            "{entry}: stale, matches no current Management server")
    if stale:
        marks.update({pos: Mark.STALE for pos in unclaimed_pos})
    missing = judged.missing(ids, set(matched), owners, bool(unclaimed))
    # the fixer removes stale entries only when asked to (see docs/fix.md)
    details = {"fix_args": ["--remove-stale"]} if stale else {}
    return judged.finding(META, node.name, f"lists all {len(ids.servers)} Management server(s)",
                          marks_detail(missing, marks, wrong_fields), details=details, expected=_expected(ids),
                          actual=actual, file=path)


def run(cluster: Cluster) -> Iterator[Finding]:
    # the evaluation reads the file's path and its server lines (keys, values, line numbers),
    # from which the server entries and the numbering problems follow, and the cluster
    judged = JudgedOnce(lambda node: evaluate(cluster, node))

    def check_node(node: NodeView) -> Iterator[Finding]:
        conf = node.spoc.conf if node.spoc is not None else None
        yield (spoc_blocker(META, cluster, node, lambda spoc: spoc.conf)
               or judged(node, (conf.path, conf.doc.server_signature())))

    yield from per_node(META, cluster, check_node)
