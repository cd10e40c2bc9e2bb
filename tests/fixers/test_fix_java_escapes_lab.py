"""A repository.path written with single backslashes, end to end over WinRM (NTLM/HTTPS) and
offline: java.util.Properties reads ``\\\\fs01...`` as ``\\fs01...``, so the finding shows the
line as written, the value the service reads and the corrected line; the node probes what the
service reads (not the share the admin meant); ``auditor fix --apply`` writes the path escaped
so the service reads it as intended, and the next audit passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.lab.scenario_builder import SHARED_REPO
from auditor.parsers import PropertiesDocument

pytestmark = pytest.mark.timeout(240)

IMS = Path("files/c/DispatcherParagon/Management/ims/application.properties")
PLAIN = f"repository.path={SHARED_REPO}"  # single backslashes, as an admin plainly writes a UNC path


def cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return res.exit_code, res.output


def plain_on_mgmt2(scenario: Path) -> None:
    path = scenario / "mgmt2" / IMS
    lines = [PLAIN if ln.startswith("repository.path=") else ln for ln in path.read_text().splitlines()]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def repo_finding(report: Path) -> dict:
    findings = json.loads(report.read_text())["findings"]
    return next(f for f in findings if f["check_id"] == "IMS-REPO-SHARED" and f["node"] == "MGMT2")


def test_single_backslash_unc_path_live_offline_and_fixed(fix_lab, tmp_path):
    lab, inv = fix_lab("healthy", prepare=plain_on_mgmt2)
    read = "\\fs01.corp.exampleparagonims-repository"  # \\ -> \, \p -> p, \i -> i
    corrected = "repository.path=" + SHARED_REPO.replace("\\", "\\\\")

    # live, over WinRM: the finding carries the evidence
    code, out = cli("audit", "--inventory", str(inv), "--out", str(tmp_path / "live"), "-q", "--format", "json",
                    "--no-history")
    assert code == 1, out
    live = repo_finding(tmp_path / "live" / "report.json")
    assert live["status"] == "fail"
    assert live["details"]["raw_line"] == PLAIN
    assert live["details"]["read_value"] == read
    assert live["details"]["corrected_line"] == corrected
    assert live["details"]["corrected_line_slashes"] == "repository.path=" + SHARED_REPO.replace("\\", "/")

    # the node probed what the service reads: never the share the admin meant
    code, out = cli("collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"), "--no-progress")
    assert code == 0, out
    probes = json.loads((tmp_path / "snap" / "mgmt2" / "node.json").read_text())["probes"]
    assert SHARED_REPO not in probes
    assert SHARED_REPO in json.loads((tmp_path / "snap" / "mgmt1" / "node.json").read_text())["probes"]

    # offline, from the snapshot: the same finding
    code, out = cli("audit", "--from", str(tmp_path / "snap"), "--out", str(tmp_path / "offline"), "-q",
                    "--format", "json", "--no-history")
    assert code == 1, out
    offline = repo_finding(tmp_path / "offline" / "report.json")
    assert offline["details"] == live["details"]
    assert offline["message"] == live["message"]

    # the fix writes the value escaped; the service now reads the share, and the audit passes
    code, out = cli("fix", "--inventory", str(inv), "--no-progress", "--check", "IMS-REPO-SHARED", "--apply", "--yes")
    assert code == 0, out
    written = (lab.serve_dir / "mgmt2" / IMS).read_bytes()
    assert (corrected + "\r\n").encode() in written
    assert PropertiesDocument(written, "x").get("repository.path") == SHARED_REPO
    code, out = cli("audit", "--inventory", str(inv), "--out", str(tmp_path / "after"), "-q", "--format", "json",
                    "--no-history", "--check", "IMS-REPO-SHARED")
    assert code == 0, out
    assert repo_finding(tmp_path / "after" / "report.json")["status"] == "pass"
