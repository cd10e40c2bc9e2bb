"""Report data built from Finding/NodeState objects directly, so report tests do not depend
on the checks. (Not named conftest: test folders share one import namespace.)"""

from __future__ import annotations

from auditor.expectations import ExpectationSource, Expected
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.nodestate import NodeState
from auditor.profile.verification import FactOutcome, FactResult, NodeGroup, Outcome, Scope, Verification
from auditor.profile.view import Certainty
from auditor.reports.model import AuditReport, NodeInfo, RunMeta

HOSTILE = "<script>alert(1)</script>"

CHECKS = [
    CheckMeta("SPOC-MGMT-LIST", "SPOC lists every management server", Severity.HIGH,
              "A SPOC that does not know a management server cannot fail over to it.",
              "Edit spoc.conf so serverGUID/serverIP list exactly the management servers.", fixable=True),
    CheckMeta("IMS-SERVICE-ACCOUNT", "Infrastructure Service runs as a domain account", Severity.MEDIUM,
              "LocalSystem cannot reach the shared repository.", "Set the service account.", fixable=True),
    CheckMeta("DB-EXTERNAL", "Cluster uses an external database", Severity.CRITICAL,
              "The embedded PostgreSQL is a single point of failure.", "Move to MS SQL or PostgreSQL cluster."),
    CheckMeta("SVC-RUNNING", "Mandatory services are running", Severity.HIGH, "r", "Start the service."),
]


def make_nodes(unreachable: bool = False) -> list[NodeState]:
    nodes = [
        NodeState(name="MGMT1", roles=["management"], address="10.0.10.11", hostname="MGMT1"),
        NodeState(name="MGMT2", roles=["management"], address="10.0.10.12", hostname="MGMT2"),
        NodeState(name="SITE1", roles=["site"], address="10.0.20.10", hostname="SITE1"),
        NodeState(name="SITE2", roles=["site"], address="10.0.20.11", hostname="SITE2"),
    ]
    if unreachable:
        nodes[3].status = "timeout"
        nodes[3].reason = "no answer on 10.0.20.11:5986 within 30 s"
    return nodes


def make_findings(hostile: bool = False) -> list[Finding]:
    guid = HOSTILE if hostile else "6f1c2a00-3b7e-4c1d-9a55-000000000000"
    f = [
        Finding("SPOC-MGMT-LIST", Status.PASS, Severity.HIGH, "MGMT1", "MGMT1", "not a site server"),
        Finding("SPOC-MGMT-LIST", Status.FAIL, Severity.HIGH, "SITE1", "SITE1:serverGUID3",
                f"stale management server entry {guid}",
                expected=["6f1c2a01-3b7e-4c1d-9a55-000000000001", "6f1c2a02-3b7e-4c1d-9a55-000000000002"],
                actual=["6f1c2a01-3b7e-4c1d-9a55-000000000001", "6f1c2a02-3b7e-4c1d-9a55-000000000002", guid],
                fixable=True, file=r"C:\DispatcherParagon\SPOC\conf\modules\spoc.conf", line=12),
        Finding("SPOC-MGMT-LIST", Status.FAIL, Severity.HIGH, "SITE2", "SITE2",
                "MGMT2 missing from the server list", expected="MGMT1, MGMT2", actual="MGMT1" + "x" * 300,
                fixable=True, file=r"C:\DispatcherParagon\SPOC\conf\modules\spoc.conf", line=4,
                expected_sources={
                    "MGMT2 GUID": Expected("6f1c2a02-3b7e-4c1d-9a55-000000000002", ExpectationSource.CONSENSUS,
                                           "inferred from 37 of 40 Spooler Controllers"),
                    "MGMT2 CML port": Expected(6010, ExpectationSource.PROFILE_DEFAULT,
                                               HOSTILE if hostile else "spoc_conf.default_port (assumed)")}),
        Finding("IMS-SERVICE-ACCOUNT", Status.FAIL, Severity.MEDIUM, "MGMT2", "MGMT2",
                "Infrastructure Service runs as LocalSystem", expected="domain account", actual="LocalSystem",
                fixable=True),
        Finding("IMS-SERVICE-ACCOUNT", Status.PASS, Severity.MEDIUM, "MGMT1", "MGMT1", "ok"),
        Finding("DB-EXTERNAL", Status.FAIL, Severity.CRITICAL, None, "cluster",
                "the cluster uses MGMT1's embedded PostgreSQL", expected="external", actual="embedded"),
        Finding("SVC-RUNNING", Status.ERROR, Severity.HIGH, "SITE1", "SITE1:SPOC",
                "could not read service list\x00\x07 (control chars)", actual="\x1b[31mred\x1b[0m"),
        Finding("SVC-RUNNING", Status.WAIVED, Severity.HIGH, "MGMT2", "MGMT2:YSoftIMS", "stopped",
                waiver={"reason": "decommissioning <b>soon</b>", "owner": "jane", "expires": "2026-12-31"}),
        Finding("SVC-RUNNING", Status.SKIP, Severity.HIGH, "MGMT1", "MGMT1:SPOC", "no SPOC here"),
    ]
    return f


def make_report(hostile: bool = False, unreachable: bool = False, **kw) -> AuditReport:
    run = RunMeta(tool_version="0.1.0", started_at="2026-11-25T05:00:00Z", finished_at="2026-11-25T05:00:09Z",
                  profile="dispatcher-paragon (default, sha256 0123456789ab)", source_kind="snapshot",
                  source="/srv/snap/drift", command_line="auditor audit --from /srv/snap/drift",
                  host="audit-host", fail_on="high")
    nodes = [NodeInfo.from_state(n) for n in make_nodes(unreachable)]
    return AuditReport(run=run, nodes=nodes, findings=make_findings(hostile), checks=list(CHECKS), **kw)


SINCE = {  # the shape auditor.history.drift.Drift.to_dict() writes
    "baseline_run": 41, "baseline_kind": "previous", "baseline_finished_at": "2026-11-24T05:00:08Z",
    "run": 42, "run_finished_at": "2026-11-25T05:00:09Z",
    "new": [{"check_id": "SPOC-MGMT-LIST", "node": "SITE2", "subject": "SITE2", "severity": "high",
             "status": "fail", "message": "MGMT2 missing from the server list"}],
    "resolved": [{"check_id": "SVC-RUNNING", "node": "SITE1", "subject": "SITE1:EUI", "severity": "high",
                  "status": "fail", "now_status": "pass", "message": "EUI stopped"}],
    "changed": [{"check_id": "DB-EXTERNAL", "node": None, "subject": "cluster", "fields": ["severity"],
                 "before": {"status": "fail", "severity": "medium"},
                 "after": {"status": "fail", "severity": "critical"}}],
    "config_changes": [{"node": "SITE2", "file": r"C:\DispatcherParagon\SPOC\conf\modules\spoc.conf",
                        "key": "serverGUID2", "change": "changed", "before": "6f1c2a02", "after": HOSTILE}],
    "nodes": [{"node": "SITE2", "change": "unreachable", "before": "ok", "after": "timeout",
               "reason": "no answer"}],
}

def make_product_model(hostile: bool = False) -> Verification:
    """A product model with every kind of result (the shape auditor.profile.verify writes)."""
    seen = HOSTILE if hostile else "display name is 'Dispatcher Paragon Management Server'"
    return Verification(
        profile="dispatcher-paragon (default, sha256 0123456789ab)", scope=Scope.UNCERTAIN, nodes_total=4,
        not_collected=("SITE2",), facts=(
            FactResult("subsystems.management.services[YSoftSQ-Management].display_names",
                       "Dispatcher Paragon Management Service, YSoft SafeQ Management Service", Certainty.ASSUMED,
                       "the display name of service YSoftSQ-Management", FactOutcome.CONTRADICTED,
                       (NodeGroup(Outcome.CONTRADICTED, seen, ("MGMT1", "MGMT2")),),
                       relied_on_by=("MGMT-SUBSYSTEMS",)),
            FactResult("spoc_conf.guid_key", "serverGUID", Certainty.ASSUMED,
                       "key serverGUID (or serverGUID2, serverGUID3 ...) in spoc.conf", FactOutcome.CONFIRMED,
                       (NodeGroup(Outcome.CONFIRMED, "serverGUID in spoc.conf line 6", ("MGMT1", "MGMT2", "SITE1")),
                        NodeGroup(Outcome.COULD_NOT_TELL, "node not collected (timeout)", ("SITE2",)))),
            FactResult("version.install_log.pattern", "version\\s+([0-9.]+)", Certainty.INFERRED,
                       "a version in the install log", FactOutcome.COULD_NOT_TELL,
                       (NodeGroup(Outcome.COULD_NOT_TELL, "management-server-install.log was not read",
                                  ("MGMT1", "MGMT2")),)),
            FactResult("server_os.min_build", "14393", Certainty.ASSUMED,
                       "a support floor is the vendor's statement; a running server cannot show it",
                       FactOutcome.UNVERIFIABLE),
        ))


TREND = [
    {"run_id": str(i), "finished_at": f"2026-11-{10 + i:02d}T05:00:00Z",
     "failing": {"critical": i % 2, "high": 3 + (i % 4), "medium": 1, "low": 0, "info": 0}}
    for i in range(1, 15)
]


def make_large_report(sites: int = 4998, unreachable: int = 3, failing_every: int = 50) -> AuditReport:
    """A cluster of 2 Management + ``sites`` Site servers under every check of the catalogue:
    mostly passes, a stale spoc.conf entry on every ``failing_every``-th site, and
    ``unreachable`` sites that could not be collected (the 5,000-node browser test)."""
    from auditor.audit import check_catalogue
    from auditor.evidence import Mark, marks_detail

    checks = check_catalogue()
    names = ["MGMT1", "MGMT2", *(f"SITE{i:04d}" for i in range(1, sites + 1))]
    nodes = [NodeInfo(name=n, roles=["management" if n.startswith("MGMT") else "site"],
                      address=f"10.0.{i // 250}.{i % 250}") for i, n in enumerate(names)]
    lost = {n.name for n in nodes[2:2 + unreachable]}
    for n in nodes:
        if n.name in lost:
            n.status, n.reason = "timeout", "no answer within the 60 s deadline"
    expected = [{"node": "MGMT1", "guid": "g1", "ip": "10.0.0.0", "port": "6010"},
                {"node": "MGMT2", "guid": "g2", "ip": "10.0.0.1", "port": "6010"}]
    findings = []
    for i, n in enumerate(nodes):
        for c in checks:
            if n.name in lost:
                findings.append(Finding(c.id, Status.SKIP, c.severity, n.name, n.name, "not evaluated: unreachable"))
            elif c.id == "SPOC-MGMT-LIST" and i >= 2 and i % failing_every == 0:
                actual = [dict(expected[0], index=1), dict(expected[1], index=2), {"index": 3, "guid": "g0",
                                                                                    "ip": "10.9.9.9", "port": "6010"}]
                findings.append(Finding(c.id, Status.FAIL, c.severity, n.name, n.name,
                                        "entry 3: stale, GUID g0 / 10.9.9.9 matches no current Management server",
                                        expected=expected, actual=actual, fixable=True,
                                        details={"marks": marks_detail(actual={2: Mark.STALE}),
                                                 "fix_args": ["--remove-stale"]}))
            else:
                findings.append(Finding(c.id, Status.PASS, c.severity, n.name, n.name, "ok"))
    run = RunMeta(tool_version="0.1.0", started_at="2026-11-25T05:00:00Z", finished_at="2026-11-25T05:09:00Z",
                  profile="dispatcher-paragon (default)", source_kind="inventory", source="big.yaml",
                  command_line="auditor audit --inventory big.yaml", host="audit-host", fail_on="high")
    return AuditReport(run=run, nodes=nodes, findings=findings, checks=checks)
