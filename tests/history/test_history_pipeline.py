"""The hooks inside the real audit pipeline, on the lab's drift scenario."""

from __future__ import annotations

import copy
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from auditor.audit import run_audit
from auditor.findings import Status
from auditor.history.hook import HistoryRecorder
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry
from auditor.profile import load_profile
from auditor.waivers import WAIVER_CHECK_META, WaiverFile

SCENARIO = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "drift"


@pytest.fixture(scope="module")
def scenario():
    manifest, states = load_cluster_folder(SCENARIO)
    return manifest, states, load_profile(None)


def _set_property(states, node: str, suffix: str, key: str, value: str) -> str:
    state = next(s for s in states if s.name == node)
    entry = next(e for e in state.files.values() if e.path.lower().endswith(suffix))
    text = entry.content.decode("utf-8")
    lines = [f"{key}={value}" if ln.split("=", 1)[0].strip() == key else ln for ln in text.splitlines()]
    if not any(ln.startswith(f"{key}=") for ln in lines):
        lines.append(f"{key}={value}")
    state.files[next(k for k, e in state.files.items() if e is entry)] = FileEntry(
        path=entry.path, content=("\n".join(lines) + "\n").encode("utf-8"), mtime=entry.mtime)
    return entry.path


def test_recorder_fills_run_id_drift_and_trend(scenario, tmp_path):
    manifest, states, profile = scenario
    hist = tmp_path / "h.sqlite"
    rec = HistoryRecorder(hist, cluster=manifest.name, profile=profile)

    r1 = run_audit(states, profile, source_label=str(SCENARIO), history=rec, today=date(2026, 11, 25))
    assert r1.run.run_id == 1
    assert r1.since_last_run is None
    assert len(r1.trend) == 1
    assert rec.new_failures
    assert all(f["status"] in ("fail", "error") for f in rec.new_failures)

    changed = copy.deepcopy(states)
    conf = _set_property(changed, "MGMT1", "management.properties", "sessionTimeoutMinutes", "45")
    _set_property(changed, "MGMT1", "management.properties", "dbPassword", "Top-Secret-9")
    r2 = run_audit(changed, profile, source_label=str(SCENARIO), history=rec, today=date(2026, 11, 26))
    since = r2.since_last_run
    assert r2.run.run_id == 2
    assert since["baseline_run"] == 1
    assert since["baseline_kind"] == "previous"
    assert {(c["node"], c["file"], c["key"], c["change"], c["before"], c["after"])
            for c in since["config_changes"]} == {
        ("MGMT1", conf, "sessionTimeoutMinutes", "changed", "30", "45"),
        ("MGMT1", conf, "dbPassword", "added", None, "********"),
    }
    assert [p["run_id"] for p in r2.trend] == [1, 2]
    assert rec.new_failures == since["new"]
    summary = rec.summary(r2, "reports/index.html")
    assert summary["run_id"] == 2
    assert summary["cluster"] == "drift"
    assert summary["baseline_run"] == 1

    raw = hist.read_bytes()
    wal = hist.with_name(hist.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"Top-Secret-9" not in raw
    db = sqlite3.connect(hist)
    try:
        n_cfg = db.execute("SELECT COUNT(*) FROM config_values WHERE run_id = 1").fetchone()[0]
    finally:
        db.close()
    assert n_cfg > 20  # keys of management/ims properties, spoc.conf, XML settings


def test_waiver_hook_in_pipeline_and_html_report(scenario, tmp_path):
    manifest, states, profile = scenario
    first = run_audit(states, profile, source_label="s", today=date(2026, 11, 25))
    target = next(f for f in first.findings if f.status == Status.FAIL)
    wfile = tmp_path / "waivers.yaml"
    wfile.write_text(
        "waivers:\n"
        f"  - check: {target.check_id}\n    subject: '{target.subject}'\n    reason: accepted <risk> & co\n"
        "    owner: print-team\n    expires: 2026-12-31\n"
        "  - check: OLD-*\n    reason: gone\n    owner: bob\n    expires: 2026-01-01\n"
    )
    rec = HistoryRecorder(tmp_path / "h.sqlite", cluster=manifest.name, profile=profile)
    hook = WaiverFile(wfile)
    run_audit(states, profile, source_label="s", today=date(2026, 11, 25), history=rec)
    # no catalogue passed: WAIVER-* findings still get their real title and remediation
    report = run_audit(states, profile, source_label="s", waivers=hook, history=rec, today=date(2026, 11, 25))
    assert report.title_of("WAIVER-EXPIRED") == "Waiver expired"
    meta = next(m for m in report.checks if m.id == "WAIVER-EXPIRED")
    assert meta == next(m for m in WAIVER_CHECK_META if m.id == "WAIVER-EXPIRED")
    assert meta.remediation
    waived = [f for f in report.findings if f.key() == target.key()]
    assert [f.status for f in waived] == [Status.WAIVED]
    assert waived[0].waiver["owner"] == "print-team"
    ids = {f.check_id for f in report.findings}
    assert "WAIVER-EXPIRED" in ids
    since = report.since_last_run
    assert [c["check_id"] for c in since["changed"]] == [target.check_id]
    assert [f["check_id"] for f in since["new"]] == ["WAIVER-EXPIRED"]

    from auditor.reports.html import render_html

    html = render_html(report)
    assert "accepted &lt;risk&gt; &amp; co" in html  # the report shows our waiver dict, escaped
    assert "<risk>" not in html
