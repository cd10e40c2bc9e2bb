"""Which stored rows can differ between two runs, found inside SQLite (drift at 5,000 nodes).

Drift between two runs of a healthy 5,000-node cluster compares 90,000 findings and 70,000
configuration values per run, of which almost none changed. Loading every row of both runs
into Python objects took seconds (the current run was read back although it had just been
written from memory). Here SQLite finds the few rows that may matter, and only those are
loaded; :mod:`auditor.history.drift` then applies its rules to them exactly as before:

* a finding key (check, subject) is loaded when one of its rows' body (all its stored columns,
  :mod:`auditor.history.stored_once`) is not used exactly once by each run, or when the key is
  duplicated in either run (the "worst one counts" rule then needs all its rows). A key whose
  single row is the same body in both runs cannot be new, resolved or changed.
* a node's config values are loaded when its set of (file, key, value) rows is not the same set
  in both runs, under any spelling of the node's name that lower-cases to the same (drift
  matches names case-insensitively). A node with the same set in both runs has no config change.

Both compare integer ids, not the text of every row: a few hundred thousand ids at 5,000 nodes.
"""

from __future__ import annotations

import sqlite3

KEYS_TABLE = "temp.drift_keys"

# A body used once by each run forms a group of two with different run ids; anything else
# (in one run only, or more than once) makes its key a candidate.
_TWINLESS_FINDINGS = """
    SELECT check_id, subject FROM finding_bodies WHERE id IN (
        SELECT body_id FROM run_findings WHERE run_id IN (:a, :b)
        GROUP BY body_id HAVING COUNT(*) != 2 OR MIN(run_id) = MAX(run_id))
    UNION
    SELECT check_id, subject FROM run_duplicate_keys WHERE run_id IN (:a, :b)
"""

_TWINLESS_CONFIG = """
    SELECT DISTINCT node FROM (
        SELECT node FROM run_config WHERE run_id IN (:a, :b)
        GROUP BY node, set_id HAVING COUNT(*) != 2 OR MIN(run_id) = MAX(run_id))
"""


def fill_changed_finding_keys(db: sqlite3.Connection, run_a: int, run_b: int) -> str:
    """Fill the temporary keys table with the finding keys that may differ; returns its name."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (check_id TEXT NOT NULL, subject TEXT NOT NULL,"
               " PRIMARY KEY (check_id, subject)) WITHOUT ROWID")
    db.execute(f"DELETE FROM {KEYS_TABLE}")
    db.execute(f"INSERT OR IGNORE INTO {KEYS_TABLE} (check_id, subject) {_TWINLESS_FINDINGS}",
               {"a": run_a, "b": run_b})
    return KEYS_TABLE


def changed_config_nodes(db: sqlite3.Connection, run_a: int, run_b: int) -> set[str]:
    """Every spelling, in either run, of the nodes whose config rows differ between the runs."""
    differ = {r[0].lower() for r in db.execute(_TWINLESS_CONFIG, {"a": run_a, "b": run_b})}
    if not differ:
        return set()
    spellings = db.execute("SELECT DISTINCT node FROM run_config WHERE run_id IN (?, ?)", (run_a, run_b))
    return {r[0] for r in spellings if r[0].lower() in differ}
