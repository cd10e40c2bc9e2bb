"""Console output in a legacy code page: a Windows Task Scheduler job that logs `auditor audit`
to a file writes in cp1252, which has no 'č' or 'Ě'. Node data with such characters (Czech
share and account names are common on Y Soft sites) must not crash the run after the reports
are written: the console escapes what the code page lacks, and the exit code stays the
documented one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DRIFT = Path(__file__).resolve().parents[1] / "auditor" / "lab" / "scenarios" / "drift"
MGMT2_IMS = "mgmt2/files/c/DispatcherParagon/Management/ims/application.properties"


def test_cp1252_console_with_czech_values_does_not_crash(tmp_path):
    scenario = tmp_path / "scenario"
    shutil.copytree(DRIFT, scenario)
    ims = scenario / MGMT2_IMS
    text = ims.read_text(encoding="utf-8")
    lines = [("repository.path=D:\\\\Účetní\\\\Ěčřž" if ln.startswith("repository.path=") else ln)
             for ln in text.splitlines()]
    ims.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", "from auditor.cli import main; main()", "audit", "--from",
                           str(scenario), "-o", str(out), "--no-history"],
                          capture_output=True, env=env, timeout=120)
    stdout = proc.stdout.decode("cp1252")
    assert b"Traceback" not in proc.stderr, proc.stderr.decode("cp1252", "replace")
    assert proc.returncode == 1  # the documented exit code: failing findings, not a crash
    assert "\\u010d" in stdout  # 'č' is not in cp1252: shown as an escape, not a crash
    assert (out / "report.html").read_text(encoding="utf-8").count("Účetní") >= 1  # reports keep UTF-8
