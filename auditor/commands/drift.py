"""``auditor drift [RUN_A [RUN_B]]``: what changed between two recorded runs.

Without arguments: the latest run against the pinned baseline of its cluster, or against
the previous run when nothing is pinned. With one run: that run against its baseline or
previous run. With two: exactly those (A older, B newer, though any order works).
"""

from __future__ import annotations

import json
from typing import Any

import click
from tabulate import tabulate as _tabulate

from auditor.errors import InputError
from auditor.history.drift import Drift, compare_runs, default_drift
from auditor.history.options import history_option, json_option, open_history
from auditor.history.store import latest_run_id, resolve_run_ref
from auditor.safetext import one_line, one_line_cells
from auditor.vocab import ExitStatus


def tabulate(rows: list[list[Any]], headers: list[str]) -> str:
    # Values are shown as text: "0080" or "45" must not be reformatted or right-aligned; each
    # cell is one line (a node name or key from the data cannot break the table).
    return _tabulate(one_line_cells(rows), headers=headers, disable_numparse=True)


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = one_line(text)  # a value is one cell: no line break, no control character
    return text if len(text) <= width else text[: width - 1] + "…"


def render_drift_text(drift: Drift) -> str:
    """Human-readable drift: one section per kind of change, empty sections left out."""
    kind = {"pinned": " (pinned baseline)", "previous": " (previous run)"}.get(drift.baseline_kind, "")
    out = [f"Drift from run {drift.run_a.id}{kind}, finished {drift.run_a.finished_at}, "
           f"to run {drift.run_b.id}, finished {drift.run_b.finished_at}"]
    if drift.run_a.cluster != drift.run_b.cluster:
        out.append(f"warning: runs are of different clusters ({drift.run_a.cluster!r} vs {drift.run_b.cluster!r})")
    if drift.empty:
        out.append("")
        out.append("No changes.")
        return "\n".join(out)
    if drift.nodes:
        out += ["", f"Nodes ({len(drift.nodes)}):"]
        out.append(tabulate([[n.node, n.change, n.before or "-", n.after or "-", n.reason] for n in drift.nodes],
                            headers=["node", "change", "before", "after", "reason"]))
    if drift.new:
        out += ["", f"New failing findings ({len(drift.new)}):"]
        out.append(tabulate([[f.severity.value, f.check_id, f.node or "(cluster)", f.subject, f.status.value,
                              _short(f.message, 80)] for f in drift.new],
                            headers=["severity", "check", "node", "subject", "status", "message"]))
    if drift.resolved:
        out += ["", f"Resolved ({len(drift.resolved)}):"]
        out.append(tabulate([[f.severity.value, f.check_id, f.node or "(cluster)", f.subject, now]
                             for f, now in drift.resolved],
                            headers=["severity", "check", "node", "subject", "now"]))
    if drift.changed:
        out += ["", f"Changed findings ({len(drift.changed)}):"]
        rows = []
        for c in drift.changed:
            what = "; ".join(f"{name}: {_short(c.before[name], 30)} -> {_short(c.after[name], 30)}" for name in c.fields)
            rows.append([c.check_id, c.node or "(cluster)", c.subject, what])
        out.append(tabulate(rows, headers=["check", "node", "subject", "change"]))
    if drift.config_changes:
        out += ["", f"Configuration values ({len(drift.config_changes)}):"]
        out.append(tabulate([[c.node, c.file, c.key, c.change,
                              "-" if c.before is None else _short(c.before, 40),
                              "-" if c.after is None else _short(c.after, 40)] for c in drift.config_changes],
                            headers=["node", "file", "key", "change", "before", "after"]))
    return "\n".join(out)


@click.command("drift")
@click.argument("runs", nargs=-1, metavar="[RUN_A [RUN_B]]")
@history_option
@click.option("--cluster", default=None, help="With no run given: use the latest run of this cluster.")
@click.option("--fail-on-new", is_flag=True, help="Exit 1 when something new fails (for scripts and CI).")
@click.option("--baseline", "from_baseline", is_flag=True,
              help="From the cluster's pinned baseline (e.g. a precheck) to RUN_B (default: the latest run).")
@json_option
def command(runs: tuple[str, ...], history_path: str | None, cluster: str | None, fail_on_new: bool,
            from_baseline: bool, as_json: bool) -> None:
    """Show what changed between two audit runs: new, resolved and changed findings,
    configuration values and node reachability.

    RUN is a run id from 'auditor history', or latest, previous, baseline.
    --baseline: from the pinned baseline (after 'auditor precheck', exactly what the change
    changed) to RUN_B or the latest run.
    Exit codes: 0 shown, 1 new failures with --fail-on-new, 2 unknown run or no history.
    """
    if len(runs) > 2:
        raise InputError("give at most two runs: auditor drift [RUN_A [RUN_B]]")
    if from_baseline:
        if len(runs) > 1:
            raise InputError("with --baseline give at most one run (the newer one): auditor drift --baseline [RUN_B]")
        runs = ("baseline", runs[0] if runs else "latest")
    db, path = open_history(history_path)
    try:
        if len(runs) == 2:
            drift = compare_runs(db, resolve_run_ref(db, runs[0], cluster), resolve_run_ref(db, runs[1], cluster))
        else:
            rid = resolve_run_ref(db, runs[0], cluster) if runs else latest_run_id(db, cluster)
            if rid is None:
                raise InputError(f"no runs recorded in {path}" + (f" for cluster {cluster!r}" if cluster else ""))
            drift = default_drift(db, rid)
            if drift is None:
                raise InputError(f"run {rid} is the first run of its cluster: nothing to compare with")
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(drift.to_dict(), indent=2, default=str))
    else:
        click.echo(render_drift_text(drift))
    if fail_on_new and drift.new:
        click.get_current_context().exit(ExitStatus.FINDINGS)
