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

from auditor.cli import main
from auditor.manifest import load_manifest
from tests.lab.lab_support import session_for_url

pytestmark = pytest.mark.timeout(60)
HERE = Path(__file__).resolve().parent
PW = "Serve-Pw1!"  # test-only


def _serve(tmp_path: Path, *args: str, password: str | None = PW,
           handler: str | None = "tests.lab.lab_echo_handler:make_handler") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1]) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PARAGON_LAB_PASSWORD", None)
    if password:
        env["PARAGON_LAB_PASSWORD"] = password
    return subprocess.Popen(
        [sys.executable, "-m", "auditor.cli", "lab", "serve", *args, *(["--handler", handler] if handler else [])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 20, written_after: int | None = None) -> None:
    """Until ``path`` exists (and was rewritten since ``written_after``, an mtime in ns)."""
    deadline = time.monotonic() + timeout
    while not path.exists() or (written_after is not None and path.stat().st_mtime_ns == written_after):
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("inventory never written")
        time.sleep(0.05)


def _serve_once(tmp_path: Path, *args: str, password: str | None = PW, stop: int = signal.SIGINT,
                handler: str | None = "tests.lab.lab_echo_handler:make_handler") -> str:
    """Serve until the work folder's inventory is (re)written, then stop; returns stdout."""
    inv = tmp_path / "wd" / "inventory.yaml"
    before = inv.stat().st_mtime_ns if inv.exists() else None
    proc = _serve(tmp_path, *args, password=password, handler=handler)
    try:
        _wait_for(inv, proc, written_after=before)
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return out


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
    assert PW not in out
    assert PW not in err
    assert PW not in inv.read_text()
    assert "SITE2" in out
    assert "refused" in out
    assert f"auditor audit --inventory {inv}" in out
    assert "lab cluster stopped" in out


def test_serve_generated_password_printed_once_and_sigterm(tmp_path):
    out = _serve_once(tmp_path, "drift", "--scheme", "http", "--auth", "both", "--workdir", str(tmp_path / "wd"),
                      password=None, stop=signal.SIGTERM)
    inv = tmp_path / "wd" / "inventory.yaml"
    exports = [line for line in out.splitlines() if "export PARAGON_LAB_PASSWORD=" in line]
    assert len(exports) == 1
    password = exports[0].split("=", 1)[1]
    assert len(password) >= 16
    assert out.count(password) == 1
    assert password not in inv.read_text()


def test_serve_bad_input_is_one_line_error(tmp_path):
    res = CliRunner().invoke(main, ["lab", "serve", str(tmp_path)])
    assert res.exit_code == 2
    assert "not a scenario folder" in res.output
    res = CliRunner().invoke(main, ["lab", "serve", "healthy", "--fault", "NOPE:refuse",
                                    "--handler", "tests.lab.lab_echo_handler:make_handler"])
    assert res.exit_code == 2
    assert "no node 'NOPE'" in res.output


def test_generate(tmp_path):
    out = tmp_path / "big"
    runner = CliRunner()
    res = runner.invoke(main, ["lab", "generate", str(out), "--sites", "12", "--managements", "3"])
    assert res.exit_code == 0, res.output
    manifest = load_manifest(out)
    assert len(manifest.nodes) == 15
    assert sum("management" in n.roles for n in manifest.nodes) == 3
    res = runner.invoke(main, ["lab", "generate", str(out), "--sites", "3"])
    assert res.exit_code == 2
    assert "--force" in res.output
    res = runner.invoke(main, ["lab", "generate", str(out), "--sites", "3", "--force"])
    assert res.exit_code == 0
    assert len(load_manifest(out).nodes) == 5
    other = tmp_path / "notascenario"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    res = runner.invoke(main, ["lab", "generate", str(other), "--force"])
    assert res.exit_code == 2
    assert (other / "precious.txt").exists()


def test_serve_with_the_real_executor(tmp_path):
    """The default handler (auditor.lab.executor) starts and stops cleanly too."""
    pytest.importorskip("auditor.lab.executor")
    out = _serve_once(tmp_path, "healthy", "--scheme", "http", "--workdir", str(tmp_path / "wd"), handler=None)
    assert "MGMT1" in out
    assert "lab cluster stopped" in out


def test_a_kept_work_folder_is_served_again_in_place(tmp_path):
    """What a fix changed in a lab is still there when the lab is served again from its work
    folder (the demo's OUT/lab), and its inventory is rewritten with the new ports."""
    wd = tmp_path / "wd"
    first = _serve_once(tmp_path, "healthy", "--workdir", str(wd))
    assert f"auditor lab serve {wd}" in first
    changed = wd / "scenario" / "mgmt1" / "node.json"
    changed.write_text(changed.read_text() + "\n")  # a fix applied through the lab
    marker = changed.read_text()
    old_ports = yaml.safe_load((wd / "inventory.yaml").read_text())["nodes"]
    second = _serve_once(tmp_path, str(wd))
    assert "served in place" in second
    assert changed.read_text() == marker
    assert yaml.safe_load((wd / "inventory.yaml").read_text())["nodes"] != old_ports


def test_a_work_folder_refuses_another_workdir(tmp_path):
    wd = tmp_path / "wd"
    (wd / "scenario").mkdir(parents=True)
    (wd / "scenario" / "manifest.json").write_text("{}")
    res = CliRunner().invoke(main, ["lab", "serve", str(wd), "--workdir", str(tmp_path / "other")])
    assert res.exit_code == 2
    assert "leave out --workdir" in res.output
