"""`auditor demo` (what `make demo` runs): real lab over NTLM, real audit, HTML written, and the
commands it prints at the end work when pasted after it exited (the lab's state is kept)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1] / "auditor" / "lab" / "scenarios" / "drift"
BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The demo run as an admin runs it: from a folder, with the default relative --out."""
    cwd = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PARAGON_LAB_PASSWORD", None)
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", "demo"], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)
    return cwd, proc


@pytest.mark.slow
def test_demo_audits_the_drift_scenario_over_ntlm(demo):
    cwd, proc = demo
    out = cwd / "demo-report"
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


@pytest.mark.slow
def test_demo_prints_no_warning(demo):
    _cwd, proc = demo
    assert "warning" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr


def _printed_commands(stdout: str) -> list[str]:
    """The indented command lines of the demo's closing 'next steps' block."""
    tail = stdout[stdout.index("The simulated cluster has stopped"):]
    return [line.strip().split("  #")[0].strip() for line in tail.splitlines() if line.startswith("  ")]


def _start_lab(cwd: Path, serve_line: str, exports: str, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(["bash", "-c", f"{exports}\nexec {serve_line}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    inventory = cwd / "demo-report" / "lab" / "inventory.yaml"
    before = inventory.stat().st_mtime_ns
    while inventory.stat().st_mtime_ns == before:  # rewritten with the new ports once serving
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the lab did not start again"
        time.sleep(0.1)
    return proc


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_commands_printed_by_the_demo_work_after_it_exited(demo):
    cwd, proc = demo
    commands = _printed_commands(proc.stdout)
    exports = "\n".join(c for c in commands if c.startswith("export "))
    serve = next(c for c in commands if c.startswith("auditor lab serve"))
    plan = next(c for c in commands if c.startswith("auditor fix"))
    report = json.loads((cwd / "demo-report" / "report.json").read_text())
    from_report = next(f["fix_command"] for f in report["findings"] if f["fix_command"])
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PARAGON_LAB_PASSWORD", None)
    lab = _start_lab(cwd, serve, exports, env)
    try:
        runs = {cmd: subprocess.run(["bash", "-c", f"{exports}\n{cmd}"], cwd=cwd, env=env, capture_output=True,
                                    text=True, timeout=90) for cmd in (plan, from_report)}
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.communicate(timeout=20)
    for cmd, run in runs.items():
        assert run.returncode in (0, 1), (cmd, run.stdout, run.stderr)  # 1: a dry run with changes planned
        assert "Fix plan for cluster 'drift'" in run.stdout, (cmd, run.stdout)


def test_activation_hint_when_auditor_is_not_on_path(monkeypatch, tmp_path):
    from auditor.lab.demo import activation_hint

    if not (Path(BIN) / "activate").is_file():
        pytest.skip("not running from a virtual environment")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert activation_hint() == f". {Path(BIN) / 'activate'}"


def test_no_activation_hint_when_this_auditor_is_on_path(monkeypatch):
    from auditor.lab.demo import activation_hint

    monkeypatch.setenv("PATH", BIN)
    assert activation_hint() is None
