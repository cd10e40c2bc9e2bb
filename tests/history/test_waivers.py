"""Waivers: active, expired, glob matching, unused, invalid files with line numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.findings import Severity, Status
from auditor.waivers import WaiverFile, apply_waivers, load_waivers, local_today, parse_waivers
from tests.history.hist_data import f

ROOT = Path(__file__).resolve().parents[2]

WAIVERS = """\
waivers:
  - check: SPOC-MGMT-LIST
    node: site*
    reason: WAN link pending, CHG0042
    owner: print-team@corp.example
    expires: 2026-12-31
  - check: MGMT-*
    subject: "MGMT2:db*"
    reason: db host migration
    owner: jana
    expires: 2026-11-01
  - check: NOTHING-MATCHES
    reason: typo in id
    owner: bob
    expires: 2027-01-01
"""


def findings():
    return [
        f("SPOC-MGMT-LIST", "SITE1", "fail", "high"),
        f("SPOC-MGMT-LIST", "MGMT1", "fail", "high"),  # node glob site* does not cover MGMT1
        f("SPOC-MGMT-LIST", "SITE2", "error", "high"),  # errors are never waived
        f("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost", "fail", "medium"),
        f("SERVICE-RUNNING", "SITE1:x", "pass"),
    ]


def test_active_waiver_applies_with_glob_and_expired_one_is_flagged():
    ws = parse_waivers(WAIVERS, "w.yaml")
    original = findings()
    out, extra = apply_waivers(original, ws, today=date(2026, 11, 25))
    status = {x.key(): x.status for x in out}
    assert status[("SPOC-MGMT-LIST", "SITE1")] == Status.WAIVED
    assert status[("SPOC-MGMT-LIST", "MGMT1")] == Status.FAIL
    assert status[("SPOC-MGMT-LIST", "SITE2")] == Status.ERROR
    # expired on 2026-11-01: stops applying
    assert status[("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost")] == Status.FAIL
    waived = next(x for x in out if x.status == Status.WAIVED)
    assert waived.waiver == {"reason": "WAN link pending, CHG0042", "owner": "print-team@corp.example",
                             "expires": "2026-12-31", "source": "w.yaml:2"}
    assert original[0].status == Status.FAIL  # input not mutated

    by_check = {x.check_id: x for x in extra}
    assert set(by_check) == {"WAIVER-EXPIRED", "WAIVER-UNUSED"}
    exp = by_check["WAIVER-EXPIRED"]
    assert (exp.status, exp.severity) == (Status.FAIL, Severity.LOW)
    assert "jana" in exp.message
    assert "2026-11-01" in exp.message
    assert "1 finding(s) fail again" in exp.message
    assert exp.file == "w.yaml"
    assert exp.line == 7
    unused = by_check["WAIVER-UNUSED"]
    assert unused.severity == Severity.INFO
    assert "NOTHING-MATCHES" in unused.message
    assert unused.line == 12


def test_expiry_day_itself_still_applies():
    ws = parse_waivers(WAIVERS, "w.yaml")
    out, extra = apply_waivers(findings(), ws, today=date(2026, 11, 1))
    assert {x.key(): x.status for x in out}[("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost")] == Status.WAIVED
    assert "WAIVER-EXPIRED" not in {x.check_id for x in extra}
    out, extra = apply_waivers(findings(), ws, today=date(2027, 1, 1))  # everything but the last expired
    assert Status.WAIVED not in {x.status for x in out}
    assert [x.check_id for x in extra].count("WAIVER-EXPIRED") == 2


def test_matching_is_case_insensitive_and_subject_glob_narrows():
    ws = parse_waivers("- {check: spoc-*, node: SITE1, subject: 'site1:10.0.*', reason: r, owner: o,"
                       " expires: 2030-01-01}\n", "x")
    hit = f("SPOC-IMS-ADDRESSES", "SITE1:10.0.10.13", "fail", node="site1")
    miss = f("SPOC-IMS-ADDRESSES", "SITE1:192.168.1.1", "fail", node="SITE1")
    cluster_wide = f("SPOC-IMS-ADDRESSES", "SITE1:10.0.1.1", "fail")
    cluster_wide.node = None  # a node-specific waiver never covers a cluster-wide finding
    out, extra = apply_waivers([hit, miss, cluster_wide], ws, date(2026, 1, 1))
    assert [x.status for x in out] == [Status.WAIVED, Status.FAIL, Status.FAIL]
    assert extra == []


def test_waiver_hook_and_example_file():
    hook = WaiverFile(ROOT / "examples" / "waivers.yaml")
    assert len(hook.waivers) == 3
    assert all(w.owner for w in hook.waivers)
    out = hook([f("DB-EXTERNAL", "TST-MGMT1", "fail", "critical")], date(2026, 11, 25))
    assert out[0].status == Status.WAIVED
    assert {x.check_id for x in out[1:]} == {"WAIVER-UNUSED"}  # the two other waivers match nothing


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- check: A\n  reason: r\n  owner: o\n", 1, "missing required field(s): expires"),
        ("- check: A\n  reason: r\n  owner: o\n  expires: 31.12.2026\n", 4, "YYYY-MM-DD"),
        ("- check: A\n  reason: r\n  owner: o\n  expires: 2026-02-30\n", 4, "YYYY-MM-DD"),
        ("- check: A\n  reason: r\n  owner: o\n  expires: 2026-12-31\n  expiry: 2027-01-01\n", 5,
         "unknown waiver field 'expiry'"),
        ("- check: A\n  reason: r\n  owner: \n  expires: 2026-12-31\n", 3, "'owner' is empty"),
        ("- check: A\n  reason: r\n  owner: o\n  expires: 2026-12-31\n- just text\n", 5, "must be a mapping"),
        ("waivers:\n  - check: [A, B]\n", 2, "single value"),
        ("- check: A\n  reason: 'unterminated\n  owner: o\n", None, "invalid YAML"),
        ("check: A\n", 1, "unknown top-level key 'check'"),
        ("just a string\n", 1, "must be a list"),
    ],
)
def test_invalid_waivers_name_file_and_line(tmp_path, text, line, message):
    p = tmp_path / "waivers.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as info:
        load_waivers(p)
    err = info.value
    assert err.source == str(p)
    assert message in err.message
    if line is not None:
        assert err.line == line
        assert str(err).startswith(f"{p}:{line}: ")
    else:
        assert err.line is not None  # YAML syntax errors carry the mark's line


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_waivers(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    assert load_waivers(tmp_path / "empty.yaml") == []
    (tmp_path / "e2.yaml").write_text("waivers:\n")
    assert load_waivers(tmp_path / "e2.yaml") == []


def test_local_today_time_zones():
    assert isinstance(local_today(), date)
    assert isinstance(local_today("Europe/Prague"), date)
    with pytest.raises(InputError, match="time zone"):
        local_today("Mars/Olympus")
