"""Secure defaults, through the CLI against the lab: certificate validation is on unless the
command line consents, and Basic over plain HTTP is refused unless the command line consents.
Both refusals happen before any node is contacted (exit 2, one line, nothing written)."""

from __future__ import annotations

import json

import pytest

from tests.hardening import hx_support
from tests.hardening.hx_support import cli_env, rewrite_inventory, run_cli

pytestmark = pytest.mark.timeout(150)
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

PASSWORD = "Sd-6604-defaults-Pw!"  # test-only, for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_DEFAULTS_TEST_PW"
USERNAME = "hx-defaults"
BASE = {"connect_timeout": 2, "read_timeout": 3, "deadline": 8}


def _audit(inv, tmp_path, *flags: str):
    out = tmp_path / "out"
    env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
    run = run_cli(["audit", "--inventory", str(inv), "--out", str(out), "--format", "json", "--no-progress",
                   "--no-history", *flags], env)
    report = json.loads((out / "report.json").read_text(encoding="utf-8")) if (out / "report.json").exists() else None
    return run, report


def test_certificate_validation_is_on_by_default(hard_lab, tmp_path):
    """An inventory that says nothing about certificates validates them: without the lab CA
    (no ca_file), every HTTPS node fails with status tls, none is silently trusted."""
    _, inv = hard_lab("healthy", password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV, scheme="https")
    text = inv.read_text(encoding="utf-8")
    inv.write_text("\n".join(ln for ln in text.splitlines() if "ca_file" not in ln) + "\n", encoding="utf-8")
    rewrite_inventory(inv, BASE)
    run, report = _audit(inv, tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert {n["status"] for n in report["nodes"]} == {"tls"}
    assert all("certificate verify failed" in n["reason"] for n in report["nodes"])


def test_verify_false_needs_the_flag(hard_lab, tmp_path):
    _, inv = hard_lab("healthy", password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV, scheme="https")
    rewrite_inventory(inv, {**BASE, "verify": False})
    run, report = _audit(inv, tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert report is None, run.stdout + run.stderr
    assert "verify: false disables certificate validation" in run.stderr
    assert "--insecure-skip-verify" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
    run, report = _audit(inv, tmp_path, "--insecure-skip-verify")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning: --insecure-skip-verify" in run.stderr
    assert {n["status"] for n in report["nodes"]} == {"ok"}


def test_basic_over_http_needs_the_flag(hard_lab, tmp_path):
    _, inv = hard_lab("healthy", password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV, scheme="http",
                      auth="basic")
    rewrite_inventory(inv, BASE)
    assert "transport: basic" in inv.read_text(encoding="utf-8")
    run, report = _audit(inv, tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert report is None, run.stdout + run.stderr
    assert "clear text" in run.stderr
    assert "--allow-basic-http" in run.stderr
    assert PASSWORD not in run.stderr
    run, report = _audit(inv, tmp_path, "--allow-basic-http")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning: --allow-basic-http" in run.stderr
    assert {n["status"] for n in report["nodes"]} == {"ok"}


@pytest.mark.skipif(__import__("os").name != "posix", reason="POSIX permission bits")
def test_reports_snapshot_and_history_are_owner_only(tmp_path):
    """Everything the auditor writes about the cluster is readable by its owner only: a snapshot
    holds raw configuration files (database passwords included), reports and the history hold
    configuration values. Publishing a report is a deliberate copy, not a default."""
    import stat
    from pathlib import Path

    drift = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "drift"
    env = cli_env(tmp_path)
    history = tmp_path / "hist" / "history.sqlite"
    run = run_cli(["audit", "--from", str(drift), "-o", str(tmp_path / "out"), "--format", "html,json,junit,csv",
                   "--history", str(history), "-q"], env)
    assert run.returncode == 1, run.stderr
    written = [*sorted((tmp_path / "out").iterdir()), *sorted(history.parent.iterdir())]
    assert {p.name for p in written} >= {"report.html", "report.json", "junit.xml", "findings.csv", "history.sqlite"}
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"
