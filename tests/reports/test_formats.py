"""Every report format, rendered from reports built directly from Finding/NodeState objects."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.audit import exit_code_for, parse_formats, write_reports
from auditor.errors import InputError
from auditor.expectations import ExpectationSource
from auditor.findings import Finding, Severity, Status
from auditor.reports import RENDERERS, render_csv, render_html, render_json, render_junit
from auditor.reports.console import render_console
from auditor.reports.html import trend_svg
from auditor.reports.matrix import status_matrix, summary_counts
from auditor.reports.model import AuditReport, redact_argv
from tests.reports.jsonschema_lite import validate
from tests.reports.report_fixtures import CHECKS, HOSTILE, SINCE, TREND, make_report

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report-schema.json").read_text())


# ---- model / matrix -------------------------------------------------------------------------
def test_matrix_worst_status_per_cell(report):
    m = status_matrix(report)
    assert m.loc["SITE1", "SPOC-MGMT-LIST"] == "fail"
    assert m.loc["MGMT1", "SPOC-MGMT-LIST"] == "pass"
    assert m.loc["(cluster)", "DB-EXTERNAL"] == "fail"
    assert m.loc["MGMT2", "SVC-RUNNING"] == "waived"
    assert m.loc["SITE1", "SVC-RUNNING"] == "error"
    assert m.loc["MGMT2", "SPOC-MGMT-LIST"] == "-"
    # fail beats pass in one cell
    report.findings.append(Finding("SPOC-MGMT-LIST", Status.FAIL, Severity.HIGH, "MGMT1", "MGMT1:x", "m"))
    assert status_matrix(report).loc["MGMT1", "SPOC-MGMT-LIST"] == "fail"


def test_matrix_marks_unreachable_nodes():
    r = make_report(unreachable=True)
    r.findings = [f for f in r.findings if f.node != "SITE2"]
    m = status_matrix(r)
    assert set(m.loc["SITE2"]) == {"unreachable"}


def test_summary_counts(report):
    s = summary_counts(report)
    assert s["findings_total"] == 9
    assert s["by_status"] == {"pass": 2, "fail": 4, "error": 1, "skip": 1, "waived": 1}
    assert s["failing_by_severity"] == {"critical": 1, "high": 3, "medium": 1, "low": 0, "info": 0}
    assert s["failing_at_or_above_fail_on"] == 4  # fail_on high: critical 1 + high 3
    assert s["nodes_unreachable"] == 0


def test_empty_report_renders_everywhere():
    r = make_report()
    r.findings = []
    for _name, (_fn, render) in RENDERERS.items():
        assert render(r)
    assert summary_counts(r)["findings_total"] == 0
    assert exit_code_for(r, "info") == 0


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 1), ("high", 1), ("never", 0)])
def test_exit_code_thresholds(report, fail_on, code):
    assert exit_code_for(report, fail_on) == code


def test_exit_code_threshold_excludes_lower():
    r = make_report()
    r.findings = [f for f in r.findings if f.severity != Severity.CRITICAL]
    assert exit_code_for(r, "critical") == 0
    assert exit_code_for(r, "high") == 1


def test_unreachable_wins_over_findings():
    r = make_report(unreachable=True)
    assert exit_code_for(r, "high") == 3
    assert exit_code_for(r, "never") == 3


def test_redact_argv():
    text = redact_argv(["auditor", "audit", "--password", "hunter2", "--token=abc", "db.password=x", "--out", "r"])
    assert "hunter2" not in text
    assert "abc" not in text
    assert "=x" not in text
    assert "--out r" in text


def test_parse_formats():
    assert parse_formats("HTML, json,html") == ["html", "json"]
    with pytest.raises(InputError, match="valid formats: html, json, junit, csv"):
        parse_formats("html,pdf")


# ---- JSON -----------------------------------------------------------------------------------
def test_json_validates_and_round_trips(full_report):
    data = json.loads(render_json(full_report))
    assert validate(data, SCHEMA) == []
    assert data["report_schema_version"] == 1
    f = next(x for x in data["findings"] if x["subject"] == "SITE1:serverGUID3")
    for key in ("check_id", "severity", "status", "node", "subject", "message", "expected", "actual",
                "fixable", "file", "line", "waiver"):
        assert key in f
    assert f["fix_command"] == "auditor fix --inventory INVENTORY.yaml --check SPOC-MGMT-LIST --node SITE1"
    again = AuditReport.from_dict(data)
    assert json.loads(render_json(again)) == data


def test_json_finding_says_where_each_expected_value_came_from(report):
    data = json.loads(render_json(report))
    f = next(x for x in data["findings"] if x["subject"] == "SITE2")
    assert f["expected_sources"]["MGMT2 GUID"] == {"value": "6f1c2a02-3b7e-4c1d-9a55-000000000002",
                                                   "source": "consensus",
                                                   "detail": "inferred from 37 of 40 Spooler Controllers"}


def test_expected_sources_round_trip_as_typed_values(report):
    again = AuditReport.from_dict(json.loads(render_json(report)))
    f = next(x for x in again.findings if x.subject == "SITE2")
    assert f.expected_sources["MGMT2 CML port"].source == ExpectationSource.PROFILE_DEFAULT


def test_schema_refuses_an_unknown_expectation_source(report):
    data = json.loads(render_json(report))
    next(x for x in data["findings"] if x["subject"] == "SITE2")["expected_sources"]["MGMT2 GUID"]["source"] = "guess"
    assert any("guess" in e for e in validate(data, SCHEMA))


def test_schema_validator_catches_problems(report):
    data = json.loads(render_json(report))
    data["findings"][0]["severity"] = "urgent"
    data["run"]["surprise"] = 1
    del data["summary"]["by_status"]["pass"]
    errors = validate(data, SCHEMA)
    assert any("urgent" in e for e in errors)
    assert any("surprise" in e for e in errors)
    assert any("'pass'" in e for e in errors)


def test_json_with_jsonschema_if_installed(full_report):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed; the lite validator covers it")
    jsonschema.validate(json.loads(render_json(full_report)), SCHEMA)


# ---- JUnit ----------------------------------------------------------------------------------
def test_junit_structure(full_report):
    root = ET.fromstring(render_junit(full_report).encode("utf-8"))
    assert root.tag == "testsuites"
    cases = root.iter("testcase")
    by = {(c.get("classname"), c.get("name")): c for c in cases}
    fail = by[("SPOC-MGMT-LIST", "SITE1:serverGUID3")]
    failure = fail.find("failure")
    assert failure is not None
    assert HOSTILE in failure.get("message")
    assert "expected:" in failure.text
    assert "actual:" in failure.text
    assert by[("SVC-RUNNING", "SITE1:SPOC")].find("error") is not None
    assert by[("SVC-RUNNING", "MGMT1:SPOC")].find("skipped") is not None
    waived = by[("SVC-RUNNING", "MGMT2:YSoftIMS")].find("skipped")
    assert "decommissioning" in waived.get("message")
    assert list(by[("SPOC-MGMT-LIST", "MGMT1")]) == []
    assert by[("auditor.collection", "SITE2")].find("error") is not None
    assert root.get("tests") == str(len(full_report.findings) + len(full_report.nodes))
    assert root.get("failures") == "4"
    assert root.get("errors") == "2"  # check error + unreachable node


def test_junit_strips_control_characters(full_report):
    text = render_junit(full_report)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    ET.fromstring(text.encode("utf-8"))  # parses


# ---- CSV ------------------------------------------------------------------------------------
def test_csv_one_row_per_finding(full_report):
    rows = list(csv.DictReader(io.StringIO(render_csv(full_report))))
    assert len(rows) == len(full_report.findings)
    row = next(r for r in rows if r["subject"] == "SITE1:serverGUID3")
    assert row["severity"] == "high"
    assert row["status"] == "fail"
    assert row["line"] == "12"
    assert HOSTILE in row["actual"]
    waived = next(r for r in rows if r["status"] == "waived")
    assert waived["waiver_owner"] == "jane"
    assert waived["waiver_expires"] == "2026-12-31"


def test_csv_neutralises_formulas(report):
    report.findings[1].actual = "=HYPERLINK(\"http://evil\",\"x\")"
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    row = next(r for r in rows if r["subject"] == "SITE1:serverGUID3")
    assert row["actual"].startswith("'=")


# ---- console --------------------------------------------------------------------------------
def test_console_summary(full_report, tmp_path):
    text = render_console(full_report, [tmp_path / "report.html"])
    assert "severity" in text
    assert "critical" in text
    assert "NOT AUDITED" in text
    assert "SITE2" in text
    assert "timeout" in text
    assert str(tmp_path / "report.html") in text
    assert "Failing findings" in text
    assert "\x00" not in text
    assert "\x1b" not in text
    quiet = render_console(full_report, [], details=False)
    assert "Failing findings" not in quiet
    assert "NOT AUDITED" in quiet


# ---- HTML -----------------------------------------------------------------------------------
def test_html_escapes_hostile_values(full_report):
    html = render_html(full_report)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>soon</b>" not in html  # waiver reason
    assert "<script" not in html.lower()
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", html)
    assert "\\x00\\x07" in html  # control characters shown, not swallowed


def test_html_shows_where_expected_values_came_from(report):
    html = render_html(report)
    assert "consensus: inferred from 37 of 40 Spooler Controllers" in html


def test_html_escapes_expectation_details(full_report):
    html = render_html(full_report)
    assert "profile default: &lt;script&gt;" in html


def test_html_is_self_contained(full_report):
    html = render_html(full_report)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert "url(" not in html


def test_html_sections(full_report):
    html = render_html(full_report)
    # leads with what to do: verdict, failing findings, changes, unreachable nodes, matrix, the rest
    order = ["summary", "failing", "since", "trend", "unreachable", "matrix", "waived", "passing", "nodes",
             "checks", "run"]
    positions = [html.index(f'id="{s}"') for s in order]
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert html.index('href="#unreachable"') < html.index('id="failing"')  # the banner names them at once
    assert "<svg" in html
    assert "NOT AUDITED" in html
    assert "FAIL" in html  # text, not colour only
    assert "auditor fix --inventory INVENTORY.yaml --check SPOC-MGMT-LIST --node SITE1" in html
    assert "jane" in html
    assert "2026-12-31" in html
    for check in CHECKS:
        assert check.remediation in html
    assert "Compared with the previous run (run 41" in html


def test_html_optional_sections_absent(report):
    html = render_html(report)
    assert 'id="since"' not in html
    assert 'id="trend"' not in html
    assert "<svg" not in html
    assert 'id="unreachable"' not in html


def test_trend_svg_escapes_and_scales():
    trend = [dict(TREND[0], finished_at=HOSTILE), *TREND[1:]]
    svg = str(trend_svg(trend))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert HOSTILE not in svg
    assert "&lt;script&gt;" in svg
    ET.fromstring(svg)  # well-formed
    assert trend_svg(None) is None
    assert trend_svg([]) is None
    assert "<rect" in str(trend_svg([{"run_id": 1, "finished_at": None, "failing": {}}]))


def test_write_reports(full_report, tmp_path):
    out = tmp_path / "a" / "b"
    written = write_reports(full_report, out, ["html", "json", "junit", "csv"])
    assert [p.name for p in written] == ["report.html", "report.json", "junit.xml", "findings.csv"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temp files left


def test_since_last_run_shape_from_history(full_report):
    assert full_report.since_last_run is SINCE
    html = render_html(full_report)
    assert "unreachable" in html
    assert "now_status" not in html
    assert "&rarr; pass" in html or "→ pass" in html


def test_schema_doc_mentions_every_field():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "report-schema.md").read_text()
    for part in ("run", "node", "finding", "summary", "check", "product_model", "product_fact"):
        for key in SCHEMA["$defs"][part]["properties"]:
            assert f"`{key}`" in doc, (part, key)
    for key in SCHEMA["properties"]:
        assert f"`{key}`" in doc, key


def test_html_matrix_large_cluster_folds_quiet_nodes():
    from auditor.reports.model import NodeInfo

    r = make_report()
    r.nodes = [NodeInfo(name=f"SITE{i:03d}", roles=["site"]) for i in range(40)]
    r.nodes[5].status, r.nodes[5].reason = "timeout", "no answer"
    r.findings = [Finding(c.id, Status.FAIL if (n.name, c.id) == ("SITE007", "DB-EXTERNAL") else Status.PASS,
                          c.severity, n.name, n.name, "m") for n in r.nodes if n.audited for c in CHECKS]
    html = render_html(r)
    assert 'class="matrix wide"' in html
    matrix = html[html.index('id="matrix"'):html.index('id="waived"')]
    assert '<th scope="row">SITE007' in matrix
    assert '<th scope="row">SITE005' in matrix  # failing and unreachable
    assert "38 node(s) with every check ok" in matrix
    assert '<th scope="row">SITE001' not in matrix
    assert "<details>" in matrix  # collapsed: 40 nodes


def test_fix_command_extra_args_and_quoting(report):
    from auditor.reports.model import fix_command

    f = report.findings[1]
    f.details = {"fix_args": ["--remove-stale"]}
    assert fix_command(f, report).endswith("--check SPOC-MGMT-LIST --node SITE1 --remove-stale")
    report.run.source_kind, report.run.source = "inventory", "C:/My Inventories/prod cluster.yaml"
    assert "--inventory 'C:/My Inventories/prod cluster.yaml'" in fix_command(f, report)
    f.details = {"fix_args": "--rm -rf"}  # not a list: ignored
    assert fix_command(f, report).endswith("--node SITE1")
