"""The console summary is actionable: it uses the terminal's width and wraps instead of cutting,
drops columns that repeat another, and ends with the next steps and one line of what changed
since the last run."""

from __future__ import annotations

from pathlib import Path

from auditor.reports.console import render_console
from tests.reports.report_fixtures import SINCE, make_report

LONG = ("the database runs on Management server MGMT1 (dbHost=10.0.10.11) and every other node "
        "points at it as well, so one disk failure stops printing everywhere; expected: external")


def _failing_rows(text: str) -> list[str]:
    part = text.split("Failing findings:", 1)[1].split("\n\n", 1)[0]
    return part.strip("\n").splitlines()[2:]  # after the header and the rule


def test_long_messages_wrap_to_the_width_instead_of_being_cut():
    report = make_report()
    report.findings[5].message = LONG  # DB-EXTERNAL
    text = render_console(report, width=100)
    words = " ".join(" ".join(_failing_rows(text)).split())
    assert "expected: external" in words


def test_wrapped_lines_fit_the_width():
    report = make_report()
    report.findings[5].message = LONG
    # 120: the widest unbreakable word (a GUID) fits the message column; words are never split
    assert max(len(line) for line in _failing_rows(render_console(report, width=120))) <= 120


def test_wide_keeps_one_line_per_finding():
    report = make_report()
    report.findings[5].message = LONG
    rows = _failing_rows(render_console(report, width=None))
    assert len(rows) == len(report.failing_findings)


def test_a_subject_that_repeats_the_node_gets_no_column():
    report = make_report()
    report.findings = [f for f in report.findings if f.subject in (f.node, "cluster")]
    header = render_console(report).split("Failing findings:", 1)[1].splitlines()[1]
    assert header.split() == ["severity", "status", "check", "node", "message"]


def test_a_subject_that_adds_to_the_node_is_shown_as_item():
    text = render_console(make_report())
    row = next(line for line in _failing_rows(text) if "SVC-RUNNING" in line)
    assert row.split()[4] == "SPOC"  # subject SITE1:SPOC on node SITE1


def test_next_steps_name_the_fix_command_for_the_inventory_audited():
    report = make_report()
    report.run.source_kind, report.run.source = "inventory", "site a/cluster.yaml"
    text = render_console(report, [Path("out/report.html")])
    assert "3 finding(s) fixable: auditor fix --inventory 'site a/cluster.yaml'" in text


def test_next_steps_say_what_is_left_to_repair_by_hand():
    text = render_console(make_report(), [Path("out/report.html")])
    assert "2 finding(s) to repair by hand: see out/report.html" in text  # DB-EXTERNAL and an error


def test_next_steps_after_a_snapshot_audit_name_an_inventory_to_substitute():
    assert "auditor fix --inventory INVENTORY.yaml" in render_console(make_report())


def test_one_line_of_change_since_the_last_run():
    text = render_console(make_report(since_last_run=SINCE))
    assert text.rstrip().splitlines()[-1].startswith("Since the previous run (run 41, 2026-11-24T05:00:08Z): "
                                                     "1 new, 1 resolved failing finding(s)")


def test_first_recorded_run_says_so():
    report = make_report()
    report.run.run_id = 1
    assert text_last_line(render_console(report)).startswith("First run recorded for this cluster")


def test_a_clean_run_says_there_is_nothing_to_do():
    report = make_report()
    report.findings = [f for f in report.findings if not f.failing]
    assert "Nothing to do" in render_console(report)


def text_last_line(text: str) -> str:
    return text.rstrip().splitlines()[-1]
