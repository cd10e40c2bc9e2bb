"""Store and drift over three recorded runs that change between runs."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from auditor.errors import InputError
from auditor.findings import Finding, Status
from auditor.history import (
    MASKED,
    HistoryError,
    NodeRecord,
    RunRecord,
    compare_runs,
    connect,
    default_drift,
    drift_for_report,
    get_run,
    list_runs,
    record_run,
    resolve_history_path,
    set_baseline,
)
from auditor.history.schema import SCHEMA_VERSION, schema_version
from auditor.history.store import clear_baseline, load_findings, prune_runs
from tests.history.hist_data import CONF, NODES, config, f, make_run, run1_findings, run2_findings


def keys(findings) -> list[tuple[str, str]]:
    return [x.key() for x in findings]


def test_runs_are_recorded_with_counts_and_metadata(three_runs):
    path, ids = three_runs
    db = connect(path, create=False)
    try:
        assert ids == [1, 2, 3]
        runs = list_runs(db)
        assert [r.id for r in runs] == [3, 2, 1]
        r1 = get_run(db, 1)
        assert r1.cluster == "PROD"
        assert r1.source == "winrm"
        assert r1.exit_code == 1
        assert r1.finished_at == "2026-11-01T01:02:00Z"
        assert r1.status_counts == {"pass": 2, "fail": 2, "error": 0, "skip": 1, "waived": 0}
        assert r1.failing == {"info": 0, "low": 0, "medium": 1, "high": 1, "critical": 0}
        assert r1.nodes_total == 3
        assert r1.nodes_unreachable == 0
        stored = load_findings(db, 1)
        assert stored == run1_findings()  # round trip, expected/actual JSON included
        assert schema_version(db) == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_history_written_before_expected_sources_is_upgraded(history_path):
    from auditor.history.schema import MIGRATIONS

    history_path.parent.mkdir(parents=True)
    old = sqlite3.connect(history_path)
    old.executescript(MIGRATIONS[0][2] + "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                      "description TEXT NOT NULL, applied_at TEXT NOT NULL);"
                      "INSERT INTO schema_migrations VALUES (1, 'v1', '2026-01-01T00:00:00Z');"
                      "INSERT INTO runs(id, recorded_at) VALUES (1, '2026-01-01T00:00:00Z');"
                      "INSERT INTO findings(run_id, seq, check_id, subject, status, severity) "
                      "VALUES (1, 0, 'SPOC-MGMT-LIST', 'SITE1', 'fail', 'high');")
    old.close()
    db = connect(history_path)
    try:
        assert [x.expected_sources for x in load_findings(db, 1)] == [{}]
    finally:
        db.close()


def test_secret_values_are_never_stored(three_runs):
    path, _ = three_runs
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                               if path.with_name(path.name + "-wal").exists() else b"")
    assert b"Secret-1" not in raw
    assert b"Secret-2" not in raw
    db = sqlite3.connect(path)
    try:
        values = db.execute("SELECT DISTINCT value FROM config_values WHERE key = 'dbPassword'").fetchall()
    finally:
        db.close()
    assert values == [(MASKED,)]


def test_drift_run1_to_run2_one_fixed_one_new(three_runs):
    path, _ = three_runs
    db = connect(path, create=False)
    try:
        d = compare_runs(db, 1, 2)
    finally:
        db.close()
    assert keys(d.new) == [("SERVICE-RUNNING", "MGMT1:YSoftSQ-LDAP")]
    assert [(x.key(), now) for x, now in d.resolved] == [(("SPOC-MGMT-LIST", "SITE1"), "pass")]
    assert d.changed == []
    assert d.config_changes == []
    assert d.nodes == []


def test_drift_run2_to_run3_config_and_changed_finding(three_runs):
    path, _ = three_runs
    db = connect(path, create=False)
    try:
        d = compare_runs(db, 2, 3)
    finally:
        db.close()
    assert d.new == []
    assert d.resolved == []
    assert d.nodes == []
    assert [(c.check_id, c.subject, c.fields) for c in d.changed] == [
        ("MGMT-CONFIG-CONSISTENT", "MGMT2:dbHost", ["severity"])
    ]
    assert d.changed[0].before["severity"] == "medium"
    assert d.changed[0].after["severity"] == "high"
    # cmlPort changed and jvmRoute added; the rotated password is masked both times: no change
    assert [(c.node, c.file, c.key, c.change, c.before, c.after) for c in d.config_changes] == [
        ("MGMT1", CONF, "cmlPort", "changed", "8080", "8081"),
        ("MGMT1", CONF, "jvmRoute", "added", None, "mgmt1"),
    ]


def test_default_drift_is_latest_vs_previous_and_baseline_pin_changes_it(three_runs):
    path, _ = three_runs
    db = connect(path, create=False)
    try:
        d = default_drift(db)
        assert (d.run_a.id, d.run_b.id, d.baseline_kind) == (2, 3, "previous")

        set_baseline(db, 1, note="signed off after change window")
        d = default_drift(db)
        assert (d.run_a.id, d.run_b.id, d.baseline_kind) == (1, 3, "pinned")
        assert keys(d.new) == [("SERVICE-RUNNING", "MGMT1:YSoftSQ-LDAP")]
        assert [x.key() for x, _ in d.resolved] == [("SPOC-MGMT-LIST", "SITE1")]
        assert [c.subject for c in d.changed] == ["MGMT2:dbHost"]
        assert [c.key for c in d.config_changes] == ["cmlPort", "jvmRoute"]

        report = drift_for_report(db, 3)
        assert report["baseline_run"] == 1
        assert report["baseline_kind"] == "pinned"
        assert [x["check_id"] for x in report["new"]] == ["SERVICE-RUNNING"]
        assert report["new"][0]["status"] == "fail"
        assert report["resolved"][0]["now_status"] == "pass"
        assert report["config_changes"][0] == {"node": "MGMT1", "file": CONF, "key": "cmlPort",
                                               "change": "changed", "before": "8080", "after": "8081"}
        assert set(report) >= {"baseline_run", "new", "resolved", "changed", "config_changes", "nodes"}

        clear_baseline(db)
        assert drift_for_report(db, 3)["baseline_run"] == 2
        assert drift_for_report(db, 1) is None  # first run: nothing to compare with
    finally:
        db.close()


def test_baseline_is_per_cluster_and_previous_run_is_same_cluster(three_runs):
    path, _ = three_runs
    db = connect(path)
    try:
        other = record_run(db, make_run(run1_findings(), config("1", "x"), cluster="TEST", when="04"))
        assert drift_for_report(db, other) is None  # TEST's first run, PROD runs are not its past
        set_baseline(db, other)
        assert default_drift(db, 3).run_a.id == 2  # PROD unaffected by TEST's pin
    finally:
        db.close()


def test_nodes_becoming_unreachable_and_back(history_path):
    db = connect(history_path)
    try:
        a = record_run(db, make_run(run1_findings(), config("8080", "s"), when="01"))
        down = [NodeRecord("MGMT1"), NodeRecord("MGMT2", "timeout", "no answer in 60s"), NodeRecord("SITE1")]
        findings = run1_findings() + [Finding("NODE-REACHABLE", Status.ERROR, run1_findings()[0].severity,
                                              "MGMT2", "MGMT2", "could not collect: timeout")]
        cfg = [c for c in config("8080", "s") if c[0] != "MGMT2"]  # nothing collected from MGMT2
        b = record_run(db, make_run(findings, cfg, nodes=down, when="02"))
        c = record_run(db, make_run(run1_findings(), config("8080", "s"), nodes=NODES + [NodeRecord("SITE2")],
                                    when="03"))
        d = compare_runs(db, a, b)
        assert [(n.node, n.change, n.before, n.after, n.reason) for n in d.nodes] == [
            ("MGMT2", "unreachable", "ok", "timeout", "no answer in 60s")
        ]
        assert d.config_changes == []  # an unreachable node's keys are not "removed"
        assert keys(d.new) == [("NODE-REACHABLE", "MGMT2")]
        d = compare_runs(db, b, c)
        assert [(n.node, n.change) for n in d.nodes] == [("MGMT2", "reachable"), ("SITE2", "added")]
        assert [x.key() for x, now in d.resolved] == [("NODE-REACHABLE", "MGMT2")]
        assert d.resolved[0][1] == "absent"
    finally:
        db.close()


def test_waived_finding_is_a_change_not_a_resolution_and_expiry_makes_it_new(history_path):
    from dataclasses import replace

    db = connect(history_path)
    try:
        failing = run1_findings()
        waived = [replace(x, status=Status.WAIVED, waiver={"reason": "r", "owner": "o", "expires": "2026-12-01"})
                  if x.check_id == "SPOC-MGMT-LIST" else x for x in failing]
        a = record_run(db, make_run(failing, [], when="01"))
        b = record_run(db, make_run(waived, [], when="02"))
        c = record_run(db, make_run(failing, [], when="03"))
        d = compare_runs(db, a, b)
        assert d.new == []
        assert d.resolved == []
        assert [(x.check_id, x.fields, x.after["status"]) for x in d.changed] == [
            ("SPOC-MGMT-LIST", ["status"], "waived")
        ]
        assert keys(compare_runs(db, b, c).new) == [("SPOC-MGMT-LIST", "SITE1")]
    finally:
        db.close()


def test_unknown_run_id_is_an_input_error(three_runs):
    path, _ = three_runs
    db = connect(path, create=False)
    try:
        with pytest.raises(InputError, match="unknown run id 42"):
            compare_runs(db, 1, 42)
        with pytest.raises(InputError, match="unknown run id 7"):
            set_baseline(db, 7)
    finally:
        db.close()


def test_a_failed_record_leaves_no_half_run(history_path):
    db = connect(history_path)
    try:
        record_run(db, make_run(run1_findings(), config("1", "s")))
        bad = run2_findings() + [Finding("X", Status.FAIL, "not-a-severity", "N", "N", "m")]  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            record_run(db, make_run(bad, config("1", "s")))
        assert [r.id for r in list_runs(db)] == [1]
        for table in ("findings", "run_nodes", "config_values"):
            assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id != 1").fetchone()[0] == 0
        # the connection is still usable and the next id follows on
        assert record_run(db, make_run(run2_findings(), [])) >= 2
    finally:
        db.close()


def test_concurrent_writers_do_not_lose_runs(history_path):
    # no pre-created file: the writers also race to create and migrate it
    errors: list[BaseException] = []

    def writer() -> None:
        db = connect(history_path)
        try:
            for _ in range(8):
                record_run(db, make_run(run1_findings(), config("1", "s")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db = connect(history_path, create=False)
    try:
        assert len(list_runs(db, limit=None)) == 24
        assert db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 24 * len(run1_findings())
    finally:
        db.close()


def test_newer_schema_is_refused(history_path):
    connect(history_path).close()
    raw = sqlite3.connect(history_path)
    raw.execute("INSERT INTO schema_migrations(version, description, applied_at) VALUES (99, 'future', 'x')")
    raw.commit()
    raw.close()
    with pytest.raises(HistoryError, match="schema version 99"):
        connect(history_path)


def test_missing_file_is_not_created_by_readers(tmp_path):
    path = tmp_path / "none" / "h.sqlite"
    with pytest.raises(InputError, match="no history database"):
        connect(path, create=False)
    assert not path.exists()


def test_history_path_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "env.sqlite"))
    assert resolve_history_path(None) == tmp_path / "env.sqlite"
    assert resolve_history_path(str(tmp_path / "cli.sqlite")) == tmp_path / "cli.sqlite"
    monkeypatch.delenv("PARAGON_AUDITOR_HISTORY")
    assert resolve_history_path(None).parts[-2:] == (".paragon-auditor", "history.sqlite")


def test_prune_keeps_newest_and_baseline(three_runs):
    path, _ = three_runs
    db = connect(path)
    try:
        set_baseline(db, 1)
        assert prune_runs(db, keep=1) == 1  # run 2 goes; 3 is newest, 1 is pinned
        assert [r.id for r in list_runs(db)] == [3, 1]
        assert db.execute("SELECT COUNT(*) FROM findings WHERE run_id = 2").fetchone()[0] == 0
    finally:
        db.close()


def test_run_record_accepts_node_like_objects_and_tuples():
    from auditor.nodestate import NodeState

    rec = RunRecord(findings=[], nodes=[NodeState(name="A", status="auth", reason="401")],
                    config_values=[("A", "f", "k", "v")])
    assert rec.nodes == [NodeRecord("A", "auth", "401")]
    assert rec.config_values[0].key == "k"


def test_set_evidence_serialises_stably_so_it_is_not_drift(history_path):
    db = connect(history_path)
    try:
        a = record_run(db, make_run([f("X", "N", "fail", actual={"b", "a", "c"})], []))
        b = record_run(db, make_run([f("X", "N", "fail", actual={"c", "b", "a"})], []))
        assert load_findings(db, a)[0].actual == ["a", "b", "c"]
        assert compare_runs(db, a, b).empty
    finally:
        db.close()


def test_unusable_history_files_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(HistoryError, match="not usable"):
        connect(junk)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(HistoryError, match="cannot open|not usable"):
        connect(folder)


def test_prune_from_the_cli(three_runs):
    from click.testing import CliRunner

    from auditor.cli import main

    path, _ = three_runs
    r = CliRunner().invoke(main, ["history", "--history", str(path), "--prune-keep", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert "pruned 1 run(s)" in r.output
    import json

    assert [x["id"] for x in json.loads(r.output[r.output.index("{"):])["runs"]] == [3, 2]


def test_masking_rules():
    from auditor.secretkeys import mask_config_value

    assert mask_config_value("dbPassword", "x") == (MASKED, True)
    assert mask_config_value("ldap.bindPwd", "x") == (MASKED, True)
    assert mask_config_value("apiKey", "x") == (MASKED, True)
    assert mask_config_value("dbPassword", "") == ("", False)  # "empty password" is worth seeing
    assert mask_config_value("dbHost", "db1") == ("db1", False)
    assert mask_config_value("licenceCode", "abc", patterns=["(?i)licence"]) == (MASKED, True)
    with pytest.raises(InputError, match="invalid secret key pattern"):
        mask_config_value("k", "v", patterns=["("])


def test_node_going_dark_does_not_resolve_its_failures(history_path):
    # QA: when MGMT2 became unreachable its failing finding was listed as "resolved" (fail ->
    # skip) and every passing check on it as "changed" (pass -> skip): nothing was fixed
    db = connect(history_path)
    try:
        a = record_run(db, make_run(run1_findings(), config("8080", "s"), when="01"))
        dark = [x if not (x.node or "").startswith("MGMT2") else
                f(x.check_id, x.subject, "skip", x.severity.value, message="not evaluated: node unreachable")
                for x in run1_findings()]
        dark.append(f("NODE-REACHABLE", "MGMT2", "fail", "high", message="not collected: timeout"))
        down = [NodeRecord("MGMT1"), NodeRecord("MGMT2", "timeout", "no answer in 60s"), NodeRecord("SITE1")]
        b = record_run(db, make_run(dark, config("8080", "s"), nodes=down, when="02"))
        d = compare_runs(db, a, b)
        assert [(n.node, n.change) for n in d.nodes] == [("MGMT2", "unreachable")]
        assert d.resolved == []
        assert d.changed == []
        assert keys(d.new) == [("NODE-REACHABLE", "MGMT2")]
        # a failure on a node that is still reachable and now skipped is still resolved
        fixed = [f(x.check_id, x.subject, "skip", x.severity.value) if x.subject == "SITE1" else x
                 for x in run1_findings()]
        c = record_run(db, make_run(fixed, config("8080", "s"), when="03"))
        assert [x.key() for x, now in compare_runs(db, a, c).resolved] == [("SPOC-MGMT-LIST", "SITE1")]
    finally:
        db.close()
