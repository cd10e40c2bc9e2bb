"""MANAGEMENT-HEALTHY: the existing Management servers run every mandatory subsystem."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Situation, blocked_by, failing, names

HEALTH_CHECKS = ("MGMT-SUBSYSTEMS", "SERVICE-STOPPED")
"""The checks that say a Management server is healthy: every mandatory subsystem installed and
running, every automatic product service running."""

META = Precondition(
    id="MANAGEMENT-HEALTHY",
    title="Every existing Management server is healthy",
    rationale=(
        "A new Management server joins the running cluster: the server it is pointed at and the "
        "others must be up with every mandatory subsystem running, or the new server starts from "
        "a broken state (and a stopped service hides until the next restart). " + ", ".join(HEALTH_CHECKS)
        + " decide."
    ),
    remediation="Repair the Management server named (start the stopped services, read their logs), then run the "
                "precheck again.",
    reuses=HEALTH_CHECKS,
)


def evaluate(s: Situation) -> Outcome:
    mgmt = [n.name for n in s.existing_management]
    if not mgmt:
        return Outcome(Verdict.NO_GO, "the inventory names no existing Management server")
    bad = [f for check in HEALTH_CHECKS for f in failing(s.findings(check), mgmt)]
    unseen = s.not_collected(s.existing_management)
    stop = blocked_by(bad, unseen)
    if stop is not None:
        return stop
    return Outcome(Verdict.GO, f"{names(mgmt)}: every mandatory subsystem installed and running")
