"""Over the real WinRM lab (NTLM with encryption), each Management server made unreachable in
turn (its WinRM listener rejects the password) and every inventory address a host name: the
only ``fail`` findings are NODE-REACHABLE and the problems the scenario plants, and
``auditor fix`` plans nothing that depends on the server it could not read."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

pytestmark = pytest.mark.timeout(240)

SCENARIOS = Path(__file__).resolve().parent.parent / "auditor" / "lab" / "scenarios"
PASSWORD = "Pv-4410-audit-Pw!"  # test-only password for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_PARTIAL_TEST_PW"
ADDRESS = {"MGMT1": "10.0.10.11", "MGMT2": "10.0.10.12"}


@pytest.fixture
def lab_without(tmp_path, monkeypatch):
    """``lab_without(scenario, down)`` -> inventory (host-name addresses) of a running lab where
    ``down`` rejects the password; every cluster is stopped at teardown."""
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    started = []

    def make(scenario: str, down: str) -> Path:
        src = tmp_path / f"{scenario}-{down}"
        shutil.copytree(SCENARIOS / scenario, src)
        cluster = LabCluster(src, handler_factory=make_handler, scheme="http", auth="ntlm", password=PASSWORD,
                             workdir=tmp_path / f"lab-{scenario}-{down}", faults={down: {"wrong_password": True}})
        started.append(cluster)
        cluster.start()
        inv = cluster.write_inventory(tmp_path / f"inv-{scenario}-{down}" / "cluster.yaml", password_env=PASSWORD_ENV)
        inv.write_text(re.sub(r"address: 127\.0\.0\.1", "address: localhost", inv.read_text()))
        return inv

    yield make
    for cluster in started:
        cluster.stop()


def failing(report: Path) -> set[tuple[str, str]]:
    data = json.loads(report.read_text())
    return {(f["check_id"], f["node"]) for f in data["findings"] if f["status"] == "fail"}


@pytest.mark.parametrize("scenario", ["healthy", "drift"])
@pytest.mark.parametrize("down", ["MGMT1", "MGMT2"])
def test_only_the_unreachable_node_and_planted_problems_fail(lab_without, tmp_path, scenario, down):
    inv = lab_without(scenario, down)
    assert "address: localhost" in inv.read_text()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--inventory", str(inv), "--out", str(out), "-q", "--format", "json",
                                       "--no-history"])
    assert result.exit_code == 3, result.output
    planted = {(p["check_id"], p["node"])
               for p in json.loads((SCENARIOS / scenario / "manifest.json").read_text())["planted"]}
    assert failing(out / "report.json") - planted == {("NODE-REACHABLE", down)}


@pytest.mark.parametrize("down", ["MGMT1", "MGMT2"])
def test_fix_plans_nothing_that_depends_on_the_unreachable_server(lab_without, tmp_path, down):
    inv = lab_without("drift", down)
    plan_path = tmp_path / "plan.json"
    result = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--remove-stale", "--plan-json",
                                       str(plan_path), "--no-progress"])
    assert result.exit_code == 3, result.output
    plan = json.loads(plan_path.read_text())
    edits = [e for n in plan["nodes"] for e in n["edits"]]
    changed = [line for e in edits for line in e["diff"].splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # the down server's address is neither added nor removed anywhere (lines that name it may be
    # rewritten for another reason, e.g. MGMT2 appended to a list that also names MGMT1)
    removed = sum(line.count(ADDRESS[down]) for line in changed if line.startswith("-"))
    added = sum(line.count(ADDRESS[down]) for line in changed if line.startswith("+"))
    assert added == removed
    assert "SPOC-MGMT-LIST" not in {e["check_id"] for e in edits}
    assert any(f"{down} was not collected" in b["reason"] for b in plan["blocked"]), plan["blocked"]
