"""How long each node's live collection took in a cluster's latest live run, read back from the
history so the next collection can start the slowest nodes first (:mod:`auditor.collect.order`).

The seconds are written with the run's nodes (``run_nodes.seconds``, :class:`NodeRecord`); a run
from a snapshot has none and is skipped.
"""

from __future__ import annotations

import sqlite3

RUNS_CONSIDERED = 7
"""How many of the cluster's latest runs are searched for a node's last time: a week of nightly
runs, so a run narrowed with ``--node`` does not make every other node look never timed."""


def previous_collection_seconds(db: sqlite3.Connection, cluster: str) -> dict[str, float]:
    """How long collecting each node took the last time it was timed (node name, lower-cased ->
    seconds), searching the cluster's latest :data:`RUNS_CONSIDERED` runs; a node none of them
    timed (a new one, or only runs from snapshots) is absent.

    A node that timed out counts with the time it held its slot (its deadline): started first,
    it no longer holds the whole run open for a deadline after everything else.
    """
    rows = db.execute(
        "SELECT name, seconds FROM run_nodes WHERE seconds IS NOT NULL AND run_id IN"
        " (SELECT id FROM runs WHERE cluster = ? ORDER BY id DESC LIMIT ?) ORDER BY run_id DESC",
        (cluster, RUNS_CONSIDERED))
    found: dict[str, float] = {}
    for r in rows:
        found.setdefault(r["name"].lower(), float(r["seconds"]))
    return found
