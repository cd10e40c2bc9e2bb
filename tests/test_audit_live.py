"""`auditor audit --inventory` against the simulated lab (real WinRM over NTLM on 127.0.0.1):
the production path collect -> checks -> reports, including an unreachable node."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

pytestmark = pytest.mark.timeout(120)

LAB_PASSWORD_ENV = "PARAGON_LAB_TEST_PW"  # where the ntlm_lab fixture (tests/conftest.py) puts its password
SCENARIOS = Path(__file__).resolve().parent.parent / "auditor" / "lab" / "scenarios"


@pytest.fixture
def lab(ntlm_lab, tmp_path, monkeypatch):
    """``lab(scenario, faults=None)`` -> inventory path; every cluster is stopped at teardown."""
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "history.sqlite"))
    return lambda scenario, faults=None: ntlm_lab(SCENARIOS / scenario, faults)


def test_live_drift_audit(lab, tmp_path):
    inv = lab("drift")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--inventory", str(inv), "--out", str(out), "-q",
                                       "--format", "json,html,junit,csv"])
    assert result.exit_code == 1, result.output
    data = json.loads((out / "report.json").read_text())
    assert data["run"]["source_kind"] == "inventory"
    assert data["run"]["collection_cpu_seconds"] > 0  # the live collection's own CPU on this host
    assert data["run"]["source"] == str(inv)
    assert data["summary"]["nodes_audited"] == 4
    fixable = [f for f in data["findings"] if f["fixable"] and f["status"] == "fail"]
    assert fixable
    assert fixable[0]["fix_command"].startswith(f"auditor fix --inventory {inv} --check ")
    planted = json.loads((SCENARIOS / "drift" / "manifest.json").read_text())["planted"]
    failing = {(f["check_id"], f["node"]) for f in data["findings"] if f["status"] == "fail"}
    assert {(p["check_id"], p["node"]) for p in planted} <= failing
    every = b"".join(p.read_bytes() for p in out.iterdir()) + result.output.encode()
    assert os.environ[LAB_PASSWORD_ENV].encode() not in every


def test_live_unreachable_node_exit_3(lab, tmp_path):
    inv = lab("healthy", faults={"SITE2": {"refuse": True}})
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--inventory", str(inv), "--out", str(out), "-q"])
    assert result.exit_code == 3, result.output
    assert "NOT AUDITED" in result.output
    assert "SITE2" in result.output
    assert "refused" in result.output
    data = json.loads((out / "report.json").read_text())
    site2 = next(n for n in data["nodes"] if n["name"] == "SITE2")
    assert site2["status"] == "refused"
    assert site2["reason"]
    assert data["summary"]["nodes_unreachable"] == 1


def test_live_unknown_node_fails_before_collecting(lab, tmp_path):
    inv = lab("healthy")
    result = CliRunner().invoke(main, ["audit", "--inventory", str(inv), "--out", str(tmp_path / "o"),
                                       "--node", "NOPE"])
    assert result.exit_code == 2
    assert "nodes in this cluster: MGMT1, MGMT2, SITE1, SITE2" in result.output
    assert not (tmp_path / "o").exists()
