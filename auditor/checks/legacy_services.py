"""LEGACY-SERVICES: no SafeQ 5 services left behind."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="LEGACY-SERVICES",
    title="No SafeQ 5 services left over from a migration",
    severity=Severity.LOW,
    rationale=(
        "SafeQ 5 services (profile legacy_services, e.g. YSoftSafeQCML, YSoftSafeQORS, "
        "YSQpostgres) on a SafeQ 6 / Dispatcher Paragon server point to an unclean migration; "
        "running ones compete for ports and resources."
    ),
    remediation="Back up what is still needed, then uninstall the SafeQ 5 components from the node.",
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "legacy_services",
)


def run(cluster: Cluster) -> Iterator[Finding]:
    legacy = {s.lower() for s in cluster.profile.legacy_services}

    def check_node(node: NodeView) -> Iterator[Finding]:
        found = [f"{s.name} ({s.state}, {s.start_mode})" for s in node.state.services if s.name.lower() in legacy]
        if found:
            yield make(META, Status.FAIL, node.name, node.name, "SafeQ 5 service(s) present: " + ", ".join(found),
                       expected=[], actual=found)
        else:
            yield make(META, Status.PASS, node.name, node.name, "no SafeQ 5 service present", expected=[], actual=[])

    yield from per_node(META, cluster, check_node)
