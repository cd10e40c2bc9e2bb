"""The history store: one SQLite file holding every audit run, so drift and trends can be
computed without re-reading old reports.

Why SQLite: a nightly job on a Windows print server needs nothing installed, the file can be
copied for support, and WAL mode lets ``auditor history`` read while an audit writes.

Rules this module keeps:

* The file is opened and migrated by :mod:`auditor.history.schema` (``connect``).
* A run is written in one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): a crash or a
  kill during ``record_run`` leaves either the whole run or nothing.
* Values of configuration keys that look like secrets are masked *before* they reach the
  file (see :func:`auditor.secretkeys.mask_config_value`); the store never holds a password.
* The store takes plain data (:class:`RunRecord`), not the report object, so the report
  pipeline can change shape without touching history.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from auditor import __version__
from auditor.errors import InputError
from auditor.findings import Finding, Severity, Status, sources_from_dict
from auditor.history.rows import finding_bodies, from_json, run_counts, severity_text, status_text, to_json
from auditor.history.schema import (  # HistoryError, connect: also reachable here, as before the split
    SEVERITIES,
    STATUSES,
    HistoryError,  # noqa: F401
    connect,  # noqa: F401
)
from auditor.history.stored_once import prune_orphans, store_config, store_findings
from auditor.secretkeys import DEFAULT_SECRET_PATTERNS, compile_patterns, mask_value
from auditor.vocab import NodeStatus, iso_utc, utc_now

ENV_HISTORY = "PARAGON_AUDITOR_HISTORY"
"""Environment variable naming the history file (overridden by ``--history``)."""




# --------------------------------------------------------------------------------------
# Where the file lives
# --------------------------------------------------------------------------------------
def default_history_path() -> Path:
    """``~/.paragon-auditor/history.sqlite`` (per user, so a service account gets its own)."""
    return Path.home() / ".paragon-auditor" / "history.sqlite"


def resolve_history_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--history`` wins, then ``PARAGON_AUDITOR_HISTORY``, then the default path."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get(ENV_HISTORY, "").strip()
    if env:
        return Path(env).expanduser()
    return default_history_path()


# --------------------------------------------------------------------------------------
# Plain data the caller gives us
# --------------------------------------------------------------------------------------
@dataclass
class NodeRecord:
    """One audited node: ``status`` is ``ok`` or the collection failure kind (NodeState.status);
    ``seconds`` how long collecting it took (None from a snapshot: auditor.history.node_seconds)."""

    name: str
    status: NodeStatus = NodeStatus.OK
    reason: str = ""
    seconds: float | None = None

    def __post_init__(self) -> None:
        self.status = NodeStatus(self.status)

    @property
    def reachable(self) -> bool:
        return self.status == NodeStatus.OK


class ConfigValue(NamedTuple):
    """One configuration value seen on a node (``file`` is the Windows path).

    A named tuple rather than a dataclass: a 5,000-node run builds 200,000 of them."""

    node: str
    file: str
    key: str
    value: str | None


@dataclass
class RunRecord:
    """Everything :func:`record_run` stores about one audit run.

    Build it from whatever the pipeline has: findings (after waivers), the nodes with their
    collection status, and run metadata. ``config_values`` are optional (node, file, key,
    value) tuples or :class:`ConfigValue`; secret-looking keys are masked on the way in.
    ``meta`` is free-form JSON-able extra data (report paths, inventory file...).
    """

    findings: list[Finding]
    nodes: list[NodeRecord] = field(default_factory=list)
    config_values: list[ConfigValue] = field(default_factory=list)
    started_at: datetime | str | None = None
    finished_at: datetime | str | None = None
    tool_version: str = __version__
    profile: str = ""
    source: str = ""
    cluster: str = ""
    exit_code: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes = [n if isinstance(n, NodeRecord) else _node_from_any(n) for n in self.nodes]
        self.config_values = [
            c if isinstance(c, ConfigValue) else ConfigValue(*c)  # type: ignore[misc]
            for c in self.config_values
        ]

    def counts(self) -> dict[str, Any]:
        """Counts by status and failing counts (fail + error) by severity."""
        return run_counts(Counter((status_text(f.status), severity_text(f.severity)) for f in self.findings))


def _node_from_any(n: Any) -> NodeRecord:
    """Accept a NodeState-like object or a dict, so callers need not convert by hand."""
    if isinstance(n, dict):
        return NodeRecord(name=str(n["name"]), status=str(n.get("status", "ok")), reason=str(n.get("reason", "") or ""))
    return NodeRecord(name=str(n.name), status=str(getattr(n, "status", "ok")), reason=str(getattr(n, "reason", "") or ""))


@dataclass
class RunInfo:
    """A row of the ``runs`` table as the commands and reports see it."""

    id: int
    started_at: str | None
    finished_at: str | None
    tool_version: str
    profile: str
    source: str
    cluster: str
    exit_code: int | None
    status_counts: dict[str, int]
    failing: dict[str, int]
    nodes_total: int
    nodes_unreachable: int
    meta: dict[str, Any]

    @property
    def failing_total(self) -> int:
        return sum(self.failing.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "tool_version": self.tool_version,
            "profile": self.profile,
            "source": self.source,
            "cluster": self.cluster,
            "exit_code": self.exit_code,
            "counts": dict(self.status_counts),
            "failing": dict(self.failing),
            "nodes_total": self.nodes_total,
            "nodes_unreachable": self.nodes_unreachable,
            "meta": dict(self.meta),
        }


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return iso_utc(value)  # a naive datetime is taken as UTC: the pipeline works in UTC


# --------------------------------------------------------------------------------------
# Writing a run
# --------------------------------------------------------------------------------------
def _config_rows(values: Iterable[ConfigValue], compiled: list[re.Pattern[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Per node, its (file, key, value, masked) rows with secret values masked."""
    per_node: dict[str, list[tuple[Any, ...]]] = {}
    secret_keys: dict[str, bool] = {}  # a few hundred distinct keys among 200,000 values at 5,000 nodes
    for node, file, key, value in values:
        secret = secret_keys.get(key)
        if secret is None:
            secret = secret_keys[key] = any(rx.search(key) for rx in compiled)
        rows = per_node.get(node)
        if rows is None:
            rows = per_node[node] = []
        if secret or not (value is None or type(value) is str):
            value, masked = mask_value(key, value, compiled, secret)
            rows.append((file, key, value, 1 if masked else 0))
        else:
            rows.append((file, key, value, 0))  # what mask_value returns for it
    return per_node


def record_run(db: sqlite3.Connection, run: RunRecord, *, secret_patterns: Sequence[str] = ()) -> int:
    """Store one run in a single transaction and return its id.

    ``secret_patterns`` are extra regular expressions (e.g. the profile's
    ``management_conf.secret_key_patterns``) on top of :data:`DEFAULT_SECRET_PATTERNS`.
    Findings and config values are stored once however many runs repeat them
    (:mod:`auditor.history.stored_once`).
    """
    compiled = compile_patterns((*DEFAULT_SECRET_PATTERNS, *secret_patterns))
    bodies = finding_bodies(run.findings)
    counts = run_counts(Counter(map(itemgetter(3, 4), bodies)))  # (status, severity)
    per_node = _config_rows(run.config_values, compiled)
    unreachable = sum(1 for n in run.nodes if not n.reachable)
    cols = ["started_at", "finished_at", "recorded_at", "tool_version", "profile", "source", "cluster",
            "exit_code", "nodes_total", "nodes_unreachable", "meta_json"]
    vals: list[Any] = [_iso(run.started_at), _iso(run.finished_at) or utc_now(), utc_now(), run.tool_version,
                       run.profile, run.source, run.cluster, run.exit_code, len(run.nodes), unreachable,
                       to_json(run.meta or {})]
    for s in STATUSES:
        cols.append(f"n_{s}")
        vals.append(counts["status"][s])
    for s in SEVERITIES:
        cols.append(f"fail_{s}")
        vals.append(counts["failing"][s])

    db.execute("BEGIN IMMEDIATE")
    try:
        previous = latest_run_id(db, run.cluster)  # the run most likely to share rows with this one
        cur = db.execute(f"INSERT INTO runs({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", vals)
        run_id = int(cur.lastrowid)  # type: ignore[arg-type]
        seen_nodes: set[str] = set()
        node_rows = []
        for n in run.nodes:
            if n.name in seen_nodes:
                continue
            seen_nodes.add(n.name)
            node_rows.append((run_id, n.name, n.status, n.reason or "", n.seconds))
        db.executemany("INSERT INTO run_nodes(run_id, name, status, reason, seconds) VALUES (?,?,?,?,?)", node_rows)
        store_findings(db, run_id, bodies, previous)
        store_config(db, run_id, per_node, previous)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return run_id


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------
def _run_from_row(row: sqlite3.Row) -> RunInfo:
    return RunInfo(
        id=int(row["id"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        tool_version=row["tool_version"],
        profile=row["profile"],
        source=row["source"],
        cluster=row["cluster"],
        exit_code=row["exit_code"],
        status_counts={s: int(row[f"n_{s}"]) for s in STATUSES},
        failing={s: int(row[f"fail_{s}"]) for s in SEVERITIES},
        nodes_total=int(row["nodes_total"]),
        nodes_unreachable=int(row["nodes_unreachable"]),
        meta=json.loads(row["meta_json"] or "{}"),
    )


def list_runs(db: sqlite3.Connection, limit: int | None = 20, cluster: str | None = None) -> list[RunInfo]:
    """Newest first."""
    sql = "SELECT * FROM runs"
    args: list[Any] = []
    if cluster is not None:
        sql += " WHERE cluster = ?"
        args.append(cluster)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    return [_run_from_row(r) for r in db.execute(sql, args)]


def get_run(db: sqlite3.Connection, run_id: int) -> RunInfo:
    """The run, or an :class:`InputError` (exit 2) naming the unknown id."""
    row = db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
    if row is None:
        raise InputError(f"unknown run id {run_id} (see 'auditor history')")
    return _run_from_row(row)


def latest_run_id(db: sqlite3.Connection, cluster: str | None = None) -> int | None:
    if cluster is None:
        row = db.execute("SELECT MAX(id) FROM runs").fetchone()
    else:
        row = db.execute("SELECT MAX(id) FROM runs WHERE cluster = ?", (cluster,)).fetchone()
    return None if row[0] is None else int(row[0])


def previous_run_id(db: sqlite3.Connection, run_id: int) -> int | None:
    """The run recorded just before ``run_id`` for the same cluster."""
    run = get_run(db, run_id)
    row = db.execute("SELECT MAX(id) FROM runs WHERE cluster = ? AND id < ?", (run.cluster, run.id)).fetchone()
    return None if row[0] is None else int(row[0])


def resolve_run_ref(db: sqlite3.Connection, ref: str | int, cluster: str | None = None) -> int:
    """Turn what an admin typed (``42``, ``latest``, ``previous``, ``baseline``) into a run id."""
    text = str(ref).strip().lower()
    if text in ("latest", "last"):
        rid = latest_run_id(db, cluster)
        if rid is None:
            raise InputError("the history holds no runs yet")
        return rid
    if text in ("previous", "prev"):
        latest = resolve_run_ref(db, "latest", cluster)
        rid = previous_run_id(db, latest)
        if rid is None:
            raise InputError(f"run {latest} has no previous run")
        return rid
    if text == "baseline":
        latest = resolve_run_ref(db, "latest", cluster)
        pin = get_baseline(db, get_run(db, latest).cluster)
        if pin is None:
            raise InputError("no baseline is pinned (auditor baseline set RUN)")
        return pin["run_id"]
    try:
        rid = int(text)
    except ValueError:
        raise InputError(f"unknown run id {ref!r}: give a number, 'latest', 'previous' or 'baseline'") from None
    get_run(db, rid)  # raises for unknown ids
    return rid


def load_nodes(db: sqlite3.Connection, run_id: int) -> list[NodeRecord]:
    rows = db.execute("SELECT name, status, reason, seconds FROM run_nodes WHERE run_id = ? ORDER BY name",
                      (run_id,))
    return [NodeRecord(r["name"], r["status"], r["reason"], r["seconds"]) for r in rows]



def load_findings(db: sqlite3.Connection, run_id: int, keys_table: str | None = None) -> list[Finding]:
    """The findings of a run in their order; with ``keys_table`` (a table of ``check_id, subject``
    rows, see :mod:`auditor.history.changed_rows`) only the findings with those keys."""
    if keys_table is None:
        rows = db.execute("SELECT * FROM findings WHERE run_id = ? ORDER BY seq", (run_id,))
    elif db.execute(f"SELECT 1 FROM {keys_table} LIMIT 1").fetchone() is None:
        return []  # no key can differ (the usual nightly run)
    else:
        rows = db.execute(f"SELECT f.* FROM findings f JOIN {keys_table} k ON f.check_id = k.check_id"
                          " AND f.subject = k.subject WHERE f.run_id = ? ORDER BY f.seq", (run_id,))
    return [
        Finding(
            check_id=r["check_id"],
            status=Status(r["status"]),
            severity=Severity(r["severity"]),
            node=r["node"],
            subject=r["subject"],
            message=r["message"],
            expected=from_json(r["expected_json"]),
            actual=from_json(r["actual_json"]),
            fixable=bool(r["fixable"]),
            file=r["file"],
            line=r["line"],
            details=from_json(r["details_json"]) or {},
            waiver=from_json(r["waiver_json"]),
            expected_sources=sources_from_dict(from_json(r["expected_sources_json"])),
        )
        for r in rows
    ]


def load_config_values(db: sqlite3.Connection, run_id: int, nodes: Iterable[str] | None = None) -> list[ConfigValue]:
    """The config values of a run; with ``nodes`` (exact spellings) only those nodes' values."""
    if nodes is None:
        rows = db.execute(
            "SELECT node, file, key, value FROM config_values WHERE run_id = ? ORDER BY node, file, key", (run_id,)
        )
        return [ConfigValue(r["node"], r["file"], r["key"], r["value"]) for r in rows]
    out: list[ConfigValue] = []
    for node in sorted(set(nodes)):
        rows = db.execute("SELECT node, file, key, value FROM config_values WHERE run_id = ? AND node = ?"
                          " ORDER BY file, key", (run_id, node))
        out.extend(ConfigValue(r["node"], r["file"], r["key"], r["value"]) for r in rows)
    return out


# --------------------------------------------------------------------------------------
# Baseline pin (one per cluster: a history file may hold several clusters)
# --------------------------------------------------------------------------------------
def set_baseline(db: sqlite3.Connection, run_id: int, note: str = "") -> dict[str, Any]:
    run = get_run(db, run_id)
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "INSERT INTO baseline(cluster, run_id, pinned_at, note) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(cluster) DO UPDATE SET run_id = excluded.run_id, pinned_at = excluded.pinned_at,"
            " note = excluded.note",
            (run.cluster, run.id, utc_now(), note),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    pin = get_baseline(db, run.cluster)
    assert pin is not None
    return pin


def get_baseline(db: sqlite3.Connection, cluster: str) -> dict[str, Any] | None:
    row = db.execute("SELECT cluster, run_id, pinned_at, note FROM baseline WHERE cluster = ?", (cluster,)).fetchone()
    return None if row is None else dict(row)


def list_baselines(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT cluster, run_id, pinned_at, note FROM baseline ORDER BY cluster")]


def clear_baseline(db: sqlite3.Connection, cluster: str | None = None) -> int:
    """Remove the pin of ``cluster`` (all pins when None); returns how many were removed."""
    if cluster is None:
        cur = db.execute("DELETE FROM baseline")
    else:
        cur = db.execute("DELETE FROM baseline WHERE cluster = ?", (cluster,))
    return int(cur.rowcount)


# --------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------
def prune_runs(db: sqlite3.Connection, keep: int) -> int:
    """Delete all but the newest ``keep`` runs per cluster; pinned baselines are always kept.

    Returns the number of runs deleted. Nightly runs with config values grow the file by
    a few hundred KB a run; a year of history is fine, ten years on a small disk is not.
    """
    if keep < 1:
        raise InputError("--keep must be at least 1")
    db.execute("BEGIN IMMEDIATE")
    try:
        cur = db.execute(
            "DELETE FROM runs WHERE id IN ("
            " SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY cluster ORDER BY id DESC) AS rn FROM runs)"
            " WHERE rn > ?) AND id NOT IN (SELECT run_id FROM baseline)",
            (keep,),
        )
        prune_orphans(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return int(cur.rowcount)
