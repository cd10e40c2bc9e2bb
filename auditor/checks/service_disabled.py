"""SERVICE-DISABLED: no product service is set to Disabled."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node, product_services
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="SERVICE-DISABLED",
    title="No Dispatcher Paragon / SafeQ service is Disabled",
    severity=Severity.MEDIUM,
    rationale=(
        "Disabled product services must be re-enabled before an update (the installer fails or "
        "leaves the subsystem unconfigured), and a disabled service is easily forgotten after "
        "troubleshooting. Legacy SafeQ 5 services are left to LEGACY-SERVICES."
    ),
    remediation=(
        "Set the service's start type back to Automatic (or Manual where that is its default), "
        "or uninstall the subsystem properly if the node should not run it."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "service_patterns",
)


def run(cluster: Cluster) -> Iterator[Finding]:
    def check_node(node: NodeView) -> Iterator[Finding]:
        svcs = product_services(cluster, node)
        disabled = [s.name for s in svcs if s.start_mode.lower() == "disabled"]
        if disabled:
            yield make(META, Status.FAIL, node.name, node.name, "disabled: " + ", ".join(disabled),
                       expected="Auto or Manual", actual=disabled)
        elif not svcs:
            yield make(META, Status.SKIP, node.name, node.name, "no product service found on this node")
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{len(svcs)} product service(s), none disabled")

    yield from per_node(META, cluster, check_node)
