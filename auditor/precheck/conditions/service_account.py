"""SERVICE-ACCOUNT: the existing Infrastructure Services run as one service account (the new one needs it)."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.needs import ACCOUNT, account_needed
from auditor.precheck.situation import Situation, management_agree, names

META = Precondition(
    id="SERVICE-ACCOUNT",
    title="The Infrastructure Service runs as a service account on every existing Management server",
    rationale=(
        "The Infrastructure Service reaches the repository share as its log-on account; built-in "
        "accounts cannot (or do so as the computer, different per server). The new Management "
        "server needs the same account, so the existing ones must agree on one: IMS-SERVICE-ACCOUNT "
        "passes on each, and the account agrees with the inventory's ims_service_account when one "
        "is declared."
    ),
    remediation="Run the Infrastructure Service as one domain service account on every Management server first "
                "(auditor fix --check IMS-SERVICE-ACCOUNT), then run the precheck again.",
    reuses=("IMS-SERVICE-ACCOUNT",),
)


def evaluate(s: Situation) -> Outcome:
    needed = account_needed(s)
    stop = management_agree(s, "IMS-SERVICE-ACCOUNT", needed, "service account for the Infrastructure Service",
                            "ims_service_account")
    if stop is not None:
        return stop
    assert needed is not None  # management_agree is a no-go without it
    new = (f": {s.new_name} needs {needed.value} too ('Log on as a service' right, access to the repository "
           "share)") if s.new_name else ""
    return Outcome(Verdict.GO, f"{names(n.name for n in s.existing_management)} run it as {needed.value}{new}",
                   needs={ACCOUNT: needed})
