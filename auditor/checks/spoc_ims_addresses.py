"""SPOC-IMS-ADDRESSES: each SPOC's IMS proxy knows every Management server's IMS."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node, spoc_blocker
from auditor.cluster import Cluster, NodeView
from auditor.evidence import MARKS_KEY, Mark, marks_detail
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
        "host names are resolved against the audited cluster."
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
    expected = [m.primary_ip() or m.name for m in cluster.management_nodes]
    if not spoc.ims_addresses_present:
        return make(META, Status.FAIL, node.name, node.name, f"{key} is not set", expected=expected,
                    actual=None, file=path)
    problems, seen = [], {}
    stale: dict[int, Mark] = {}  # position in the actual list -> mark
    for pos, a in enumerate(spoc.ims_addresses):
        target = cluster.resolve(a.host)
        if target is None:
            problems.append(f"stale or unknown address {a.raw} (no current Management server)")
            stale[pos] = Mark.STALE
        elif target.name in seen:
            problems.append(f"{a.raw} duplicates {seen[target.name]} ({target.name})")
            stale[pos] = Mark.STALE
        else:
            seen[target.name] = a.raw
    missing: dict[int, Mark] = {}
    for i, m in enumerate(cluster.management_nodes):
        if m.name not in seen:
            problems.append(f"missing Management server {m.name} ({m.primary_ip() or '?'})")
            missing[i] = Mark.MISSING
    actual = [a.raw for a in spoc.ims_addresses]
    if problems:
        return make(META, Status.FAIL, node.name, node.name, "; ".join(problems), expected=expected,
                    actual=actual, file=path, line=spoc.ims_addresses_line,
                    details={"problems": problems, MARKS_KEY: marks_detail(missing, stale)})
    return make(META, Status.PASS, node.name, node.name,
                f"{key} lists all {len(expected)} Management server(s)", expected=expected, actual=actual,
                file=path, line=spoc.ims_addresses_line)


def run(cluster: Cluster) -> Iterator[Finding]:
    def check_node(node: NodeView) -> Iterator[Finding]:
        yield spoc_blocker(META, cluster, node, lambda spoc: spoc.ims) or evaluate(cluster, node)

    yield from per_node(META, cluster, check_node)
