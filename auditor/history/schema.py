"""The history file itself: opening it (owner-only, WAL, busy timeout) and its versioned schema.

The schema is versioned in ``schema_migrations``; migrations only ever append, and a file
written by a newer auditor is refused instead of being silently misread. Two nightly jobs
opening a fresh file at once migrate it once (``BEGIN IMMEDIATE``, then re-check).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from auditor.errors import AuditorError, InputError
from auditor.findings import Severity, Status
from auditor.history.stored_once import migrate_rows_to_stored_once
from auditor.vocab import utc_now

SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)  # info .. critical
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)

BUSY_TIMEOUT_MS = 15000


_STATUS_COLS = ", ".join(f"n_{s} INTEGER NOT NULL DEFAULT 0" for s in STATUSES)
_FAIL_COLS = ", ".join(f"fail_{s} INTEGER NOT NULL DEFAULT 0" for s in SEVERITIES)

# A step is SQL, or a function (db, execute_sql) for one that moves rows with Python code.
MIGRATIONS: list[tuple[int, str, str | Callable[[sqlite3.Connection, Callable[[str], None]], None]]] = [
    (
        1,
        "runs, nodes, findings, config values, baseline pins",
        f"""
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT,
            finished_at TEXT,
            recorded_at TEXT NOT NULL,
            tool_version TEXT NOT NULL DEFAULT '',
            profile TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            cluster TEXT NOT NULL DEFAULT '',
            exit_code INTEGER,
            nodes_total INTEGER NOT NULL DEFAULT 0,
            nodes_unreachable INTEGER NOT NULL DEFAULT 0,
            {_STATUS_COLS},
            {_FAIL_COLS},
            meta_json TEXT NOT NULL DEFAULT '{{}}'
        );
        CREATE INDEX runs_cluster ON runs(cluster, id);
        CREATE TABLE run_nodes (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, name)
        );
        CREATE TABLE findings (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            check_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            node TEXT,
            status TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            expected_json TEXT,
            actual_json TEXT,
            fixable INTEGER NOT NULL DEFAULT 0,
            file TEXT,
            line INTEGER,
            details_json TEXT,
            waiver_json TEXT,
            PRIMARY KEY (run_id, seq)
        );
        CREATE INDEX findings_key ON findings(run_id, check_id, subject);
        CREATE TABLE config_values (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            node TEXT NOT NULL,
            file TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            masked INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX config_values_run ON config_values(run_id, node);
        CREATE TABLE baseline (
            cluster TEXT PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            pinned_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        );
        """,
    ),
    (
        2,
        "findings: where each expected value came from (expected_sources)",
        """
        ALTER TABLE findings ADD COLUMN expected_sources_json TEXT;
        """,
    ),
    (
        3,
        "run_nodes: how long collecting each node took (seconds), so the next run starts the slowest first",
        """
        ALTER TABLE run_nodes ADD COLUMN seconds REAL;
        """,
    ),
    (
        4,
        "findings and config values stored once (bodies, sets), read through views of the old names",
        migrate_rows_to_stored_once,
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class HistoryError(AuditorError):
    """The history file cannot be used (corrupt, newer schema, locked for too long...)."""


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the history file.

    ``create=False`` is for read-only commands (``history``, ``drift``): a missing file is
    an input error there, not a reason to leave an empty database behind.
    """
    p = Path(path).expanduser()
    if not create and not p.exists():
        raise InputError(f"no history database at {p} (run 'auditor audit' with history enabled first)")
    if create:
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot create folder for history database {p}: {exc.strerror or exc}") from None
        try:
            # owner-only like every report and snapshot: the history holds configuration values
            # of the whole cluster (secrets masked). SQLite gives its -wal/-shm files this mode.
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise HistoryError(f"cannot open history database {p}: {exc.strerror or exc}") from None
    try:
        db = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot open history database {p}: {exc}") from None
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if create:
            db.execute("PRAGMA journal_mode = WAL")  # readers never block the nightly writer
        db.execute("PRAGMA synchronous = NORMAL")
        _migrate(db, str(p))
    except sqlite3.DatabaseError as exc:
        db.close()
        raise HistoryError(f"history database {p} is not usable: {exc}") from None
    except Exception:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection, source: str) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    current = _schema_version(db)
    if current > SCHEMA_VERSION:
        raise HistoryError(
            f"history database {source} has schema version {current}, this auditor knows up to "
            f"{SCHEMA_VERSION}: upgrade paragon-auditor or use another --history file"
        )
    if current == SCHEMA_VERSION:
        return
    # Two nightly jobs may open a fresh file at once: take the write lock, then re-check.
    db.execute("BEGIN IMMEDIATE")
    try:
        current = _schema_version(db)
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            if callable(sql):
                sql(db, lambda text: _execute_all(db, text))
            else:
                _execute_all(db, sql)
            db.execute(
                "INSERT INTO schema_migrations(version, description, applied_at) VALUES (?, ?, ?)",
                (version, description, utc_now()),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _execute_all(db: sqlite3.Connection, sql: str) -> None:
    for statement in _split_sql(sql):
        db.execute(statement)


def _split_sql(sql: str) -> list[str]:
    # executescript() would COMMIT our transaction; the migration SQL holds no ';' in literals.
    return [s.strip() for s in sql.split(";") if s.strip()]


def _schema_version(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def schema_version(db: sqlite3.Connection) -> int:
    """The schema version of an open history database."""
    return _schema_version(db)
