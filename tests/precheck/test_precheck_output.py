"""One precheck report, three outputs: console, JSON (versioned), HTML (self-contained, escaped)."""

from __future__ import annotations

import json

from auditor.nodestate import NodeStatus, Process
from auditor.precheck.evaluate import evaluate
from auditor.precheck.model import Change, NodeCollection, PrecheckReport, Verdict
from auditor.precheck.output import PRECHECK_FORMAT, render_console, render_html, render_json
from auditor.vocab import ExitStatus
from tests.precheck.precheck_support import situation


def _report(**kw) -> PrecheckReport:
    s = situation(**kw)
    return PrecheckReport(change=Change.ADD_MANAGEMENT, cluster="lab", subject="MGMT3", results=evaluate(s),
                          nodes=[NodeCollection(n.name, tuple(n.roles), n.status, n.reason) for n in s.states],
                          started_at="2026-11-27T10:00:00Z", finished_at="2026-11-27T10:00:05Z", tool_version="t",
                          inventory="cluster.yaml")


def _installer_named(name: str):
    def after(states):
        states["SITE1"].processes.append(Process(name=name, pid=1))
    return after


def test_a_no_go_exits_1_and_says_so_first():
    report = _report(after=_installer_named("ysq-management-server-install.exe"))
    assert report.exit_code is ExitStatus.FINDINGS
    assert render_console(report).splitlines()[2] == "Verdict: NO-GO: 1 no-go item(s)"


def test_a_node_not_collected_exits_3_over_a_no_go():
    report = _report()
    report.nodes[0] = NodeCollection("MGMT1", ("management",), NodeStatus.TIMEOUT, "no answer")
    assert report.exit_code is ExitStatus.UNREACHABLE


def test_the_json_is_versioned_and_carries_every_precondition():
    doc = json.loads(render_json(_report()))
    assert doc["format"] == PRECHECK_FORMAT
    assert len(doc["preconditions"]) == 11


def test_the_json_precondition_names_its_evidence():
    doc = json.loads(render_json(_report(after=_installer_named("ysq-management-server-install.exe"))))
    blocked = {p["id"]: p for p in doc["preconditions"]}["NO-INSTALLER"]
    assert [e["check_id"] for e in blocked["evidence"]] == ["INSTALL-IN-PROGRESS"]


def test_the_html_escapes_text_from_the_nodes():
    report = _report(after=_installer_named("ysq-management-server-install<script>alert(1)</script>.exe"))
    assert report.verdict is Verdict.NO_GO
    html = render_html(report)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_the_html_is_self_contained_with_scoped_table_headers():
    import re

    html = render_html(_report())
    assert re.findall(r"<th[\s>](?![^>]*\bscope=)", html) == []
    assert re.findall(r"\b(?:src|href)=\"(?!#)", html) == []
