"""A two-interface Management server listed by its other interface, through the real CLI: over
WinRM (NTLM over HTTPS) the audit fails exactly the planted entries (spoc.conf and
infrastructureServiceAddresses), offline from the collected snapshot too, ``auditor fix``
points both at the interface the services bind to, and the cluster then audits clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

pytestmark = pytest.mark.timeout(240)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
PLANTED = {(p["check_id"], p["node"])
           for p in json.loads((SCENARIOS / "two-interfaces" / "manifest.json").read_text())["planted"]}


def failing(args: list[str], out: Path) -> set[tuple[str, str]]:
    res = CliRunner().invoke(main, ["audit", *args, "--out", str(out), "-q", "--format", "json", "--no-history"])
    assert res.exit_code in (0, 1), res.output
    data = json.loads((out / "report.json").read_text())
    return {(f["check_id"], f["node"]) for f in data["findings"] if f["status"] in ("fail", "error")}


def test_other_interface_fails_live_and_offline_and_fix_points_it_at_the_bound_one(fix_lab, tmp_path):
    _lab, inv = fix_lab("two-interfaces")
    live = failing(["--inventory", str(inv)], tmp_path / "live")
    snap = CliRunner().invoke(main, ["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"),
                                     "--no-progress"])
    assert snap.exit_code == 0, snap.output
    offline = failing(["--from", str(tmp_path / "snap")], tmp_path / "offline")
    assert (live, offline) == (PLANTED, PLANTED)
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--no-progress", "--apply", "--yes",
                                    "--journal", str(tmp_path / "journal.jsonl")])
    assert res.exit_code == 0, res.output
    assert "serverIP=10.0.10.11" in res.output
    assert "10.0.10.11:8443" in res.output
    assert failing(["--inventory", str(inv)], tmp_path / "after") == set()
