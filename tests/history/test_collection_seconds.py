"""The history keeps how long each node's live collection took, for the next run's order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from auditor.history.node_seconds import previous_collection_seconds
from auditor.history.schema import MIGRATIONS, connect
from auditor.history.store import NodeRecord, RunRecord, load_nodes, record_run


@pytest.fixture
def db(history_path) -> Iterator[sqlite3.Connection]:
    """A new history file, open for the test."""
    conn = connect(history_path)
    yield conn
    conn.close()


def _record(db, cluster: str, nodes: list[NodeRecord]) -> int:
    return record_run(db, RunRecord(findings=[], nodes=nodes, cluster=cluster))


def test_latest_live_run_gives_each_node_its_seconds(db):
    _record(db, "c", [NodeRecord("MGMT1", seconds=1.0), NodeRecord("SITE1", seconds=9.0)])
    _record(db, "c", [NodeRecord("MGMT1", seconds=2.5), NodeRecord("SITE1", "timeout", "deadline", 60.0)])
    assert previous_collection_seconds(db, "c") == {"mgmt1": 2.5, "site1": 60.0}


def test_a_run_from_a_snapshot_does_not_hide_the_last_live_run(db):
    _record(db, "c", [NodeRecord("SITE1", seconds=7.0)])
    _record(db, "c", [NodeRecord("SITE1")])  # audit --from: nothing was timed
    assert previous_collection_seconds(db, "c") == {"site1": 7.0}


def test_another_cluster_in_the_same_file_is_not_used(db):
    _record(db, "other", [NodeRecord("SITE1", seconds=7.0)])
    assert previous_collection_seconds(db, "c") == {}


def test_seconds_round_trip(db):
    run_id = _record(db, "c", [NodeRecord("SITE1", seconds=3.25)])
    assert load_nodes(db, run_id) == [NodeRecord("SITE1", seconds=3.25)]


def test_history_written_before_node_seconds_is_upgraded(history_path):
    history_path.parent.mkdir(parents=True)
    old = sqlite3.connect(history_path)
    old.executescript(MIGRATIONS[0][2] + MIGRATIONS[1][2] +
                      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                      "description TEXT NOT NULL, applied_at TEXT NOT NULL);"
                      "INSERT INTO schema_migrations VALUES (1, 'v1', '2026-01-01T00:00:00Z');"
                      "INSERT INTO schema_migrations VALUES (2, 'v2', '2026-01-01T00:00:00Z');"
                      "INSERT INTO runs(id, recorded_at, cluster) VALUES (1, '2026-01-01T00:00:00Z', 'c');"
                      "INSERT INTO run_nodes(run_id, name, status) VALUES (1, 'SITE1', 'ok');")
    old.close()
    db = connect(history_path)
    try:
        assert load_nodes(db, 1) == [NodeRecord("SITE1")]
        assert previous_collection_seconds(db, "c") == {}
        _record(db, "c", [NodeRecord("SITE1", seconds=4.0)])
        assert previous_collection_seconds(db, "c") == {"site1": 4.0}
    finally:
        db.close()


def test_a_narrowed_run_keeps_the_other_nodes_last_times(db):
    _record(db, "c", [NodeRecord("MGMT1", seconds=1.0), NodeRecord("SITE1", seconds=9.0)])
    _record(db, "c", [NodeRecord("MGMT1", seconds=2.0)])  # audit --node MGMT1
    assert previous_collection_seconds(db, "c") == {"mgmt1": 2.0, "site1": 9.0}


def test_only_the_latest_runs_are_searched(db):
    from auditor.history.node_seconds import RUNS_CONSIDERED

    _record(db, "c", [NodeRecord("GONE", seconds=9.0)])
    for _ in range(RUNS_CONSIDERED):
        _record(db, "c", [NodeRecord("SITE1", seconds=1.0)])
    assert previous_collection_seconds(db, "c") == {"site1": 1.0}
