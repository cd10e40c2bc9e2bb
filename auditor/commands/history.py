"""``auditor history``: list recorded runs, newest first, and prune old ones.

The point is to find the run ids that ``auditor drift`` and ``auditor baseline set`` take,
and to see at a glance whether things get better or worse night after night.
"""

from __future__ import annotations

import json

import click
from tabulate import tabulate

from auditor.history.options import history_option, json_option, open_history
from auditor.history.store import SEVERITIES, get_baseline, list_runs, prune_runs
from auditor.safetext import one_line_cells


@click.command("history")
@history_option
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many runs to show.")
@click.option("--cluster", default=None, help="Only runs of this cluster (a history file may hold several).")
@click.option("--prune-keep", type=click.IntRange(min=1), default=None, metavar="N",
              help="Delete all but the newest N runs per cluster (pinned baselines are kept), then list.")
@json_option
def command(history_path: str | None, limit: int, cluster: str | None, prune_keep: int | None,
            as_json: bool) -> None:
    """List recorded audit runs (newest first) with failing counts by severity.

    Exit codes: 0 listed (also when no run matches), 2 no history database, or it cannot be
    read.
    """
    db, path = open_history(history_path)
    try:
        if prune_keep is not None:
            removed = prune_runs(db, prune_keep)
            click.echo(f"pruned {removed} run(s)", err=True)
        runs = list_runs(db, limit=limit, cluster=cluster)
        pins = {r.cluster: get_baseline(db, r.cluster) for r in runs}
    finally:
        db.close()
    if as_json:
        out = []
        for r in runs:
            d = r.to_dict()
            pin = pins.get(r.cluster)
            d["baseline"] = bool(pin and pin["run_id"] == r.id)
            out.append(d)
        click.echo(json.dumps({"history": str(path), "runs": out}, indent=2))
        return
    if not runs:
        click.echo(f"no runs of cluster {cluster!r} recorded in {path}" if cluster else f"no runs recorded in {path}")
        return
    sev_cols = [s for s in reversed(SEVERITIES)]
    rows = []
    for r in runs:
        pin = pins.get(r.cluster)
        mark = "*" if pin and pin["run_id"] == r.id else ""
        rows.append([
            f"{r.id}{mark}", r.finished_at or "", r.cluster, r.source,
            f"{r.nodes_total - r.nodes_unreachable}/{r.nodes_total}",
            *[r.failing.get(s, 0) for s in sev_cols],
            r.status_counts.get("waived", 0), "" if r.exit_code is None else r.exit_code, r.tool_version,
        ])
    headers = ["run", "finished (UTC)", "cluster", "source", "nodes ok",
               *sev_cols, "waived", "exit", "version"]
    click.echo(tabulate(one_line_cells(rows), headers=headers, tablefmt="simple", disable_numparse=True))
    if any(r[0].endswith("*") for r in rows):
        click.echo("* pinned baseline")
