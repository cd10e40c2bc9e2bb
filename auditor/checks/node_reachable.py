"""NODE-REACHABLE: every inventory node could be collected."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make
from auditor.cluster import Cluster
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="NODE-REACHABLE",
    title="Every node in the inventory could be reached and collected",
    severity=Severity.HIGH,
    rationale=(
        "A node that could not be collected is not audited at all: every other check skips it. "
        "Reporting it as a failure keeps an unreachable node (down, firewall, WinRM, credentials, "
        "certificate) from looking like a clean one."
    ),
    remediation=(
        "Check that the node is up and that WinRM answers from the auditing host (port 5986/5985, "
        "firewall, listener, certificate, credentials) as the reason says; see docs for the "
        "required WinRM setup."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: none (only how collection went).
RELIES_ON: tuple[str, ...] = ()


def run(cluster: Cluster) -> Iterator[Finding]:
    for node in cluster.nodes:
        st = node.state
        if node.reachable:
            yield make(META, Status.PASS, node.name, node.name, "collected", actual="ok")
        else:
            yield make(META, Status.FAIL, node.name, node.name,
                       f"not collected: {st.status}" + (f" ({st.reason})" if st.reason else ""),
                       expected="ok", actual=st.status, details={"reason": st.reason, "address": st.address})
