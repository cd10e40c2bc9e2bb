"""UPDATE-VERSIONS: one version before an update; during one, only the already-updated servers differ."""

from __future__ import annotations

from auditor.checks.version_consistent import version_key
from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.needs import VERSION, version_needed
from auditor.precheck.situation import Scope, Situation, explain, failing, names

TARGET = "target version"

META = Precondition(
    id="UPDATE-VERSIONS",
    title="One product version on every server, or an update in progress in which only the updated servers differ",
    rationale=(
        "An update starts from one build on every server. Told the target version (--to), a "
        "rolling update is recognised: servers on the target are done, every other server must "
        "still run one and the same older build, and that state is 'update in progress' (a "
        "warning: carry on with the next server), not drift. Any third build, a server without a "
        "version, or a target older than the cluster's build is a no-go. Without --to, "
        "VERSION-CONSISTENT decides."
    ),
    remediation="Bring the odd server to the cluster's build (or the target) first; declare expected_version in "
                "the inventory when the newest build is not the intended one.",
    reuses=("VERSION-CONSISTENT",),
)


def _run(nodes: list) -> str:
    return "runs" if len(nodes) == 1 else "run"


def evaluate(s: Situation) -> Outcome:
    cluster = s.cluster(Scope.ALL)
    relevant = [n for n in cluster.nodes if n.is_management or n.is_site]
    unseen = s.not_collected(relevant)
    if unseen:
        return Outcome(Verdict.NO_GO, f"cannot be confirmed: {names(unseen)} not collected", nodes=tuple(unseen))
    unknown = [n.name for n in relevant if not n.version]
    if unknown:
        return Outcome(Verdict.NO_GO, f"no product version found on {names(unknown)}", nodes=tuple(unknown))
    if s.target is None:
        bad = failing(s.findings("VERSION-CONSISTENT", Scope.ALL), [n.name for n in relevant])
        if bad:
            return Outcome(Verdict.NO_GO, "mixed versions (give --to VERSION when an update is in progress): "
                           + explain(bad), nodes=tuple(f.node or "" for f in bad), evidence=tuple(bad))
        needed = version_needed(s)
        return Outcome(Verdict.GO, f"all {len(relevant)} server(s) run {needed.value if needed else '?'}",
                       needs={VERSION: needed} if needed else {})
    target = str(s.target.value)
    done = [n for n in relevant if version_key(n.version or "") == version_key(target)]
    pending = [n for n in relevant if n not in done]
    builds = sorted({n.version or "" for n in pending}, key=version_key)
    needs = {TARGET: s.target}
    if len(builds) > 1:
        spread = "; ".join(f"{names(n.name for n in pending if n.version == b)} on {b}" for b in builds)
        return Outcome(Verdict.NO_GO, f"besides the target {target}, the servers run more than one build: {spread}",
                       nodes=tuple(n.name for n in pending), needs=needs)
    if builds and version_key(builds[0]) > version_key(target):
        return Outcome(Verdict.NO_GO, f"the target {target} is older than the cluster's {builds[0]}: that is no "
                       "update", needs=needs)
    if not done:
        return Outcome(Verdict.GO, f"update not started: all {len(relevant)} server(s) run {builds[0]}; target "
                       f"{target}", needs=needs)
    if not pending:
        return Outcome(Verdict.GO, f"every server runs {target}: the update is complete", needs=needs)
    reason = (f"update in progress: {names(n.name for n in done)} {_run(done)} {target}; "
              f"{names(n.name for n in pending)} still {_run(pending)} {builds[0]}")
    behind = [n.name for n in pending if n.is_management]
    early = [n.name for n in done if not n.is_management]
    if behind and early:
        reason += (f" (out of the documented order: {names(early)} updated before the Management server(s) "
                   f"{names(behind)}; update those next)")
    return Outcome(Verdict.WARNING, reason, nodes=tuple(n.name for n in pending), needs=needs)
