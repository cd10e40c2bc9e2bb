"""INSTALL-IN-PROGRESS: no product installer is running (and never on two nodes at once)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="INSTALL-IN-PROGRESS",
    title="No product installer running; never on more than one node at a time",
    severity=Severity.HIGH,
    rationale=(
        "Install or update one node at a time: the first Management server upgrades the shared "
        "database, and parallel installs on several nodes corrupt the cluster state. An installer "
        "still running also means the audit sees a half-updated node. Installer process names "
        "come from the profile (installer_processes). Two or more nodes at once is critical."
    ),
    remediation=(
        "Let the running installer finish (or investigate a hung one) before changing anything "
        "else; if installers run on several nodes, stop all but one and follow the documented "
        "update order."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "installer_processes",
)


def installers(cluster: Cluster, node: NodeView) -> list[str]:
    pats = [p.lower() for p in cluster.profile.installer_processes]
    return [f"{p.name} (pid {p.pid})" for p in node.state.processes
            if any(fnmatch.fnmatchcase(p.name.lower(), pat) for pat in pats)]


def run(cluster: Cluster) -> Iterator[Finding]:
    found = {n.name: installers(cluster, n) for n in cluster.nodes if n.reachable}
    busy = [n for n, procs in found.items() if procs]
    sev = Severity.CRITICAL if len(busy) > 1 else META.severity

    def check_node(node: NodeView) -> Iterator[Finding]:
        procs = found[node.name]
        if procs:
            msg = "installer running: " + ", ".join(procs)
            if len(busy) > 1:
                msg += f"; installers run on {len(busy)} nodes at once ({', '.join(busy)})"
            yield make(META, Status.FAIL, node.name, node.name, msg, severity=sev, expected="no installer",
                       actual=procs, details={"nodes_installing": busy})
        else:
            yield make(META, Status.PASS, node.name, node.name, "no installer running", expected="no installer",
                       actual=[])

    yield from per_node(META, cluster, check_node)
