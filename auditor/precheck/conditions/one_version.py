"""ONE-VERSION: every existing server runs the cluster's one version (which the new server gets)."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.needs import VERSION, version_needed
from auditor.precheck.situation import Scope, Situation, blocked_by, failing

META = Precondition(
    id="ONE-VERSION",
    title="Every existing server runs one product version (the new server must be installed with it)",
    rationale=(
        "A new Management server is installed with the build the cluster runs; a cluster in the "
        "middle of an update (or left half-updated) has no one build to install, and a new server "
        "on another build joins a mixed-version cluster, a known failure state. VERSION-CONSISTENT "
        "decides which version is the cluster's (the inventory's expected_version, else the newest "
        "Management server's)."
    ),
    remediation="Finish the update first (auditor precheck update), or declare expected_version in the inventory "
                "when the newest build is not the intended one.",
    reuses=("VERSION-CONSISTENT",),
)


def evaluate(s: Situation) -> Outcome:
    cluster = s.cluster(Scope.EXISTING)
    relevant = [n for n in cluster.nodes if n.is_management or n.is_site]
    bad = failing(s.findings("VERSION-CONSISTENT"), [n.name for n in relevant])
    unseen = s.not_collected(relevant)
    stop = blocked_by(bad, unseen)
    if stop is not None:
        return stop
    needed = version_needed(s)
    if needed is None:
        return Outcome(Verdict.NO_GO, "no product version found on the existing servers")
    who = f"all {len(relevant)} server(s) run {needed.value}"
    if s.new_name:
        return Outcome(Verdict.GO, f"{who}: install {s.new_name} with {needed.describe()}",
                       needs={VERSION: needed})
    return Outcome(Verdict.GO, who, needs={VERSION: needed})
