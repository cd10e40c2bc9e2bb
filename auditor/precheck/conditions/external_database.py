"""EXTERNAL-DATABASE: the cluster's database is an external SQL server, not the embedded one."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Situation, blocked_by, failing, names

META = Precondition(
    id="EXTERNAL-DATABASE",
    title="The cluster uses an external database (not the embedded PostgreSQL)",
    rationale=(
        "The embedded PostgreSQL lives on one Management server; a cluster on it has a single point "
        "of failure, and the vendor's cluster deployment requires an external (ideally highly "
        "available) SQL server before more Management servers join or the cluster is updated. "
        "DB-EXTERNAL decides, on every existing Management server."
    ),
    remediation=(
        "Migrate to an external SQL server first (vendor procedure, maintenance window, backup), "
        "then run the precheck again."
    ),
    reuses=("DB-EXTERNAL",),
)


def evaluate(s: Situation) -> Outcome:
    mgmt = s.existing_management
    if not mgmt:
        return Outcome(Verdict.NO_GO, "the inventory names no existing Management server to read the database from")
    findings = [f for f in s.findings("DB-EXTERNAL") if f.node in {n.name for n in mgmt}]
    bad = failing(findings)
    unseen = s.not_collected(mgmt)
    stop = blocked_by(bad, unseen)
    if stop is not None:
        return stop
    hosts = sorted({str(f.actual) for f in findings if f.actual})
    return Outcome(Verdict.GO, f"external database ({', '.join(hosts)}) on {names(n.name for n in mgmt)}")
