"""`auditor demo` (what `make demo` runs): real lab over NTLM, real audit, HTML written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1] / "auditor" / "lab" / "scenarios" / "drift"


@pytest.mark.slow
def test_demo_audits_the_drift_scenario_over_ntlm(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Open the HTML report" in proc.stdout
    assert (out / "report.html").stat().st_size > 1000
    report = json.loads((out / "report.json").read_text())
    failing = {(f["check_id"], f["node"]) for f in report["findings"] if f["status"] in ("fail", "error")}
    planted = {(p["check_id"], p["node"]) for p in json.loads((SCENARIO / "manifest.json").read_text())["planted"]}
    assert failing == planted
    # addresses in evidence are the nodes' own, never the lab's loopback endpoints
    assert "127.0.0.1" not in json.dumps([f for f in report["findings"] if f["status"] == "fail"])
    # history is kept beside the report, so a second run can say what changed
    assert (out / "history.sqlite").exists()
