"""SERVICES-ENABLED: no product service is set to Disabled before an update."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Scope, Situation, blocked_by, failing

META = Precondition(
    id="SERVICES-ENABLED",
    title="No product service is set to Disabled",
    rationale=(
        "The vendor's update procedure requires services set to Disabled to be re-enabled before "
        "the update (the installer fails or leaves the subsystem unconfigured). SERVICE-DISABLED "
        "decides, on every node."
    ),
    remediation="Set the service's start type back to Automatic (or Manual where that is its default) before "
                "running the installer.",
    reuses=("SERVICE-DISABLED",),
)


def evaluate(s: Situation) -> Outcome:
    cluster = s.cluster(Scope.ALL)
    bad = failing(s.findings("SERVICE-DISABLED", Scope.ALL))
    stop = blocked_by(bad, s.not_collected(cluster.nodes))
    if stop is not None:
        return stop
    return Outcome(Verdict.GO, "no product service is Disabled")
