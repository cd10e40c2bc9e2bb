"""``auditor lab serve`` / ``auditor lab generate`` as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from lab_support import session_for_url

from auditor.cli import main
from auditor.manifest import load_manifest

pytestmark = pytest.mark.timeout(60)
HERE = Path(__file__).resolve().parent
PW = "Serve-Pw1!"  # test-only


def _serve(tmp_path: Path, *args: str, password: str | None = PW) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PARAGON_LAB_PASSWORD", None)
    if password:
        env["PARAGON_LAB_PASSWORD"] = password
    return subprocess.Popen(
        [sys.executable, "-m", "auditor.cli", "lab", "serve", *args, "--handler", "lab_echo_handler:make_handler"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("inventory never written")
        time.sleep(0.05)


def test_serve_until_sigint(tmp_path):
    inv = tmp_path / "out" / "inventory.yaml"
    proc = _serve(tmp_path, "healthy", "--inventory-out", str(inv), "--fault", "SITE2:refuse",
                  "--workdir", str(tmp_path / "wd"))
    try:
        _wait_for(inv, proc)
        data = yaml.safe_load(inv.read_text())
        node = data["nodes"][0]
        url = f"https://127.0.0.1:{node['port']}/wsman"
        r = session_for_url(url, transport="ntlm", password=PW, ca_file=inv.parent / "lab-ca.pem").run_ps("hostname")
        assert r.std_out == b"MGMT1\r\n"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert PW not in out and PW not in err and PW not in inv.read_text()
    assert "SITE2" in out and "refused" in out
    assert f"auditor audit --inventory {inv}" in out
    assert "lab cluster stopped" in out


def test_serve_generated_password_printed_once_and_sigterm(tmp_path):
    proc = _serve(tmp_path, "drift", "--scheme", "http", "--auth", "both", "--workdir", str(tmp_path / "wd"),
                  password=None)
    inv = tmp_path / "wd" / "inventory.yaml"
    try:
        _wait_for(inv, proc)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    exports = [line for line in out.splitlines() if "export PARAGON_LAB_PASSWORD=" in line]
    assert len(exports) == 1
    password = exports[0].split("=", 1)[1]
    assert len(password) >= 16 and out.count(password) == 1
    assert password not in inv.read_text()


def test_serve_bad_input_is_one_line_error(tmp_path):
    res = CliRunner().invoke(main, ["lab", "serve", str(tmp_path)])
    assert res.exit_code == 2 and "not a scenario folder" in res.output
    res = CliRunner().invoke(main, ["lab", "serve", "healthy", "--fault", "NOPE:refuse",
                                    "--handler", "lab_echo_handler:make_handler"])
    assert res.exit_code == 2 and "no node 'NOPE'" in res.output


def test_generate(tmp_path):
    out = tmp_path / "big"
    runner = CliRunner()
    res = runner.invoke(main, ["lab", "generate", str(out), "--sites", "12", "--managements", "3"])
    assert res.exit_code == 0, res.output
    manifest = load_manifest(out)
    assert len(manifest.nodes) == 15
    assert sum("management" in n.roles for n in manifest.nodes) == 3
    res = runner.invoke(main, ["lab", "generate", str(out), "--sites", "3"])
    assert res.exit_code == 2 and "--force" in res.output
    res = runner.invoke(main, ["lab", "generate", str(out), "--sites", "3", "--force"])
    assert res.exit_code == 0 and len(load_manifest(out).nodes) == 5
    other = tmp_path / "notascenario"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    res = runner.invoke(main, ["lab", "generate", str(other), "--force"])
    assert res.exit_code == 2 and (other / "precious.txt").exists()


def test_serve_with_the_real_executor(tmp_path):
    """The default handler (auditor.lab.executor) starts and stops cleanly too."""
    pytest.importorskip("auditor.lab.executor")
    env = dict(os.environ, PARAGON_LAB_PASSWORD=PW)
    inv = tmp_path / "wd" / "inventory.yaml"
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "lab", "serve", "healthy", "--scheme", "http",
                             "--workdir", str(tmp_path / "wd")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        _wait_for(inv, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "MGMT1" in out and "lab cluster stopped" in out
