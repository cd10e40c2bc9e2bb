"""The shipped lab scenarios: drift fails exactly where problems were planted, healthy is clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.findings import Severity, Status
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"


def audit(name: str):
    manifest, states = load_cluster_folder(SCENARIOS / name)
    return manifest, run_checks(Cluster.build(states, load_profile()))


def test_drift_fails_exactly_the_planted_problems():
    manifest, findings = audit("drift")
    planted = {(p["check_id"], p["node"]) for p in manifest.planted}
    failing = {(f.check_id, f.node) for f in findings if f.status == Status.FAIL}
    errors = [(f.check_id, f.node, f.message) for f in findings if f.status == Status.ERROR]
    assert errors == []
    assert failing == planted


def test_drift_evidence_is_specific():
    _, findings = audit("drift")
    by = {(f.check_id, f.node): f for f in findings}
    stale = by[("SPOC-MGMT-LIST", "SITE1")]
    assert "stale" in stale.message
    assert stale.line == 12
    assert stale.file.endswith("spoc.conf")
    assert stale.fixable
    assert "MGMT2" in by[("SPOC-MGMT-LIST", "SITE2")].message
    db1 = by[("DB-EXTERNAL", "MGMT1")]
    assert db1.severity == Severity.CRITICAL
    assert any("YSoftPGSQL" in s for s in db1.details["signals"])
    assert any("5433" in s for s in db1.details["signals"])
    assert "MGMT1" in by[("DB-EXTERNAL", "MGMT2")].message
    assert not by[("DB-EXTERNAL", "MGMT1")].fixable


@pytest.mark.parametrize("name", ["healthy", "drift", "etcd-drift"])
def test_every_check_reports_every_node(name):
    manifest, findings = audit(name)
    nodes = {n.name for n in manifest.nodes}
    per_check: dict[str, set] = {}
    for f in findings:
        per_check.setdefault(f.check_id, set()).add(f.node)
    for check_id, seen in per_check.items():
        assert seen == nodes, check_id


def test_healthy_has_no_fail_or_error():
    _, findings = audit("healthy")
    bad = [(f.check_id, f.node, f.status.value, f.message) for f in findings if f.failing]
    assert bad == []
    assert sum(f.status == Status.PASS for f in findings) > 40


@pytest.mark.parametrize("managements,sites", [(1, 0), (1, 3), (3, 5), (4, 30)])
def test_generated_healthy_clusters_are_clean(managements, sites):
    from tests.checks.checklab import Lab

    findings = run_checks(Lab(sites=sites, managements=managements).cluster())
    assert [(f.check_id, f.node, f.message) for f in findings if f.failing] == []
