"""NO-INSTALLER: no product installer runs on any node (the change is one node at a time)."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Scope, Situation, blocked_by, failing

META = Precondition(
    id="NO-INSTALLER",
    title="No product installer runs on any node",
    rationale=(
        "Installs and updates go one node at a time: the first Management server updated upgrades "
        "the shared database, and an installer already running means another change is under way "
        "(or hung). INSTALL-IN-PROGRESS decides, on every node including a new server."
    ),
    remediation="Let the running installer finish (or find out why it hangs), then run the precheck again.",
    reuses=("INSTALL-IN-PROGRESS",),
)


def evaluate(s: Situation) -> Outcome:
    cluster = s.cluster(Scope.ALL)
    bad = failing(s.findings("INSTALL-IN-PROGRESS", Scope.ALL))
    unseen = s.not_collected(cluster.nodes)
    stop = blocked_by(bad, unseen)
    if stop is not None:
        return stop
    return Outcome(Verdict.GO, f"no installer running on any of the {len(cluster.nodes)} node(s)")
