"""Findings and config values are stored once however many runs repeat them
(auditor.history.stored_once): the answers stay those of one row per run and value, an old file
is upgraded in place, and pruning leaves no orphan behind."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from auditor.findings import Status
from auditor.history import compare_runs, connect, record_run
from auditor.history.config_values import config_values_from_nodes
from auditor.history.rows import _ENCODE, _json_default, to_json
from auditor.history.schema import MIGRATIONS, SCHEMA_VERSION, schema_version
from auditor.history.store import load_config_values, load_findings, prune_runs
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile
from tests.history.hist_data import config, make_run, run1_findings, run2_findings

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"


def _count(db: sqlite3.Connection, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_a_repeated_run_adds_no_finding_body_and_no_config_set(history_path):
    db = connect(history_path)
    try:
        record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        bodies, sets = _count(db, "finding_bodies"), _count(db, "config_sets")
        record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        assert (_count(db, "finding_bodies"), _count(db, "config_sets")) == (bodies, sets)
    finally:
        db.close()


def test_a_repeated_run_reads_back_its_own_rows(history_path):
    db = connect(history_path)
    try:
        record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        b = record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        assert load_findings(db, b) == run1_findings()
    finally:
        db.close()


def test_one_changed_value_stores_one_new_config_set(history_path):
    db = connect(history_path)
    try:
        record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        sets = _count(db, "config_sets")
        b = record_run(db, make_run(run1_findings(), config("8081", "Secret-1")))  # MGMT1's cmlPort
        assert _count(db, "config_sets") == sets + 1
        assert [c.value for c in load_config_values(db, b, ["MGMT1"]) if c.key == "cmlPort"] == ["8081"]
    finally:
        db.close()


def test_pruning_drops_bodies_and_sets_no_run_uses(history_path):
    db = connect(history_path)
    try:
        record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        record_run(db, make_run(run2_findings(), config("9999", "Secret-1")))
        prune_runs(db, keep=1)
        used = db.execute("SELECT COUNT(DISTINCT body_id) FROM run_findings").fetchone()[0]
        assert _count(db, "finding_bodies") == used
        assert _count(db, "config_sets") == db.execute("SELECT COUNT(DISTINCT set_id) FROM run_config").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("value", [None, "", "plain", "ünïcode \"quoted\" \\ \n", [], {}, [1, "a"], {"b": 1, "a": [2]},
                                   True, 3, 2.5, {"s"}, {"set": {"b", "a"}, "raw": b"\xffx", "enum": Status.FAIL},
                                   [object]])
def test_evidence_text_is_what_the_json_encoder_writes(value):
    """The stored text is json.dumps(sort_keys, ensure_ascii=False, the history's default for
    sets, bytes, enums and the rest), whichever shortcut to_json takes."""
    expected = None if value is None else json.dumps(value, sort_keys=True, default=_json_default, ensure_ascii=False)
    assert to_json(value) == expected
    if value is not None:
        assert _ENCODE(value) == expected


# ---- upgrade of a file written before schema 4 ----------------------------------------------------
def _write_schema2_file(path: Path) -> None:
    """A history file as schema 2 left it: one row per finding and per config value of each run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0][2] + ";" + MIGRATIONS[1][2] + ";"
                      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                      " applied_at TEXT NOT NULL);"
                      "INSERT INTO schema_migrations VALUES (1, 'v1', '2026-01-01T00:00:00Z');"
                      "INSERT INTO schema_migrations VALUES (2, 'v2', '2026-01-01T00:00:00Z');"
                      "INSERT INTO runs(id, recorded_at, cluster) VALUES (1, '2026-01-01T00:00:00Z', 'PROD');"
                      "INSERT INTO run_nodes VALUES (1, 'MGMT1', 'ok', ''), (1, 'MGMT2', 'ok', ''),"
                      " (1, 'SITE1', 'ok', '');")
    for seq, x in enumerate(run1_findings()):
        old.execute("INSERT INTO findings(run_id, seq, check_id, subject, node, status, severity, message,"
                    " expected_json, actual_json, fixable, expected_sources_json) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " 0, ?)", (seq, x.check_id, x.subject, x.node, x.status.value, x.severity.value, x.message,
                               to_json(x.expected), to_json(x.actual),
                               json.dumps({k: e.to_dict() for k, e in x.expected_sources.items()}, sort_keys=True)
                               if x.expected_sources else None))
    for node, file, key, value in config("8080", "Secret-1"):
        masked = key == "dbPassword"
        old.execute("INSERT INTO config_values VALUES (1, ?, ?, ?, ?, ?)",
                    (node, file, key, "********" if masked else value, int(masked)))
    old.commit()
    old.close()


def test_a_schema2_file_is_upgraded(history_path):
    _write_schema2_file(history_path)
    db = connect(history_path)
    try:
        assert schema_version(db) == SCHEMA_VERSION
    finally:
        db.close()


def test_an_upgraded_file_reads_its_old_findings_back(history_path):
    _write_schema2_file(history_path)
    db = connect(history_path)
    try:
        assert load_findings(db, 1) == run1_findings()
    finally:
        db.close()


def test_an_upgraded_file_answers_drift_against_a_new_run(history_path):
    _write_schema2_file(history_path)
    db = connect(history_path)
    try:
        new = record_run(db, make_run(run2_findings(), config("8081", "Secret-2")))
        d = compare_runs(db, 1, new)
    finally:
        db.close()
    assert [(c.node, c.key, c.before, c.after) for c in d.config_changes] == [("MGMT1", "cmlPort", "8080", "8081")]
    assert [x.key() for x in d.new] == [("SERVICE-RUNNING", "MGMT1:YSoftSQ-LDAP")]
    assert [x.key() for x, _ in d.resolved] == [("SPOC-MGMT-LIST", "SITE1")]


def test_an_upgraded_run_shares_its_rows_with_the_same_new_run(history_path):
    _write_schema2_file(history_path)
    db = connect(history_path)
    try:
        new = record_run(db, make_run(run1_findings(), config("8080", "Secret-1")))
        assert compare_runs(db, 1, new).empty
        assert _count(db, "finding_bodies") == len(run1_findings())
    finally:
        db.close()


# ---- the cluster model's parsed files ---------------------------------------------------------
def test_config_values_with_the_model_equal_those_parsed_again():
    from auditor.audit import build_cluster

    _m, states = load_cluster_folder(SCENARIOS / "drift")
    profile = load_profile(None)
    model = build_cluster(states, profile)
    assert config_values_from_nodes(states, profile, model) == config_values_from_nodes(states, profile)


def test_config_values_with_the_model_parse_no_spoc_conf(monkeypatch):
    import auditor.history.config_values as cv
    from auditor.audit import build_cluster

    _m, states = load_cluster_folder(SCENARIOS / "drift")
    profile = load_profile(None)
    model = build_cluster(states, profile)
    parsed: list[str] = []
    real = cv._values_of
    monkeypatch.setattr(cv, "_values_of", lambda path, data, profile=None: parsed.append(path) or real(path, data, profile))
    config_values_from_nodes(states, profile, model)
    assert [p for p in parsed if p.lower().endswith("spoc.conf")] == []
