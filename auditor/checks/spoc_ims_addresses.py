"""SPOC-IMS-ADDRESSES: each SPOC's IMS proxy knows every Management server's IMS."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import JudgedOnce, make, per_node, spoc_blocker
from auditor.checks._identity import (
    Judged,
    Verdict,
    best_address,
    judge_address,
    judge_unclaimed,
    possible_owners,
    unverified_match,
)
from auditor.cluster import Cluster, NodeView
from auditor.evidence import Mark, marks_detail
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="SPOC-IMS-ADDRESSES",
    title="infrastructureServiceAddresses of every SPOC lists every Management server, nothing stale",
    severity=Severity.HIGH,
    rationale=(
        "SPOC\\ims\\application.properties infrastructureServiceAddresses tells the Infrastructure "
        "Service proxy which Management servers run the Infrastructure Service. A missing server "
        "is never used (no failover to it); a stale or unknown address costs timeouts. Entries "
        "may be host, host:port or URLs, separated by commas, semicolons or spaces (profile); "
        "host names are resolved against the audited cluster. How it decides: an address names a "
        "Management server when it is one of the server's addresses (its own interfaces; for a server "
        "that was not collected its inventory address, what its inventory host name resolved to on "
        "the admin host, the address most Spooler Controllers list for it, or its declared bound_ip). "
        "The services bind to one interface (the installer's used local IP): an entry naming "
        "another interface of the same server fails, against the bound address declared in the "
        "inventory, else read from the Management configuration (usedLocalIp), else the one most "
        "Spooler Controllers list; only when none is known is any address of the server accepted, "
        "with a note. A server that was not collected never makes a node fail: an entry that is "
        "its by address, or that matches nothing while such a server is not listed otherwise, is "
        "not verifiable (error, naming the server), and the server is not called missing while an "
        "entry may be its own. Every expectation names its source (expected_sources)."
    ),
    remediation=(
        "Set infrastructureServiceAddresses on the node to every current Management server "
        "(one entry each, same form as the existing entries), remove decommissioned ones, then "
        "restart the service that reads the file (profile restart_after_change.spoc_ims_properties). "
        "`auditor fix --check SPOC-IMS-ADDRESSES` plans the edit."
    ),
    fixable=True,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "spoc_ims.file",
    "spoc_ims.addresses_key",
    "management_conf.ip_key",
)


def evaluate(cluster: Cluster, node: NodeView) -> Finding:
    spoc = node.spoc
    key = cluster.profile.spoc_ims.addresses_key
    path = spoc.ims.path
    ids = cluster.identities()
    expected = [best_address(s) if s.addresses else s.name for s in ids.servers]
    if not spoc.ims_addresses_present:
        return make(META, Status.FAIL, node.name, node.name, f"{key} is not set", expected=expected,
                    actual=None, file=path)
    judged = Judged()
    seen: dict[str, str] = {}
    marks: dict[int, Mark] = {}  # position in the actual list -> mark
    unclaimed: list[tuple[str, int | None]] = []
    unclaimed_pos: list[int] = []
    line = spoc.ims_addresses_line
    for pos, a in enumerate(spoc.ims_addresses):
        named = ids.by_host(a.host)
        if len(named) != 1:
            unclaimed.append((a.raw, line))
            unclaimed_pos.append(pos)
            continue
        target = named[0]
        if target.name in seen:
            judged.add(Verdict.FAIL, f"{a.raw} duplicates {seen[target.name]} ({target.name})", line)
            marks[pos] = Mark.STALE
            continue
        seen[target.name] = a.raw
        before = len(judged.unverifiable)
        if judge_address(ids, judged, target, a.host, a.raw, line, note_names=False) == Verdict.FAIL:
            marks[pos] = Mark.WRONG
        unverified_match(judged, target, a.raw, "its address", (("address", target.bound_ip),), before)
    owners = possible_owners(ids.could_own("bound_ip"), set(seen))
    if judge_unclaimed(judged, owners, unclaimed, "stale or unknown address {entry} (no current Management server)"):
        marks.update({pos: Mark.STALE for pos in unclaimed_pos})
    missing = judged.missing(ids, set(seen), owners, bool(unclaimed))
    return judged.finding(META, node.name, f"{key} lists all {len(expected)} Management server(s)",
                          marks_detail(missing, marks), details={}, expected=expected,
                          actual=[a.raw for a in spoc.ims_addresses], file=path, line=line)


def run(cluster: Cluster) -> Iterator[Finding]:
    # the evaluation reads the file's path, the addresses entry (present, its line, each
    # address as written and its host) and the cluster
    judged = JudgedOnce(lambda node: evaluate(cluster, node))

    def check_node(node: NodeView) -> Iterator[Finding]:
        spoc = node.spoc
        yield (spoc_blocker(META, cluster, node, lambda spoc: spoc.ims)
               or judged(node, (spoc.ims.path, spoc.ims_addresses_present, spoc.ims_addresses_line,
                                tuple((a.raw, a.host) for a in spoc.ims_addresses))))

    yield from per_node(META, cluster, check_node)
