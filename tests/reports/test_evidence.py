"""Expected/actual evidence rendered by its shape (auditor.reports.evidence): small tables with the
missing, stale and wrong entries marked, never raw JSON; a finding can mark entries itself."""

from __future__ import annotations

import re

from auditor.evidence import Mark, Marks, marks_detail
from auditor.findings import Finding, Severity, Status
from auditor.reports.evidence import evidence_view, text_of
from auditor.reports.html import render_html
from tests.reports.report_fixtures import make_report

MGMT = [{"node": "MGMT1", "guid": "g1", "ip": "10.0.10.11", "port": "6010"},
        {"node": "MGMT2", "guid": "g2", "ip": "10.0.10.12", "port": "6010"}]


def _marks(view) -> list[Mark | None]:
    return [row.mark for row in view.rows]


def test_plain_values_are_two_lines():
    view = evidence_view("domain account", "LocalSystem")
    assert (view.kind, view.expected, view.actual) == ("text", "domain account", "LocalSystem")


def test_no_evidence_no_view():
    assert evidence_view(None, None) is None


def test_lists_compare_by_equality_when_unmarked():
    view = evidence_view(["a", "b"], ["a", "c"])
    assert _marks(view) == [None, Mark.MISSING, Mark.UNEXPECTED]


def test_marks_of_the_check_decide_over_equality():
    # the check knows that 10.0.10.11:8443 is the expected 10.0.10.11
    details = {"marks": marks_detail(expected={1: Mark.MISSING})}
    view = evidence_view(["10.0.10.11", "10.0.10.12"], ["10.0.10.11:8443"], details)
    assert [(r.mark, r.cells[0].text, r.cells[1].text) for r in view.rows] == [
        (None, "10.0.10.11", "10.0.10.11:8443"), (Mark.MISSING, "10.0.10.12", "")]


def test_records_pair_on_shared_fields_and_mark_stale_entries():
    actual = [{"index": 1, "guid": "g1", "ip": "10.0.10.11", "port": "6010"},
              {"index": 2, "guid": "g0", "ip": "10.0.10.10", "port": "6010"}]
    view = evidence_view(MGMT, actual, {"marks": marks_detail(expected={1: Mark.MISSING}, actual={1: Mark.STALE})})
    assert view.headers == ("node", "guid", "ip", "port", "index")
    assert _marks(view) == [None, Mark.MISSING, Mark.STALE]


def test_records_with_a_differing_field_are_wrong_and_show_what_was_expected():
    actual = [{"guid": "g1", "ip": "10.0.10.99", "port": "6010"}, {"guid": "g2", "ip": "10.0.10.12", "port": "6010"}]
    row = evidence_view(MGMT, actual).rows[0]
    ip = row.cells[2]
    assert (row.mark, ip.text, ip.wrong, ip.expected) == (Mark.WRONG, "10.0.10.99", True, "10.0.10.11")


def test_mappings_mark_missing_unexpected_and_wrong_keys():
    view = evidence_view({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"})
    assert [(r.cells[0].text, r.mark) for r in view.rows] == [
        ("a", None), ("b", Mark.WRONG), ("c", Mark.MISSING), ("d", Mark.UNEXPECTED)]


def test_a_list_expected_and_one_value_found_is_still_a_table():
    view = evidence_view(["MGMT1", "MGMT2"], "MGMT1")
    assert _marks(view) == [None, Mark.MISSING]


def test_nested_values_become_short_text_not_json():
    assert text_of({"status": "fail", "ports": [1, 2]}) == "status: fail, ports: 1, 2"


def test_marks_survive_the_json_report():
    detail = marks_detail(expected={0: Mark.MISSING}, actual={2: Mark.WRONG}, fields={2: ["ip"]})
    assert Marks.from_details({"marks": detail}) == Marks(expected={"0": Mark.MISSING}, actual={"2": Mark.WRONG},
                                                          fields={"2": ("ip",)})


def test_malformed_marks_are_ignored():
    assert Marks.from_details({"marks": {"expected": {"0": "bogus"}}}) is None


def test_html_shows_structured_evidence_as_tables_not_json():
    report = make_report()
    report.findings.append(Finding("SPOC-MGMT-LIST", Status.FAIL, Severity.HIGH, "SITE2", "SITE2:x", "m",
                                   expected=MGMT, actual=[MGMT[0]], fixable=True))
    html = render_html(report)
    failing = html[html.index('id="failing"'):html.index('id="matrix"')]
    assert not re.search(r"\[\{|\{&#34;|\[&#34;|&#34;:", failing)
    assert "<td class=\"mark\">missing</td>" in failing
