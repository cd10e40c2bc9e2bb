"""Fixer for IMS-SERVICE-ACCOUNT: run the Infrastructure Service under the cluster's service account.

The account is ``--service-account`` when given, else the one the check's judgement names
(the inventory's ``ims_service_account``, else the only account that can work, else the one
most Management servers use), spelled as the declaration or the first such server writes it.
Only a kind that can hold rights on the repository share (profile
``service_accounts.share_capable_kinds``: domain account, gMSA) is ever written. With no such
account, or a tie, the fixer refuses and says how to decide: inventing an account would break
access to the repository share.

The password is never part of the plan: the plan carries only where it will come from
(``--service-password-env VAR``, ``--service-password-keyring SERVICE:USER``, or a hidden
prompt at apply time), and the apply engine hands it to the node through a shell
environment variable, never on a command line, never in the journal. Accounts whose password
Windows manages (a group managed service account, name ending in ``$``) need none.

After the account change the Infrastructure Service is restarted.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.accounts import classify
from auditor.checks.ims_service_account import account_key, account_text, cannot_work, judgement
from auditor.cluster import Cluster
from auditor.collect.credentials import PromptRef
from auditor.findings import Finding
from auditor.fixers._common import addresses, blocked_plan, decided_value, restart_name
from auditor.fixers.plan import RESTART, SET_ACCOUNT, CannotPlan, FixOptions, NodePlan, ServiceAction

CHECK_ID = "IMS-SERVICE-ACCOUNT"


def target_account(cluster: Cluster, options: FixOptions) -> str:
    if options.service_account:
        acc = options.service_account.strip()
        problem = cannot_work(cluster, acc)
        if problem:
            raise CannotPlan(f"--service-account {problem}")
        return acc
    return account_text(decided_value(judgement(cluster), cluster,
                                      "or name the account with --service-account DOMAIN\\account"))


def password_source(options: FixOptions, account: str, rules) -> tuple[object | None, str | None]:
    """(credential reference, description) for the account's password; accounts whose password
    Windows manages (gMSA) need none."""
    if not classify(account, rules).kind.needs_password:
        return None, None
    ref = options.password_ref or PromptRef(username=account)
    if isinstance(ref, PromptRef):
        return ref, "a hidden prompt when applying"
    return ref, ref.describe()


def plan(cluster: Cluster, findings: Sequence[Finding], options: FixOptions) -> list[NodePlan]:
    if not any(f.failing for f in findings) and not options.service_account:
        return []
    account = target_account(cluster, options)
    _ref, described = password_source(options, account, cluster.profile.service_accounts)
    plans: list[NodePlan] = []
    for view in cluster.management_nodes:
        if not options.targets(view.name) or not view.reachable or view.management is None:
            continue
        svc = view.management.ims_service
        if svc is None:
            if any(f.failing and (f.node or "").lower() == view.name.lower() for f in findings):
                plans.append(blocked_plan(view, CHECK_ID, "the Infrastructure Service was not found"))
            continue
        if account_key(svc.account or "") == account_key(account):
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
