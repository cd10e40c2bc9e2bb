"""SPOC-MGMT-LIST: every Spooler Controller lists every Management server, and only those."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.addresses import is_ip
from auditor.checks._common import make, per_node, spoc_blocker
from auditor.cluster import Cluster, NodeView, normalize_guid
from auditor.evidence import MARKS_KEY, Mark, marks_detail
from auditor.findings import CheckMeta, Finding, Severity, Status

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
        "the right node in the audited cluster. When a Management server's GUID is unknown (node "
        "unreachable or its configuration unreadable) its entry is matched by IP alone, with a note."
    ),
    remediation=(
        "Edit spoc.conf on the node so that it holds exactly one numbered entry (no gaps, first "
        "entry without suffix) per current Management server with its GUID (Management "
        "conf localGUID), real IP and CML port; remove entries of decommissioned servers. "
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
)


def _expected_port(cluster: Cluster, m: NodeView) -> str:
    if m.management and m.management.cml_port:
        return m.management.cml_port.strip()
    return str(cluster.profile.spoc_conf.default_port)


def _label(m: NodeView) -> str:
    guid = m.management.guid if m.management and m.management.guid else "?"
    return f"{m.name} ({guid} @ {m.primary_ip() or '?'})"


def evaluate(cluster: Cluster, node: NodeView) -> Finding:
    spoc = node.spoc
    assert spoc is not None
    doc = spoc.conf.doc
    path = spoc.conf.path
    mgmts = cluster.management_nodes
    problems: list[tuple[str, int | None]] = []
    notes: list[str] = []
    matched: dict[str, int] = {}  # mgmt node name -> entry index
    stale = False
    actual = []
    marks: dict[int, Mark] = {}  # position in `actual` -> what is wrong with that entry
    wrong_fields: dict[int, list[str]] = {}

    def wrong(pos: int, name: str) -> None:
        marks.setdefault(pos, Mark.WRONG)
        wrong_fields.setdefault(pos, []).append(name)

    for text in doc.server_key_problems():
        problems.append((text, None))
    for pos, e in enumerate(doc.servers()):
        actual.append({"index": e.index, "guid": e.guid, "ip": e.ip, "port": e.port, "line": e.first_line})
        line = e.first_line
        if not e.complete:
            continue  # already reported by server_key_problems
        by_guid = cluster.management_by_guid(e.guid)
        by_ip = cluster.resolve(e.ip, from_node=None)
        target = None
        if len(by_guid) == 1:
            target = by_guid[0]
            if by_ip is not target:
                what = ("a name of it known to the audited cluster" if not is_ip(e.ip) and by_ip is None
                        else "its address")
                problems.append((f"entry {e.index}: GUID {e.guid} is {target.name} but {e.ip} is not {what} "
                                 f"(expected {', '.join(target.ips()) or 'unknown'})", e.lines.get("ip")))
                wrong(pos, "ip")
            elif not is_ip(e.ip):
                notes.append(f"entry {e.index}: host name {e.ip} used instead of an IP (resolves to {target.name})")
        elif by_ip is not None and not (by_ip.management and by_ip.management.guid):
            target = by_ip
            notes.append(f"entry {e.index}: GUID not verified, {by_ip.name}'s own GUID is unknown "
                         f"({by_ip.state.reason or 'configuration unavailable'})")
        elif by_ip is not None:
            target = by_ip
            problems.append((f"entry {e.index}: {e.ip} is {by_ip.name} but GUID {e.guid} is not its GUID "
                             f"({by_ip.management.guid})", e.lines.get("guid")))
            wrong(pos, "guid")
        else:
            problems.append((f"entry {e.index}: stale, GUID {e.guid} / {e.ip} matches no current "
                             "Management server", line))
            stale = True
            marks[pos] = Mark.STALE
            continue
        if (target.management and target.management.guid and e.guid != target.management.guid
                and normalize_guid(e.guid) == normalize_guid(target.management.guid)):
            notes.append(f"entry {e.index}: GUID written as {e.guid}, {target.name} has "
                         f"{target.management.guid} (case/braces differ)")
        want_port = _expected_port(cluster, target)
        if want_port and e.port.strip() != want_port:
            problems.append((f"entry {e.index}: port {e.port} for {target.name}, expected {want_port}",
                             e.lines.get("port")))
            wrong(pos, "port")
        if target.name in matched:
            problems.append((f"entry {e.index}: duplicates entry {matched[target.name]} ({target.name})", line))
            marks[pos] = Mark.STALE
        else:
            matched[target.name] = e.index
    missing: dict[int, Mark] = {}
    for i, m in enumerate(mgmts):
        if m.name not in matched:
            problems.append((f"missing Management server {_label(m)}", None))
            missing[i] = Mark.MISSING
    expected = [{"node": m.name, "guid": m.management.guid if m.management else None,
                 "ip": m.primary_ip(), "port": _expected_port(cluster, m)} for m in mgmts]
    details = {"notes": notes} if notes else {}
    if problems:
        first_line = next((ln for _, ln in problems if ln), None)
        details["problems"] = [p for p, _ in problems]
        details[MARKS_KEY] = marks_detail(missing, marks, wrong_fields)
        if stale:  # the fixer removes stale entries only when asked to (see docs/fix.md)
            details["fix_args"] = ["--remove-stale"]
        return make(META, Status.FAIL, node.name, node.name, "; ".join(p for p, _ in problems),
                    expected=expected, actual=actual, file=path, line=first_line, details=details)
    msg = f"lists all {len(mgmts)} Management server(s)"
    if notes:
        msg += " (note: " + "; ".join(notes) + ")"
    return make(META, Status.PASS, node.name, node.name, msg, expected=expected, actual=actual, file=path,
                details=details)


def run(cluster: Cluster) -> Iterator[Finding]:
    def check_node(node: NodeView) -> Iterator[Finding]:
        yield spoc_blocker(META, cluster, node, lambda spoc: spoc.conf) or evaluate(cluster, node)

    yield from per_node(META, cluster, check_node)
