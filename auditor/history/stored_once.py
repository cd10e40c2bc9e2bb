"""Rows stored once however many runs repeat them (content-addressed findings and config values).

A nightly run of a healthy 5,000-node cluster repeats last night's 100,000 findings and every
node's configuration values almost word for word. Writing them again cost seconds per run
(SQLite binds every column of every row) and tens of MB of file. So a finding's stored text
(everything but its run and position) is a *body*, kept once under a digest of its columns;
a run holds ``(run_id, seq, body_id)``. A node's configuration values (file, key, masked value)
are a *set*, kept once under the digest of its rows; a run holds ``(run_id, node, set_id)``.

The ``findings`` and ``config_values`` views put the rows back together with the columns
they always had, so every reader (drift, ``auditor history``, an admin's own SQL) sees the
same rows as before. Equal ids mean identical stored rows, which is what drift's prefilter
(:mod:`auditor.history.changed_rows`) compares instead of every column.

The digest covers stored values only (secrets are masked before they get here), so the file
holds nothing a masked value would not already show.
"""

from __future__ import annotations

import hashlib
import marshal
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

FINDING_COLUMNS = ("check_id", "subject", "node", "status", "severity", "message", "expected_json", "actual_json",
                   "fixable", "file", "line", "details_json", "waiver_json", "expected_sources_json")
"""A finding body's columns, in the order :func:`store_findings` takes them."""

CONFIG_COLUMNS = ("file", "key", "value", "masked")
"""A config set row's columns, in the order :func:`store_config` takes them."""

SCHEMA_SQL = """
    CREATE TABLE finding_bodies (
        id INTEGER PRIMARY KEY,
        digest BLOB NOT NULL UNIQUE,
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
        expected_sources_json TEXT
    );
    CREATE TABLE run_findings (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        body_id INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE run_duplicate_keys (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        check_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        PRIMARY KEY (run_id, check_id, subject)
    ) WITHOUT ROWID;
    CREATE TABLE config_sets (
        id INTEGER PRIMARY KEY,
        digest BLOB NOT NULL UNIQUE
    );
    CREATE TABLE config_set_values (
        set_id INTEGER NOT NULL,
        file TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        masked INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX config_set_values_set ON config_set_values(set_id);
    CREATE TABLE run_config (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        node TEXT NOT NULL,
        set_id INTEGER NOT NULL,
        PRIMARY KEY (run_id, node)
    ) WITHOUT ROWID
"""
# body_id / set_id carry no REFERENCES on purpose: SQLite would then search run_findings for
# every body pruned (no index on body_id); prune_orphans() keeps them consistent instead.

VIEWS_SQL = f"""
    CREATE VIEW findings AS
        SELECT r.run_id AS run_id, r.seq AS seq, {", ".join(f"b.{c} AS {c}" for c in FINDING_COLUMNS)}
        FROM run_findings r JOIN finding_bodies b ON b.id = r.body_id;
    CREATE VIEW config_values AS
        SELECT c.run_id AS run_id, c.node AS node, {", ".join(f"v.{c} AS {c}" for c in CONFIG_COLUMNS)}
        FROM run_config c JOIN config_set_values v ON v.set_id = c.set_id
"""

_CHUNK = 500  # digests per "IN (...)" lookup: well under SQLite's limit of bound variables


def digest(row: Sequence[Any]) -> bytes:
    """16 bytes naming ``row`` (str, int, float, bytes, None values), the same in every process.

    marshal format 2 writes each value by type and content, never by object identity."""
    try:
        data = marshal.dumps(tuple(row), 2)
    except ValueError:  # a str/int subclass (an Enum member...): its repr is stable too
        data = repr(tuple(row)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).digest()


def _ids(db: sqlite3.Connection, table: str, digests: Iterable[bytes]) -> dict[bytes, int]:
    wanted = list(digests)
    out: dict[bytes, int] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i:i + _CHUNK]
        out.update(db.execute(f"SELECT digest, id FROM {table} WHERE digest IN ({', '.join('?' * len(chunk))})",
                              chunk))
    return out


def _intern(db: sqlite3.Connection, table: str, rows: dict[bytes, tuple[Any, ...]], columns: Sequence[str],
            known: dict[bytes, int]) -> tuple[dict[bytes, int], list[bytes]]:
    """Ids for every digest of ``rows`` (inserting the rows not stored yet) and the new digests.

    ``known``: digest -> id of rows already looked up (those of the previous run)."""
    ids = {d: known[d] for d in rows if d in known}
    missing = [d for d in rows if d not in ids]
    if not missing:
        return ids, []
    ids.update(_ids(db, table, missing))
    new = [d for d in missing if d not in ids]
    if new:
        names = ", ".join(("digest", *columns))
        db.executemany(f"INSERT INTO {table}({names}) VALUES ({', '.join('?' * (len(columns) + 1))})",
                       [(d, *rows[d]) for d in new])
        ids.update(_ids(db, table, new))
    return ids, new


def _previous_ids(db: sqlite3.Connection, sql: str, run_id: int | None) -> dict[bytes, int]:
    return {} if run_id is None else dict(db.execute(sql, (run_id,)))


def store_findings(db: sqlite3.Connection, run_id: int, bodies: Sequence[tuple[Any, ...]],
                   previous_run: int | None) -> None:
    """Store a run's findings (``bodies`` in :data:`FINDING_COLUMNS` order, in the run's order).

    ``previous_run``: the run most likely to share bodies (the cluster's last one); its bodies
    are matched without a lookup each."""
    digests = [digest(b) for b in bodies]
    known = _previous_ids(db, "SELECT b.digest, b.id FROM run_findings r JOIN finding_bodies b"
                              " ON b.id = r.body_id WHERE r.run_id = ?", previous_run)
    ids, _ = _intern(db, "finding_bodies", dict(zip(digests, bodies, strict=True)), FINDING_COLUMNS, known)
    db.executemany("INSERT INTO run_findings(run_id, seq, body_id) VALUES (?, ?, ?)",
                   [(run_id, seq, ids[d]) for seq, d in enumerate(digests)])
    keys = list(map(itemgetter(0, 1), bodies))  # (check_id, subject)
    if len(set(keys)) < len(keys):  # a check yielded a subject twice (rare)
        db.executemany("INSERT INTO run_duplicate_keys(run_id, check_id, subject) VALUES (?, ?, ?)",
                       [(run_id, c, s) for (c, s), n in Counter(keys).items() if n > 1])


def store_config(db: sqlite3.Connection, run_id: int, per_node: dict[str, list[tuple[Any, ...]]],
                 previous_run: int | None) -> None:
    """Store a run's config values: per node, its rows in :data:`CONFIG_COLUMNS` order."""
    sets = {node: (digest([x for row in rows for x in row]), rows) for node, rows in per_node.items() if rows}
    known = _previous_ids(db, "SELECT s.digest, s.id FROM run_config r JOIN config_sets s"
                              " ON s.id = r.set_id WHERE r.run_id = ?", previous_run)
    ids, new = _intern(db, "config_sets", {d: () for d, _ in sets.values()}, (), known)
    if new:
        fresh = set(new)
        db.executemany(f"INSERT INTO config_set_values(set_id, {', '.join(CONFIG_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                       [(ids[d], *row) for d, rows in _once(sets.values()) if d in fresh for row in rows])
    db.executemany("INSERT INTO run_config(run_id, node, set_id) VALUES (?, ?, ?)",
                   [(run_id, node, ids[d]) for node, (d, _) in sets.items()])


def _once(sets: Iterable[tuple[bytes, list[tuple[Any, ...]]]]) -> Iterable[tuple[bytes, list[tuple[Any, ...]]]]:
    """Each digest's rows once (two nodes of a run may hold the very same values)."""
    seen: set[bytes] = set()
    for d, rows in sets:
        if d not in seen:
            seen.add(d)
            yield d, rows


def prune_orphans(db: sqlite3.Connection) -> None:
    """Drop bodies and sets no run uses any more (after runs were deleted)."""
    db.execute("DELETE FROM finding_bodies WHERE id NOT IN (SELECT body_id FROM run_findings)")
    db.execute("DELETE FROM config_set_values WHERE set_id NOT IN (SELECT set_id FROM run_config)")
    db.execute("DELETE FROM config_sets WHERE id NOT IN (SELECT set_id FROM run_config)")


def migrate_rows_to_stored_once(db: sqlite3.Connection, execute_sql: Any) -> None:
    """Schema 4: move the findings and config_values tables (one row per run and value) into
    bodies and sets, run by run, with the code that stores new runs; the old names become views.

    ``execute_sql`` runs a block of statements inside the migration's transaction."""
    execute_sql(SCHEMA_SQL)
    previous: int | None = None
    run_ids = [r[0] for r in db.execute("SELECT DISTINCT run_id FROM findings ORDER BY run_id")]
    for run_id in run_ids:
        rows = db.execute(f"SELECT {', '.join(FINDING_COLUMNS)} FROM findings WHERE run_id = ? ORDER BY seq",
                          (run_id,)).fetchall()
        store_findings(db, run_id, [tuple(r) for r in rows], previous)
        previous = run_id
    previous = None
    run_ids = [r[0] for r in db.execute("SELECT DISTINCT run_id FROM config_values ORDER BY run_id")]
    for run_id in run_ids:
        per_node: dict[str, list[tuple[Any, ...]]] = {}
        for r in db.execute(f"SELECT node, {', '.join(CONFIG_COLUMNS)} FROM config_values WHERE run_id = ?"
                            " ORDER BY rowid", (run_id,)):
            per_node.setdefault(r[0], []).append(tuple(r[1:]))
        store_config(db, run_id, per_node, previous)
        previous = run_id
    execute_sql("DROP TABLE findings; DROP TABLE config_values")
    execute_sql(VIEWS_SQL)
