"""Fixer for IMS-SERVICE-ACCOUNT: run the Infrastructure Service under the cluster's service account.

The account is ``--service-account`` when given, else the (non built-in) account a strict
majority of the Management servers already use, spelled as the first of them reports it.
With no such account the fixer refuses: inventing an account would break access to the
repository share.

The password is never part of the plan: the plan carries only where it will come from
(``--service-password-env VAR``, ``--service-password-keyring SERVICE:USER``, or a hidden
prompt at apply time), and the apply engine hands it to the node through a shell
environment variable, never on a command line, never in the journal. A group managed
service account (name ending in ``$``) needs no password.

After the account change the Infrastructure Service is restarted.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.checks._common import majority
from auditor.checks.ims_service_account import normalize_account
from auditor.cluster import Cluster
from auditor.collect.credentials import PromptRef
from auditor.findings import Finding
from auditor.fixers._common import addresses, blocked_plan, restart_name
from auditor.fixers.plan import RESTART, SET_ACCOUNT, CannotPlan, FixOptions, NodePlan, ServiceAction

CHECK_ID = "IMS-SERVICE-ACCOUNT"


def is_builtin(cluster: Cluster, account: str) -> bool:
    return normalize_account(account) in {normalize_account(a) for a in cluster.profile.builtin_accounts}


def target_account(cluster: Cluster, options: FixOptions) -> str:
    if options.service_account:
        acc = options.service_account.strip()
        if is_builtin(cluster, acc):
            raise CannotPlan(f"--service-account {acc} is a built-in account; the Infrastructure Service "
                             "needs a domain service account")
        return acc
    raw: dict[str, str] = {}
    for n in cluster.management_nodes:
        acc = n.management.ims_account if n.reachable and n.management else None
        if acc and not is_builtin(cluster, acc):
            raw[n.name] = acc.strip()
    reference, strict = majority({k: normalize_account(v) for k, v in raw.items()})
    if reference is None:
        raise CannotPlan("no Management server runs the Infrastructure Service under a service account to "
                         "copy; name one with --service-account DOMAIN\\account",
                         [n.name for n in cluster.management_nodes])
    if not strict:
        raise CannotPlan("Management servers use different service accounts ("
                         + ", ".join(f"{k}={v}" for k, v in sorted(raw.items()))
                         + ") and none has a majority; name one with --service-account", sorted(raw))
    return next(v for v in raw.values() if normalize_account(v) == reference)


def password_source(options: FixOptions, account: str) -> tuple[object | None, str | None]:
    """(credential reference, description) for the account's password; gMSA needs none."""
    if account.endswith("$"):
        return None, None
    ref = options.password_ref or PromptRef(username=account)
    if isinstance(ref, PromptRef):
        return ref, "a hidden prompt when applying"
    return ref, ref.describe()


def plan(cluster: Cluster, findings: Sequence[Finding], options: FixOptions) -> list[NodePlan]:
    if not any(f.failing for f in findings) and not options.service_account:
        return []
    account = target_account(cluster, options)
    _ref, described = password_source(options, account)
    plans: list[NodePlan] = []
    for view in cluster.management_nodes:
        if not options.targets(view.name) or not view.reachable or view.management is None:
            continue
        svc = view.management.ims_service
        if svc is None:
            if any(f.failing and (f.node or "").lower() == view.name.lower() for f in findings):
                plans.append(blocked_plan(view, CHECK_ID, "the Infrastructure Service was not found"))
            continue
        if normalize_account(svc.account or "") == normalize_account(account):
            continue
        name = restart_name(cluster, view, "management_ims_properties", "infrastructure") or svc.name
        plans.append(NodePlan(
            node=view.name,
            actions=[
                ServiceAction(SET_ACCOUNT, svc.name, CHECK_ID, f"{svc.name} runs as {svc.account}",
                              account=account, previous_account=svc.account, password_ref=described),
                ServiceAction(RESTART, name, CHECK_ID, "run under the new account"),
            ],
            notes=[f"{view.name}: {account} needs the 'Log on as a service' right and access to the IMS "
                   "repository share"],
            addresses=addresses(findings, view.name),
        ))
    return plans
