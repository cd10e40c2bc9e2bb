"""`auditor audit` end to end (offline, --from): formats, exit codes, bad input, escaping."""

from __future__ import annotations

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.reports.jsonschema_lite import validate

SCENARIOS = Path(str(resources.files("auditor.lab").joinpath("scenarios")))
DRIFT = SCENARIOS / "drift"
HEALTHY = SCENARIOS / "healthy"
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "report-schema.json").read_text())
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _history_in_tmp(tmp_path, monkeypatch):
    """Audits record history by default: keep it out of the home folder."""
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "default-history.sqlite"))


def audit(*args: str):
    result = CliRunner().invoke(main, ["audit", *args])
    # never a traceback: only click's own SystemExit may end the command
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def copy_scenario(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def set_node_status(folder: Path, node: str, status: str, reason: str) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    for n in data["nodes"]:
        if n["name"] == node:
            n["status"], n["reason"] = status, reason
    path.write_text(json.dumps(data, indent=2))


# ---- formats against the drift scenario -----------------------------------------------------
@pytest.fixture(scope="module")
def drift_out(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("drift-report")
    result = CliRunner().invoke(main, ["audit", "--from", str(DRIFT), "--out", str(out), "--no-history",
                                       "--format", "html,json,junit,csv"])
    return out, result


def test_drift_exit_code_and_console(drift_out):
    out, result = drift_out
    assert result.exit_code == 1, result.output
    assert "severity" in result.output
    assert "critical" in result.output
    for name in ("report.html", "report.json", "junit.xml", "findings.csv"):
        assert str(out / name) in result.output


def test_drift_json(drift_out):
    out, _ = drift_out
    data = json.loads((out / "report.json").read_text())
    assert validate(data, SCHEMA) == []
    failing = {(f["check_id"], f["node"]) for f in data["findings"] if f["status"] in ("fail", "error")}
    planted = json.loads((DRIFT / "manifest.json").read_text())["planted"]
    for p in planted:
        assert (p["check_id"], p["node"]) in failing
    assert data["run"]["source_kind"] == "snapshot"
    assert data["run"]["collection_cpu_seconds"] is None  # nothing collected by this run
    assert data["run"]["command_line"].startswith("auditor audit --from ")
    assert data["summary"]["nodes_unreachable"] == 0
    assert {c["id"] for c in data["checks"]} >= {p["check_id"] for p in planted}


def test_drift_junit(drift_out):
    out, _ = drift_out
    root = ET.parse(out / "junit.xml").getroot()
    failures = [(c.get("classname"), c.get("name")) for c in root.iter("testcase") if c.find("failure") is not None]
    assert ("SPOC-MGMT-LIST", "SITE2") in [(k, n.split(":")[0]) for k, n in failures]
    data = json.loads((out / "report.json").read_text())
    assert int(root.get("failures")) == data["summary"]["by_status"]["fail"]


def test_drift_csv(drift_out):
    out, _ = drift_out
    rows = list(csv.DictReader((out / "findings.csv").open(newline="", encoding="utf-8")))
    data = json.loads((out / "report.json").read_text())
    assert len(rows) == len(data["findings"])


def test_drift_html(drift_out):
    out, _ = drift_out
    html = (out / "report.html").read_text()
    assert "Dispatcher Paragon cluster audit" in html
    assert "SPOC-MGMT-LIST" in html
    assert "auditor fix --inventory" in html


# ---- exit codes -----------------------------------------------------------------------------
def test_healthy_is_clean(tmp_path):
    result = audit("--from", str(HEALTHY), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "CLEAN" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("high", 1), ("medium", 1), ("never", 0)])
def test_fail_on_threshold(tmp_path, fail_on, code):
    # SPOC-MGMT-LIST findings are high: below critical, at high
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--check", "spoc-mgmt-list", "--fail-on", fail_on)
    assert result.exit_code == code, result.output


def test_fail_on_critical_with_critical_findings(tmp_path):
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--fail-on", "critical", "-q")
    assert result.exit_code == 1  # DB-EXTERNAL is critical
    assert "Failing findings" not in result.output  # --quiet
    assert "severity" in result.output  # the summary table is always printed


def test_unreachable_node_exit_3(tmp_path):
    snap = copy_scenario(HEALTHY, tmp_path / "snap")
    set_node_status(snap, "SITE2", "timeout", "no answer on 10.0.20.11:5986 within 30 s")
    result = audit("--from", str(snap), "--out", str(tmp_path / "out"), "--format", "json,html,junit")
    assert result.exit_code == 3, result.output
    assert "NOT AUDITED" in result.output
    assert "SITE2" in result.output
    assert "timeout" in result.output
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert validate(data, SCHEMA) == []
    assert data["summary"]["nodes_unreachable"] == 1
    node = next(n for n in data["nodes"] if n["name"] == "SITE2")
    assert node["status"] == "timeout"
    assert "5986" in node["reason"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.index('href="#unreachable"') < html.index('id="failing"')  # the verdict banner names them first
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    coll = [c for c in junit.iter("testcase") if c.get("classname") == "auditor.collection" and c.get("name") == "SITE2"]
    assert coll
    assert coll[0].find("error") is not None


def test_unreachable_wins_over_findings_and_fail_on_never(tmp_path):
    snap = copy_scenario(DRIFT, tmp_path / "snap")
    set_node_status(snap, "SITE1", "refused", "connection refused")
    assert audit("--from", str(snap), "--out", str(tmp_path / "a")).exit_code == 3
    assert audit("--from", str(snap), "--out", str(tmp_path / "b"), "--fail-on", "never").exit_code == 3
    # ... unless the unreachable node is outside --node
    assert audit("--from", str(snap), "--out", str(tmp_path / "c"), "--node", "site2").exit_code == 1


def test_node_and_check_filters(tmp_path):
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--node", "site2", "--node", "MGMT1",
                   "--check", "SPOC-MGMT-LIST", "--check", "DB-EXTERNAL")
    data = json.loads((tmp_path / "report.json").read_text())
    assert {f["check_id"] for f in data["findings"]} <= {"SPOC-MGMT-LIST", "DB-EXTERNAL"}
    assert {f["node"] for f in data["findings"]} <= {"SITE2", "MGMT1", None}
    assert data["run"]["only_nodes"] == ["SITE2", "MGMT1"]
    assert data["run"]["only_checks"] == ["SPOC-MGMT-LIST", "DB-EXTERNAL"]
    assert result.exit_code == 1


# ---- bad input: exit 2, one clear line, no traceback ----------------------------------------
def test_bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    bad_json = copy_scenario(HEALTHY, tmp_path / "badjson")
    (bad_json / "manifest.json").write_text("{ not json")
    bad_profile = tmp_path / "profile.yaml"
    bad_profile.write_text("subsystems: [unclosed\n")
    bad_inventory = tmp_path / "inv.yaml"
    bad_inventory.write_text("nodes: {{{\n")
    out = str(tmp_path / "out")
    cases = [
        (["--from", str(tmp_path / "missing")], "does not exist"),
        (["--from", str(empty)], "manifest.json not found"),
        (["--from", str(bad_json)], "invalid JSON"),
        (["--from", str(HEALTHY), "--profile", str(bad_profile)], "invalid YAML"),
        (["--from", str(HEALTHY), "--profile", str(tmp_path / "nope.yaml")], "cannot read profile"),
        (["--from", str(HEALTHY), "--check", "NO-SUCH-CHECK"], "valid ids:"),
        (["--from", str(HEALTHY), "--node", "PRINTSRV9"], "nodes in this cluster: MGMT1, MGMT2, SITE1, SITE2"),
        (["--from", str(HEALTHY), "--format", "html,pdf"], "valid formats: html, json, junit, csv"),
        (["--from", str(HEALTHY), "--fail-on", "urgent"], "urgent"),
        (["--from", str(HEALTHY), "--inventory", str(bad_inventory)], "not both"),
        ([], "--inventory FILE"),
        (["--inventory", str(tmp_path / "missing.yaml")], "missing.yaml"),
        (["--inventory", str(bad_inventory)], "inv.yaml"),
    ]
    for args, expected in cases:
        result = audit(*args, "--out", out)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output, (args, result.output)
    assert not Path(out).exists()  # nothing written on input errors


def test_help_documents_exit_codes():
    result = audit("--help")
    assert result.exit_code == 0
    for text in ("0  clean", "1  fail/error", "2  usage", "3  some node"):
        assert text in result.output


# ---- escaping of a hostile value from a node ------------------------------------------------
def test_hostile_guid_is_text_in_html(tmp_path):
    snap = copy_scenario(DRIFT, tmp_path / "snap")
    conf = snap / "site1" / "files" / "c" / "DispatcherParagon" / "SPOC" / "conf" / "modules" / "spoc.conf"
    text = conf.read_text()
    assert "serverGUID3=6f1c2a00-3b7e-4c1d-9a55-000000000000" in text
    conf.write_text(text.replace("serverGUID3=6f1c2a00-3b7e-4c1d-9a55-000000000000", f"serverGUID3={HOSTILE}"))
    out = tmp_path / "out"
    result = audit("--from", str(snap), "--out", str(out), "--format", "html,json,junit,csv")
    assert result.exit_code == 1, result.output
    data = json.loads((out / "report.json").read_text())
    assert HOSTILE in json.dumps(data, ensure_ascii=False) or HOSTILE in (out / "report.json").read_text()
    html = (out / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    ET.parse(out / "junit.xml")


# ---- history / waivers hooks ----------------------------------------------------------------
def test_history_fills_since_last_run_and_trend(tmp_path):
    db = tmp_path / "h.sqlite"
    first = audit("--from", str(DRIFT), "--out", str(tmp_path / "r1"), "--history", str(db))
    assert first.exit_code == 1
    data1 = json.loads((tmp_path / "r1" / "report.json").read_text())
    assert data1["run"]["run_id"] is not None
    assert data1["since_last_run"] is None
    second = audit("--from", str(DRIFT), "--out", str(tmp_path / "r2"), "--history", str(db),
                   "--format", "html,json")
    assert second.exit_code == 1
    data2 = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert validate(data2, SCHEMA) == []
    assert data2["since_last_run"] is not None
    assert data2["since_last_run"]["new"] == []
    assert len(data2["trend"]) == 2
    html = (tmp_path / "r2" / "report.html").read_text()
    assert 'id="since"' in html
    assert 'id="trend"' in html
    assert "<svg" in html


def test_no_history_has_no_drift_sections(tmp_path):
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--no-history")
    assert result.exit_code == 1
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["run"]["run_id"] is None
    assert data["since_last_run"] is None
    assert data["trend"] is None
    assert not (tmp_path / "default-history.sqlite").exists()


def test_waivers_file(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - check: SPOC-MGMT-LIST\n    node: SITE2\n    reason: WAN <b>upgrade</b>\n"
                       "    owner: print-team@corp.example\n    expires: 2099-12-31\n")
    result = audit("--from", str(DRIFT), "--out", str(tmp_path / "out"), "--no-history", "--waivers", str(waivers),
                   "--check", "SPOC-MGMT-LIST", "--format", "json,html,junit")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert validate(data, SCHEMA) == []
    waived = [f for f in data["findings"] if f["status"] == "waived"]
    assert waived
    assert all(f["node"] == "SITE2" for f in waived)
    assert waived[0]["waiver"]["owner"] == "print-team@corp.example"
    assert result.exit_code == 1  # SITE1's stale entry still fails
    html = (tmp_path / "out" / "report.html").read_text()
    assert "WAN &lt;b&gt;upgrade&lt;/b&gt;" in html
    assert "2099-12-31" in html


def test_history_failure_is_a_warning_not_a_lost_report(tmp_path):
    db = tmp_path / "h.sqlite"
    assert audit("--from", str(HEALTHY), "--out", str(tmp_path / "a"), "--history", str(db)).exit_code == 0
    db.write_bytes(b"this is not a sqlite database" * 100)
    result = audit("--from", str(HEALTHY), "--out", str(tmp_path / "b"), "--history", str(db))
    # a corrupt history file is refused up front (input error), before any work
    assert result.exit_code == 2, result.output


def test_history_hook_failure_becomes_a_warning(tmp_path):
    from auditor.audit import run_audit, write_reports
    from auditor.history.schema import HistoryError
    from auditor.manifest import load_cluster_folder
    from auditor.profile import load_profile

    def broken_history(report, *, nodes, exit_code, model=None):
        raise HistoryError("database is locked")

    _m, states = load_cluster_folder(HEALTHY)
    report = run_audit(states, load_profile(None), history=broken_history)
    assert report.run.warnings == ["history not recorded: database is locked"]
    (html,) = write_reports(report, tmp_path, ["html"])
    assert "history not recorded: database is locked" in html.read_text()


REPO_MESSAGE = ("repository.path C:\\DispatcherParagon\\Management\\ims\\repository is a local drive path, so the "
                "other Management servers cannot share it; the cluster's is \\\\fs01.corp.example\\paragon\\ims-repository, "
                "the value of MGMT1 (the only one that can work)")


def test_console_wraps_to_the_terminal_width(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # the longest unbreakable word (a UNC path) fits the message column
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--no-history")
    table = result.output.split("Failing findings:")[1].split("\n\n")[0]
    assert max(len(line) for line in table.splitlines()) <= 100


def test_console_wide_prints_each_finding_on_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--no-history", "--wide")
    assert any(line.endswith(REPO_MESSAGE) for line in result.output.splitlines())


def test_console_ends_with_next_steps(tmp_path):
    result = audit("--from", str(DRIFT), "--out", str(tmp_path), "--no-history")
    assert "5 finding(s) fixable: auditor fix --inventory INVENTORY.yaml" in result.output.split("Next steps:")[1]
