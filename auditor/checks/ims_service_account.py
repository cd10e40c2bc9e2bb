"""IMS-SERVICE-ACCOUNT: the Infrastructure Service runs as one dedicated service account."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import majority, make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="IMS-SERVICE-ACCOUNT",
    title="Infrastructure Service runs as a service account (not built-in), the same on every Management server",
    severity=Severity.HIGH,
    rationale=(
        "The Infrastructure Service reads and writes the shared repository on a network share; "
        "built-in accounts (LocalSystem, LocalService, NetworkService, see profile "
        "builtin_accounts; compared case-insensitively with or without NT AUTHORITY\\ or .\\) "
        "either cannot authenticate to the share or do so as the computer account, which differs "
        "per node. All Management servers should use the same account so share permissions are "
        "one grant."
    ),
    remediation=(
        "Create (or reuse) a domain service account with access to the repository share, set it "
        "as the log-on account of the Infrastructure Service (YSoftIms) on each Management "
        "server one node at a time, and restart the service."
    ),
    fixable=True,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "subsystems.infrastructure",
    "builtin_accounts",
)


def normalize_account(account: str) -> str:
    a = account.strip().lower()
    for prefix in ("nt authority\\", ".\\"):
        if a.startswith(prefix):
            a = a[len(prefix):]
    return a


def run(cluster: Cluster) -> Iterator[Finding]:
    builtin = {normalize_account(a) for a in cluster.profile.builtin_accounts}
    accounts: dict[str, str] = {}
    for node in cluster.management_nodes:
        acc = node.management.ims_account if node.reachable and node.management else None
        if acc and normalize_account(acc) not in builtin:
            accounts[node.name] = normalize_account(acc)
    reference, strict = majority(accounts)

    def check_node(node: NodeView) -> Iterator[Finding]:
        svc = node.management.ims_service
        if svc is None:
            yield make(META, Status.ERROR, node.name, node.name,
                       "cannot evaluate: Infrastructure Service not found on this Management server")
            return
        acc = (svc.account or "").strip()
        if not acc:
            yield make(META, Status.ERROR, node.name, node.name,
                       f"cannot evaluate: no log-on account reported for {svc.name}")
            return
        norm = normalize_account(acc)
        expected = reference or "a domain service account"
        if norm in builtin:
            yield make(META, Status.FAIL, node.name, node.name, f"{svc.name} runs as built-in account {acc}",
                       expected=expected, actual=acc)
        elif reference is not None and (norm != reference or not strict) and len(set(accounts.values())) > 1:
            yield make(META, Status.FAIL, node.name, node.name,
                       f"{svc.name} runs as {acc}; Management servers use different accounts: "
                       + ", ".join(f"{n}={a}" for n, a in sorted(accounts.items())),
                       expected=expected, actual=acc)
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{svc.name} runs as {acc}",
                       expected=expected, actual=acc)

    yield from per_node(META, cluster, check_node, management_only=True)
