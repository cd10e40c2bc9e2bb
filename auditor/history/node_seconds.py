"""How long each node's live collection took in a cluster's latest live run, read back from the
history so the next collection can start the slowest nodes first (:mod:`auditor.collect.order`).

The seconds are written with the run's nodes (``run_nodes.seconds``, :class:`NodeRecord`); a run
from a snapshot has none and is skipped.
"""

from __future__ import annotations

import sqlite3


def previous_collection_seconds(db: sqlite3.Connection, cluster: str) -> dict[str, float]:
    """How long collecting each node took in the cluster's latest run that collected live
    (node name, lower-cased -> seconds); empty when no such run is recorded.

    A node that timed out last time counts with the time it held its slot (its deadline):
    started first, it no longer holds the whole run open for a deadline after everything else.
    """
    row = db.execute("SELECT id FROM runs WHERE cluster = ? AND EXISTS (SELECT 1 FROM run_nodes"
                     " WHERE run_nodes.run_id = runs.id AND run_nodes.seconds IS NOT NULL) ORDER BY id DESC LIMIT 1",
                     (cluster,)).fetchone()
    if row is None:
        return {}
    rows = db.execute("SELECT name, seconds FROM run_nodes WHERE run_id = ? AND seconds IS NOT NULL", (row[0],))
    return {r["name"].lower(): float(r["seconds"]) for r in rows}
