"""SERVICE-STOPPED: product services set to start automatically are running."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node, product_services
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="SERVICE-STOPPED",
    title="Product services with start type Automatic are running",
    severity=Severity.HIGH,
    rationale=(
        "A service set to start automatically that is not running has crashed or was stopped by "
        "hand and forgotten. Services of subsystems the profile marks may_be_stopped (the SPOC "
        "Group Service, which support scripts never start by hand) are exempt."
    ),
    remediation="Start the service, and read its log to find out why it stopped.",
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "service_patterns",
    "subsystems.spoc_group",
)


def run(cluster: Cluster) -> Iterator[Finding]:
    exempt = {n.lower() for sub in cluster.profile.subsystems.values() if sub.may_be_stopped
              for n in sub.service_names}

    def check_node(node: NodeView) -> Iterator[Finding]:
        svcs = [s for s in product_services(cluster, node) if s.name.lower() not in exempt]
        auto = [s for s in svcs if s.start_mode.lower().startswith("auto")]
        stopped = [f"{s.name} ({s.state})" for s in auto if not s.running]
        if stopped:
            yield make(META, Status.FAIL, node.name, node.name, "not running: " + ", ".join(stopped),
                       expected="Running", actual=stopped)
        elif not auto:
            yield make(META, Status.SKIP, node.name, node.name, "no automatic product service on this node")
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{len(auto)} automatic service(s) running")

    yield from per_node(META, cluster, check_node)
