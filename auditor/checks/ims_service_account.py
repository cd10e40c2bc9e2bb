"""IMS-SERVICE-ACCOUNT: the Infrastructure Service runs as one domain account or gMSA everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.accounts import Account, classify
from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.deviation import Declare, Judgement, judge
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="IMS-SERVICE-ACCOUNT",
    title="Infrastructure Service runs as a domain account or gMSA, the same on every Management server",
    severity=Severity.HIGH,
    rationale=(
        "The Infrastructure Service reads and writes the shared repository on a network share; the "
        "vendor asks for it to run as 'the service account that has full administrative rights on "
        "the local server and to the shared directory'. Only an account the file server knows can "
        "hold rights on a share: a domain account (DOMAIN\\user, user@domain) or a group managed "
        "service account (DOMAIN\\name$). A built-in account (LocalSystem ...) or a virtual account "
        "(NT SERVICE\\YSoftIms) reaches the share only as the computer account, which differs per "
        "server; a local account (.\\svc or SERVER\\svc, the server's own name) exists on that "
        "server only. Every log-on account is classified (the finding says which kind; rules and "
        "built-in names in the profile's service_accounts) and the kinds that cannot hold share "
        "rights fail. All Management servers should use the same account so share permissions are "
        "one grant. Who is wrong when they differ: the inventory's ims_service_account when "
        "declared, else an account that cannot work is wrong whatever the others use, else the "
        "account most Management servers use; only the deviating servers fail, the others pass "
        "naming them; when nothing decides (two servers, two domain accounts, nothing declared) "
        "both fail as a tie until the intended account is declared."
    ),
    remediation=(
        "Create (or reuse) a domain service account or gMSA with access to the repository share, "
        "set it as the log-on account of the Infrastructure Service (YSoftIms) on each listed "
        "Management server one node at a time, and restart the service (auditor fix does this). "
        "If two accounts tie, declare the intended one as ims_service_account in the inventory."
    ),
    fixable=True,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "subsystems.infrastructure",
    "service_accounts.builtin_names",
    "service_accounts.virtual_domains",
    "service_accounts.share_capable_kinds",
)

WHAT = "Infrastructure Service account"
DECLARE = Declare("ims_service_account", "add `ims_service_account: 'DOMAIN\\account'` at the top level of "
                                         "the inventory")


def computer_names(node: NodeView) -> tuple[str, ...]:
    """The names a local account of ``node`` may be written with (``MGMT2\\svc``)."""
    return tuple(n for n in (node.state.hostname, node.state.fqdn, node.name) if n)


def account_key(value: Any) -> str:
    """Accounts are compared case-insensitively (a declared text or a classified account)."""
    return value.key if isinstance(value, Account) else str(value).strip().lower()


def account_text(value: Any) -> str:
    return value.text if isinstance(value, Account) else str(value)


def account_shown(value: Any) -> str:
    """An account as messages show it: with its kind when it was classified."""
    return value.describe() if isinstance(value, Account) else str(value)


def cannot_work(cluster: Cluster, value: Any) -> str | None:
    """Why an account of this kind cannot serve the Infrastructure Service (None: it can)."""
    acc = value if isinstance(value, Account) else classify(str(value), cluster.profile.service_accounts)
    allowed = cluster.profile.service_accounts.share_capable_kinds
    if acc.kind in allowed:
        return None
    return (f"{acc.describe()} cannot hold rights on the repository share: {acc.kind.why_not_on_a_share()}; "
            f"only a {' or a '.join(k.label for k in allowed)} can (the vendor asks for the service account "
            "that has full administrative rights on the local server and to the shared directory)")


def accounts(cluster: Cluster) -> tuple[dict[str, Account], list[str]]:
    """The classified log-on account of every Management server that reported one, and the
    Management servers that did not (they do not vote)."""
    rules = cluster.profile.service_accounts
    found: dict[str, Account] = {}
    silent: list[str] = []
    for node in cluster.management_nodes:
        svc = node.management.ims_service if node.reachable and node.management else None
        if svc is not None and (svc.account or "").strip():
            found[node.name] = classify(svc.account, rules, computer_names(node))
        else:
            silent.append(node.name)
    return found, silent


def judgement(cluster: Cluster) -> Judgement:
    """Who runs the Infrastructure Service under the wrong account (shared with the fixer)."""
    found, silent = accounts(cluster)
    return judge(found, what=WHAT, declared=cluster.declared.expected("ims_service_account"),
                 valid=lambda a: cannot_work(cluster, a), key=account_key, show=account_shown, plain=account_text, absent=silent,
                 declare=DECLARE)


def run(cluster: Cluster) -> Iterator[Finding]:
    found, _silent = accounts(cluster)
    j = judgement(cluster)
    sources = {WHAT: j.expected} if j.expected is not None else {}
    allowed = cluster.profile.service_accounts.share_capable_kinds
    expected = (account_text(j.reference) if j.reference is not None
                else " or ".join(k.label for k in allowed))

    def check_node(node: NodeView) -> Iterator[Finding]:
        svc = node.management.ims_service
        if svc is None:
            yield make(META, Status.ERROR, node.name, node.name,
                       "cannot evaluate: Infrastructure Service not found on this Management server")
            return
        acc = found.get(node.name)
        if acc is None:
            yield make(META, Status.ERROR, node.name, node.name,
                       f"cannot evaluate: no log-on account reported for {svc.name}")
            return
        verdict = j.of(node.name)
        details: dict[str, Any] = {"account": acc.text, "account_kind": acc.kind.value,
                                   "basis": j.basis.value}
        if j.declared_problem:
            details["declared_problem"] = j.declared_problem
        kw = {"expected": expected, "actual": acc.text, "expected_sources": sources, "details": details}
        if verdict.fails:
            details["verdict"] = verdict.verdict.value
            yield make(META, Status.FAIL, node.name, node.name, f"{svc.name}: {verdict.reason}", **kw)
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{svc.name} runs as {acc.describe()}"
                       + (f" ({verdict.note})" if verdict.note else ""), **kw)

    yield from per_node(META, cluster, check_node, management_only=True)

