"""Declarations end to end through the real CLI: the inventory's declared values reach the checks
over WinRM (lab, NTLM with encryption), are recorded by ``auditor collect`` in the snapshot, and
``auditor audit --from`` judges against the same values; the finding says where each expected
value came from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.declared import Declarations, NodeDeclarations
from auditor.manifest import load_manifest, save_manifest

pytestmark = pytest.mark.timeout(180)

SCENARIOS = Path(__file__).resolve().parent.parent / "auditor" / "lab" / "scenarios"
PASSWORD = "Dc-7731-audit-Pw!"  # test-only password for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_DECLARED_TEST_PW"
WRONG_GUID = "6f1c2a01-0000-0000-0000-00000000beef"


def declaring_scenario(tmp_path: Path) -> Path:
    """The healthy scenario whose manifest declares a GUID for MGMT1 that MGMT1 does not have."""
    src = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "healthy", src)
    manifest = load_manifest(src)
    manifest.declared = Declarations(source="site-inventory.yaml",
                                     nodes={"MGMT1": NodeDeclarations(guid=WRONG_GUID, cml_port=6010)},
                                     lines={"nodes.mgmt1.guid": 12, "nodes.mgmt1.cml_port": 13})
    save_manifest(manifest, src)
    return src


def declared_finding(report_dir: Path) -> dict:
    data = json.loads((report_dir / "report.json").read_text())
    return next(f for f in data["findings"] if f["check_id"] == "MGMT-DECLARED" and f["node"] == "MGMT1")


def audit(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["audit", *args, "-q", "--format", "json", "--no-history"])
    assert result.exit_code in (0, 1), result.output


def test_offline_audit_judges_against_the_manifest_declarations(tmp_path):
    audit(["--from", str(declaring_scenario(tmp_path)), "--out", str(tmp_path / "out")])
    f = declared_finding(tmp_path / "out")
    assert (f["status"], f["expected_sources"]["MGMT1 GUID"]) == (
        "fail", {"value": WRONG_GUID, "source": "declared", "detail": "site-inventory.yaml line 12"})


@pytest.fixture
def served(tmp_path, monkeypatch):
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    cluster = LabCluster(declaring_scenario(tmp_path), handler_factory=make_handler, scheme="http", auth="ntlm",
                         password=PASSWORD, workdir=tmp_path / "lab")
    cluster.start()
    try:
        yield cluster.write_inventory(tmp_path / "inv" / "cluster.yaml", password_env=PASSWORD_ENV)
    finally:
        cluster.stop()


def test_live_audit_and_its_snapshot_judge_against_the_inventory_declarations(served, tmp_path):
    audit(["--inventory", str(served), "--out", str(tmp_path / "live")])
    live = declared_finding(tmp_path / "live")
    collected = CliRunner().invoke(main, ["collect", "--inventory", str(served), "--out", str(tmp_path / "snap"),
                                          "--no-progress"])
    assert collected.exit_code == 0, collected.output
    audit(["--from", str(tmp_path / "snap"), "--out", str(tmp_path / "offline")])
    offline = declared_finding(tmp_path / "offline")
    line = next(i for i, text in enumerate(served.read_text().splitlines(), 1) if "MGMT1" in text)
    assert (live["status"], live["expected_sources"], offline["expected_sources"]) == (
        "fail", {"MGMT1 GUID": {"value": WRONG_GUID, "source": "declared", "detail": f"{served} line {line}"},
                 "MGMT1 CML port": {"value": 6010, "source": "declared", "detail": f"{served} line {line}"}},
        live["expected_sources"])
