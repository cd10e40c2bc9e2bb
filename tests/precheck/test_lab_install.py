"""``auditor lab install WORKDIR NODE``: the lab's stand-in for the server installer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from auditor.vocab import ExitStatus

SCENARIO = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "add-management"


def _workdir(tmp_path: Path) -> Path:
    shutil.copytree(SCENARIO, tmp_path / "wd" / "scenario")
    return tmp_path / "wd"


def test_installing_mgmt3_swaps_its_served_folder_for_the_installed_one(tmp_path):
    wd = _workdir(tmp_path)
    res = CliRunner().invoke(main, ["lab", "install", str(wd), "mgmt3"])
    assert res.exit_code == 0, res.output
    services = json.loads((wd / "scenario" / "mgmt3" / "node.json").read_text())["services"]
    assert "YSoftIms" in {s["name"] for s in services}


def test_a_node_without_an_installation_is_an_input_error(tmp_path):
    res = CliRunner().invoke(main, ["lab", "install", str(_workdir(tmp_path)), "SITE1"])
    assert res.exit_code == ExitStatus.USAGE
    assert "no installation for node 'SITE1' (installable: mgmt3)" in res.output


def test_installing_mgmt3_joins_it_to_the_etcd_members_every_management_server_reports(tmp_path):
    wd = _workdir(tmp_path)
    CliRunner().invoke(main, ["lab", "install", str(wd), "MGMT3"])
    members = json.loads((wd / "scenario" / "mgmt1" / "node.json").read_text())["etcd"]["members"]
    assert [m["name"] for m in members] == ["MGMT1", "MGMT2", "MGMT3"]
