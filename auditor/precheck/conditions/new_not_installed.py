"""NEW-NOT-INSTALLED: nothing of the product is installed on the new Management server yet."""

from __future__ import annotations

from auditor.checks._common import product_services
from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Scope, Situation

META = Precondition(
    id="NEW-NOT-INSTALLED",
    title="Nothing of the product is installed on the new Management server yet",
    rationale=(
        "The precheck validates the cluster before the server installer runs on the new server. "
        "Product services already there mean an earlier attempt (or the installation itself) "
        "happened: the follow-up plan (--after) is then the next step, or the leftovers need "
        "looking at first."
    ),
    remediation="If the installation is done, run the follow-up plan: auditor precheck add-management --after. "
                "If these are leftovers of a failed attempt, uninstall them first.",
)


def evaluate(s: Situation) -> Outcome:
    new = s.new
    if new is None or not new.reachable:
        return Outcome(Verdict.NO_GO, f"cannot be confirmed: {s.new_name} was not collected", nodes=(s.new_name or "",))
    found = product_services(s.cluster(Scope.ALL), new)
    if found:
        return Outcome(Verdict.WARNING, f"{new.name} already has product services: "
                       + ", ".join(f"{svc.name} ({svc.state})" for svc in found)
                       + (f", version {new.version}" if new.version else ""), nodes=(new.name,))
    return Outcome(Verdict.GO, f"{new.name} answers over WinRM and has nothing of the product installed yet")
