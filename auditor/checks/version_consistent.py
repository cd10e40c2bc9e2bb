"""VERSION-CONSISTENT: one product build on every server."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="VERSION-CONSISTENT",
    title="One product version on all Management and Site servers",
    severity=Severity.HIGH,
    rationale=(
        "Every component must run the same build; a mixed-version cluster after a partial update "
        "is a known failure state. The update order is one Management server first (it upgrades "
        "the database), then the other Management servers one at a time, then Site servers, so "
        "the reference is the highest version found on a Management server and every node "
        "behind (or ahead of) it fails. The version comes from the profile's version sources "
        "(registry values, then the Management install log); a node without one is error."
    ),
    remediation=(
        "Finish the update: run the server installer of the reference build on each listed node, "
        "one node at a time, Management servers before Site servers; then re-activate the "
        "licence (it is bound to the build number)."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "version.registry",
    "version.install_log",
)


def version_key(v: str) -> tuple:
    return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"[.\-]", v.strip()))


def run(cluster: Cluster) -> Iterator[Finding]:
    relevant = [n for n in cluster.nodes if n.is_management or n.is_site]
    # by identity: ``node in relevant`` compared NodeView dataclasses field by field, which
    # made this check quadratic (8 s at 5,000 nodes)
    relevant_ids = {id(n) for n in relevant}
    mg_versions = [n.version for n in cluster.management_nodes if n.reachable and n.version]
    pool = mg_versions or [n.version for n in relevant if n.reachable and n.version]
    reference = max(pool, key=version_key) if pool else None

    def check_node(node: NodeView) -> Iterator[Finding]:
        if id(node) not in relevant_ids:
            yield make(META, Status.SKIP, node.name, node.name, "not applicable: no product role")
            return
        if not node.version:
            yield make(META, Status.ERROR, node.name, node.name,
                       "cannot evaluate: no product version found (profile version sources)", expected=reference)
            return
        details = {"source": node.version_source}
        if version_key(node.version) == version_key(reference):
            yield make(META, Status.PASS, node.name, node.name, f"version {node.version}", expected=reference,
                       actual=node.version, details=details)
        else:
            rel = "behind" if version_key(node.version) < version_key(reference) else "ahead of"
            yield make(META, Status.FAIL, node.name, node.name,
                       f"version {node.version} is {rel} the cluster's {reference}", expected=reference,
                       actual=node.version, details=details)

    yield from per_node(META, cluster, check_node)
