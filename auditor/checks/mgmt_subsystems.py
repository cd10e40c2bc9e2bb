"""MGMT-SUBSYSTEMS: mandatory subsystems are installed and running on every server."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="MGMT-SUBSYSTEMS",
    title="Mandatory subsystems installed and running (Management: Management Service, SPOC, WPS, FlexiSpooler; Site: SPOC)",
    severity=Severity.HIGH,
    rationale=(
        "A Management server needs the Management Service, Spooler Controller, Workflow "
        "Processing System and FlexiSpooler; a Site server needs a Spooler Controller (profile "
        "subsystems.*.mandatory_on). A missing or stopped one means that node cannot do its part "
        "of the cluster's work."
    ),
    remediation=(
        "Install the missing subsystem with the server installer (same build as the rest of the "
        "cluster, one node at a time), or start the stopped service and find out from its log "
        "why it stopped."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "subsystems.management",
    "subsystems.workflow_processing",
    "subsystems.flexispooler",
    "subsystems.spooler_controller",
)


def run(cluster: Cluster) -> Iterator[Finding]:
    subs = cluster.profile.subsystems

    def check_node(node: NodeView) -> Iterator[Finding]:
        wanted = [s for s in subs.values() if any(r in s.mandatory_on for r in node.roles)]
        if not wanted:
            yield make(META, Status.SKIP, node.name, node.name, "not applicable: node has no role with mandatory subsystems")
            return
        missing, stopped, ok = [], [], []
        for sub in wanted:
            svc = node.subsystem_service(sub.key)
            if svc is None:
                missing.append(f"{sub.title} ({'/'.join(sub.service_names)})")
            elif not svc.running:
                stopped.append(f"{sub.title} ({svc.name} {svc.state})")
            else:
                ok.append(sub.title)
        expected = [s.title for s in wanted]
        if missing or stopped:
            parts = []
            if missing:
                parts.append("not installed: " + ", ".join(missing))
            if stopped:
                parts.append("not running: " + ", ".join(stopped))
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(parts), expected=expected, actual=ok,
                       details={"missing": missing, "stopped": stopped})
        else:
            yield make(META, Status.PASS, node.name, node.name, "installed and running: " + ", ".join(ok),
                       expected=expected, actual=ok)

    yield from per_node(META, cluster, check_node)
