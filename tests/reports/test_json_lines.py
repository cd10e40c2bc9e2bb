"""The JSON report encodes each finding's line itself (auditor.reports.json_report.finding_lines);
finding_to_dict stays the definition of a finding's JSON, so the two must give the same text
for every kind of value a check can put in a finding."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from auditor.audit import run_audit
from auditor.expectations import ExpectationSource, Expected
from auditor.findings import Finding, Severity, Status
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile
from auditor.reports import render_json
from auditor.reports.json_report import _OPTS, _line_encoder, finding_lines
from auditor.reports.model import finding_to_dict
from tests.reports.report_fixtures import make_report

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor/lab/scenarios"


def _reference(report) -> list[str]:
    item = _line_encoder(_OPTS)
    return [item(finding_to_dict(f, report)) for f in report.sorted_findings]


class Odd:
    """An object no JSON encoder knows: the report writes its str()."""

    def __str__(self) -> str:
        return "odd <value>"


def _odd_findings() -> list[Finding]:
    shared = {"version": Expected("6.0.112", ExpectationSource.CONSENSUS, "all 2 agree")}
    return [
        Finding("X-ODD", Status.FAIL, Severity.HIGH, "N\u00e9\u2603", "s\x00\"q\\", "caf\u00e9 \U0001F600\n\t",
                expected={"b": [1, 2.5, None, True], "a": ("t", "u")}, actual={1: "int key", "z": Odd()},
                fixable=True, file="C:\\x\\y.conf", line=0,
                details={"fix_args": ["--remove-stale"], "nested": {"k": [math.nan, math.inf, -0.0]}},
                waiver={"reason": "r\u00e9", "owner": "o", "expires": "2026-12-31"}, expected_sources=shared),
        Finding("X-ODD", Status.PASS, Severity.LOW, None, "cluster", "", expected=7, actual=False,
                details={"bytes": b"\xff\x00abc", "set": {"one"}}, expected_sources=shared),
        Finding("X-ODD", Status.ERROR, Severity.CRITICAL, "N2", "N2", "m", expected=3.25, actual=[], line=123456789012,
                expected_sources={"port": Expected(6010, ExpectationSource.PROFILE_DEFAULT, "")}),
        Finding("X-ODD", Status.SKIP, Severity.MEDIUM, "N3", "N3", "m", expected="", actual=Odd(), fixable=1),
        Finding("X-ODD", Status.WAIVED, Severity.INFO, "N4", "N4", "m", waiver={}),
    ]


@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIOS.iterdir()))
def test_lines_equal_finding_to_dict_on_lab_scenarios(scenario):
    report = run_audit(load_cluster_folder(SCENARIOS / scenario)[1], load_profile(None))
    assert finding_lines(report) == _reference(report)


@pytest.mark.parametrize("hostile", [False, True])
def test_lines_equal_finding_to_dict_on_report_fixtures(hostile):
    report = make_report(hostile=hostile, unreachable=True)
    assert finding_lines(report) == _reference(report)


def test_lines_equal_finding_to_dict_on_odd_values():
    report = make_report()
    report.findings = _odd_findings()
    lines = finding_lines(report)
    assert lines == _reference(report)
    assert all(line.isascii() for line in lines)
    parsed = json.loads(render_json(report))["findings"]
    assert [f["subject"] for f in parsed] == [f.subject for f in report.sorted_findings]
    assert parsed[[f["check_id"] for f in parsed].index("X-ODD")]["expected_sources"]


def test_no_findings_is_an_empty_list():
    report = make_report()
    report.findings = []
    text = render_json(report)
    assert '"findings": []' in text
    assert json.loads(text)["findings"] == []
