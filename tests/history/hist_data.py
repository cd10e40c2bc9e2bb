"""Data builders shared by the history tests: three runs that change between runs."""

from __future__ import annotations

from dataclasses import replace

from auditor.expectations import ExpectationSource, Expected
from auditor.findings import Finding, Severity, Status
from auditor.history import ConfigValue, NodeRecord, RunRecord

NODES = [NodeRecord("MGMT1"), NodeRecord("MGMT2"), NodeRecord("SITE1")]
CONF = r"C:\DispatcherParagon\Management\conf\db.properties"


def f(check: str, subject: str, status: str, severity: str = "high", node: str | None = None,
      actual=None, expected=None, message: str = "") -> Finding:
    return Finding(check_id=check, status=Status(status), severity=Severity(severity),
                   node=node if node is not None else subject.split(":")[0], subject=subject,
                   message=message or f"{check} {status} on {subject}", expected=expected, actual=actual)


def run1_findings() -> list[Finding]:
    """Run 1: the 'drift' scenario: a SPOC missing a management server, config differs."""
    return [
        replace(f("SPOC-MGMT-LIST", "SITE1", "fail", "high", actual=["MGMT1"], expected=["MGMT1", "MGMT2"]),
                expected_sources={"MGMT2 GUID": Expected("g2", ExpectationSource.DECLARED, "cluster.yaml line 9")}),
        f("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost", "fail", "medium", actual="db2", expected="db1"),
        f("SERVICE-RUNNING", "MGMT1:YSoftSQ-LDAP", "pass", "high"),
        f("SERVICE-RUNNING", "MGMT2:YSoftSQ-LDAP", "pass", "high"),
        f("EMBEDDED-DB", "MGMT1", "skip", "critical"),
    ]


def run2_findings() -> list[Finding]:
    """Run 2: SPOC list fixed, a service stopped on MGMT1 (new)."""
    return [
        f("SPOC-MGMT-LIST", "SITE1", "pass", "high", actual=["MGMT1", "MGMT2"], expected=["MGMT1", "MGMT2"]),
        f("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost", "fail", "medium", actual="db2", expected="db1"),
        f("SERVICE-RUNNING", "MGMT1:YSoftSQ-LDAP", "fail", "high", actual="Stopped", expected="Running"),
        f("SERVICE-RUNNING", "MGMT2:YSoftSQ-LDAP", "pass", "high"),
        f("EMBEDDED-DB", "MGMT1", "skip", "critical"),
    ]


def run3_findings() -> list[Finding]:
    """Run 3: same findings, but the config drift is now rated high (a changed finding)."""
    out = run2_findings()
    out[1] = f("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost", "fail", "high", actual="db2", expected="db1")
    return out


def config(cml_port: str, password: str, extra: bool = False) -> list[tuple[str, str, str, str]]:
    rows = [
        ("MGMT1", CONF, "dbHost", "db1"),
        ("MGMT1", CONF, "cmlPort", cml_port),
        ("MGMT1", CONF, "dbPassword", password),
        ("MGMT2", CONF, "dbHost", "db2"),
        ("MGMT2", CONF, "cmlPort", "8080"),
        ("MGMT2", CONF, "dbPassword", password),
    ]
    if extra:
        rows.append(("MGMT1", CONF, "jvmRoute", "mgmt1"))
    return rows


def make_run(findings: list[Finding], cfg, nodes=None, *, cluster: str = "PROD", when: str = "01") -> RunRecord:
    return RunRecord(
        findings=findings,
        nodes=list(nodes or NODES),
        config_values=[ConfigValue(*c) for c in cfg],
        started_at=f"2026-11-{when}T01:00:00Z",
        finished_at=f"2026-11-{when}T01:02:00Z",
        profile="default (builtin, sha256 0123456789ab)",
        source="winrm",
        cluster=cluster,
        exit_code=1,
    )


def config_drift(before, after, tmp_path) -> set[tuple]:
    """(node, file, key, before, after) of every config change between two recorded runs, one
    of node state ``before`` and one of ``after`` (the same node)."""
    from auditor.history import compare_runs, connect, record_run
    from auditor.history.config_values import config_values_from_nodes

    db = connect(tmp_path / "h.sqlite")
    ids = [record_run(db, RunRecord(findings=[], nodes=[NodeRecord(n.name, "ok")], cluster="c",
                                    config_values=config_values_from_nodes([n]))) for n in (before, after)]
    changes = compare_runs(db, *ids).config_changes
    db.close()
    return {(c.node, c.file, c.key, c.before, c.after) for c in changes}
