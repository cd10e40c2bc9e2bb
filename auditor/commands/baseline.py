"""``auditor baseline set|show|clear``: pin the run that drift is measured against.

Why pin: after a change window, "what changed since last night" is noise; "what differs
from the state we signed off" is the question. The pin is per cluster.
"""

from __future__ import annotations

import json

import click
from tabulate import tabulate

from auditor.commands._help import FullHelpGroup
from auditor.errors import InputError
from auditor.history.options import history_option, json_option, open_history
from auditor.history.store import clear_baseline, get_run, list_baselines, resolve_run_ref, set_baseline
from auditor.safetext import one_line_cells


@click.group("baseline", cls=FullHelpGroup)
def command() -> None:
    """Pin, show or clear the baseline run that 'auditor drift' compares with.

    Exit codes: 0 done, 2 unknown run or no history database.
    """


@command.command("set")
@click.argument("run")
@click.option("--note", default="", help="Why this run is the baseline (shown by 'baseline show').")
@history_option
def set_cmd(run: str, note: str, history_path: str | None) -> None:
    """Pin RUN (a run id from 'auditor history', or latest, previous) as the baseline of its cluster."""
    db, _ = open_history(history_path)
    try:
        rid = resolve_run_ref(db, run)
        pin = set_baseline(db, rid, note=note)
    finally:
        db.close()
    label = f" of cluster {pin['cluster']}" if pin["cluster"] else ""
    click.echo(f"baseline{label} pinned to run {pin['run_id']}")


@command.command("show")
@history_option
@json_option
def show_cmd(history_path: str | None, as_json: bool) -> None:
    """Show the pinned baseline(s)."""
    db, _ = open_history(history_path)
    try:
        pins = list_baselines(db)
        rows = []
        for p in pins:
            r = get_run(db, p["run_id"])
            rows.append({**p, "finished_at": r.finished_at, "failing": r.failing_total})
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({"baselines": rows}, indent=2))
        return
    if not rows:
        click.echo("no baseline pinned: drift compares each run with the previous one")
        return
    click.echo(tabulate(one_line_cells([r["cluster"], r["run_id"], r["finished_at"], r["failing"], r["pinned_at"],
                                        r["note"]] for r in rows),
                        headers=["cluster", "run", "run finished (UTC)", "failing", "pinned at (UTC)", "note"]))


@command.command("clear")
@click.option("--cluster", default=None, help="Clear only this cluster's pin (default: all pins).")
@history_option
def clear_cmd(cluster: str | None, history_path: str | None) -> None:
    """Remove the baseline pin: drift goes back to comparing with the previous run."""
    db, _ = open_history(history_path)
    try:
        removed = clear_baseline(db, cluster)
    finally:
        db.close()
    if cluster is not None and not removed:
        raise InputError(f"no baseline pinned for cluster {cluster!r}")
    click.echo(f"cleared {removed} baseline pin(s)")
