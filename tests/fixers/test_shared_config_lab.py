"""The shared configuration of Management servers through the real CLI, over WinRM (NTLM over
HTTPS, lab) and offline from the collected snapshot: the disagree scenario (one server deviating,
a key missing on one server, a key only one server has, a node-specific key that differs, a
secret that differs) and the tie scenario (two servers, nothing to break the tie) fail exactly
what was planted; the secret's value appears nowhere; ``auditor fix`` aligns the deviating
servers' keys (never the secret), the tie is blocked until declared, and ``auditor drift``
shows the keys the fix changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.lab.scenario_builder import LAB_SHARED_SECRET
from auditor.vocab import ExitStatus

pytestmark = pytest.mark.timeout(300)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
CHECK = "MGMT-CONFIG-CONSISTENT"
MGMT3_SECRET = "another-Secret-77"


def planted(name: str) -> set[tuple[str, str]]:
    return {(p["check_id"], p["node"]) for p in json.loads((SCENARIOS / name / "manifest.json").read_text())["planted"]}


def audit(args: list[str], out: Path, *extra: str) -> tuple[set[tuple[str, str]], dict, str]:
    """(failing (check, node), report.json, everything printed) of one ``auditor audit``."""
    res = CliRunner().invoke(main, ["audit", *args, "--out", str(out), "--format", "json,html", *extra])
    assert res.exit_code in (0, 1), res.output
    data = json.loads((out / "report.json").read_text())
    bad = {(f["check_id"], f["node"]) for f in data["findings"] if f["status"] in ("fail", "error")}
    return bad, data, res.output + (out / "report.html").read_text() + (out / "report.json").read_text()


def live_and_offline(inv: Path, tmp_path: Path) -> tuple[tuple, tuple]:
    live = audit(["--inventory", str(inv)], tmp_path / "live", "--no-history")
    snap = CliRunner().invoke(main, ["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"),
                                     "--no-progress"])
    assert snap.exit_code == 0, snap.output
    return live, audit(["--from", str(tmp_path / "snap")], tmp_path / "offline", "--no-history")


def config_finding(report: dict, node: str) -> dict:
    return next(f for f in report["findings"] if f["check_id"] == CHECK and f["node"] == node)


def test_disagree_fails_exactly_the_planted_live_and_offline(fix_lab, tmp_path):
    _lab, inv = fix_lab("disagree")
    live, offline = live_and_offline(inv, tmp_path)
    assert (live[0], offline[0]) == (planted("disagree"), planted("disagree"))
    # the node-specific key MGMT1 has of its own (cmlJmxServerPort) is no finding
    assert config_finding(live[1], "MGMT1")["status"] == "pass"
    # a key missing on one server, one server deviating, a key only it has, a secret: named with file and line
    m2, m3 = config_finding(offline[1], "MGMT2"), config_finding(offline[1], "MGMT3")
    assert "conf\\management.properties sessionTimeoutMinutes missing here (30 on MGMT1, MGMT3)" in m2["message"]
    assert "ims\\application.properties server.port is 8080 here (5111 on MGMT1, MGMT2)" in m3["message"]
    assert "logging.level.root present only here (DEBUG; absent on MGMT1, MGMT2)" in m3["message"]
    assert "security.token.secret differs (a secret, compared by hash" in m3["message"]
    assert (m3["file"].lower().endswith("management\\ims\\application.properties"), m3["line"]) == (True, 6)
    # the secret's value is nowhere: not printed, not in the JSON or HTML report, live or offline
    text = live[2] + offline[2]
    assert (LAB_SHARED_SECRET in text, MGMT3_SECRET in text) == (False, False)


def test_tie_fails_both_and_the_fix_is_blocked_until_declared(fix_lab, tmp_path):
    _lab, inv = fix_lab("tie")
    live, offline = live_and_offline(inv, tmp_path)
    assert (live[0], offline[0]) == (planted("tie"), planted("tie"))
    assert "declare the intended value in the inventory: shared_config:" in config_finding(live[1], "MGMT1")["message"]
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--check", CHECK, "--no-progress",
                                    "--plan-json", str(tmp_path / "plan.json")])
    assert res.exit_code == 1, res.output
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert (plan["nodes"], [b["nodes"] for b in plan["blocked"]]) == ([], [["MGMT1"], ["MGMT2"]])
    # declared: MGMT2's value is wrong, the fix aligns it and the cluster agrees
    text = inv.read_text().replace("defaults:", "shared_config: {'ims\\application.properties': "
                                               "{server.port: '5111'}}\ndefaults:", 1)
    inv.write_text(text)
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--check", CHECK, "--no-progress", "--apply",
                                    "--yes", "--journal", str(tmp_path / "journal.jsonl")])
    assert res.exit_code == 0, res.output
    after = audit(["--inventory", str(inv), "--check", CHECK], tmp_path / "after", "--no-history")
    assert after[0] == set()


def test_fix_aligns_the_deviating_servers_never_the_secret_and_drift_shows_it(fix_lab, tmp_path):
    _lab, inv = fix_lab("disagree")
    history = ["--history", str(tmp_path / "h.sqlite")]
    audit(["--inventory", str(inv)], tmp_path / "before", *history)
    dry = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--check", CHECK, "--no-progress"])
    assert "security.token.secret: a secret differs; align it by hand" in dry.output
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--check", CHECK, "--no-progress", "--apply",
                                    "--yes", "--journal", str(tmp_path / "journal.jsonl")])
    assert res.exit_code == ExitStatus.APPLIED_BLOCKED, res.output  # the secret still needs the admin
    assert "MGMT3: verified: MGMT-CONFIG-CONSISTENT improved (the blocked items remain)" in res.output
    assert (LAB_SHARED_SECRET in res.output + dry.output, MGMT3_SECRET in res.output + dry.output) == (False, False)
    bad, report, _ = audit(["--inventory", str(inv)], tmp_path / "after", *history)
    assert config_finding(report, "MGMT2")["status"] == "pass"
    assert config_finding(report, "MGMT3")["details"]["problems"] == [
        "ims\\application.properties security.token.secret differs"]
    drift = CliRunner().invoke(main, ["drift", *history, "--json"])
    changes = {(c["node"], c["key"], c["before"], c["after"]) for c in json.loads(drift.output)["config_changes"]}
    assert {("MGMT3", "server.port", "8080", "5111"), ("MGMT3", "logging.level.root", "DEBUG", None),
            ("MGMT2", "sessionTimeoutMinutes", None, "30")} <= changes
