"""``auditor collect``: gather every node of an inventory into a snapshot folder.

The snapshot is what ``auditor audit --from DIR`` audits offline, what support can be sent
instead of remote access, and what the lab can serve back as a simulated cluster.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from auditor.collect.cli_options import collection_options, setup_from_options, terminal_events
from auditor.collect.runner import CollectionResult, collect_cluster
from auditor.collect.snapshot import prepare_out_dir, write_snapshot
from auditor.outdir import folder_for_run
from auditor.safetext import one_line
from auditor.vocab import ExitStatus, NodeStatus


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name.lower())]


LIST_ALL_UP_TO = 40


def print_summary(result: CollectionResult) -> None:
    """One line per node (failures first, so they are seen), then a total.

    Above LIST_ALL_UP_TO nodes only the failed ones are listed: a 500-line wall of "ok"
    would hide the three lines that matter (every node is in manifest.json anyway).
    """
    stats = {s.name: s for s in result.stats}
    rows = sorted(result.nodes, key=lambda n: (n.status == NodeStatus.OK, _natural(n.name)))
    hidden = 0
    if len(rows) > LIST_ALL_UP_TO:
        hidden = sum(1 for n in rows if n.status == NodeStatus.OK)
        rows = [n for n in rows if n.status != NodeStatus.OK]
    width = max([len(one_line(n.name)) for n in rows] + [4])
    for n in rows:
        s = stats.get(n.name)
        extra = f"{s.seconds:6.2f}s  {s.attempts} attempt(s)" if s else ""
        line = f"{one_line(n.name):<{width}}  {n.status:<8} {extra}"
        if n.reason:
            line += f"  {one_line(n.reason)}"
        click.echo(line)
    if hidden:
        click.echo(f"({hidden} node(s) collected ok, not listed; see manifest.json)")
    ok = len(result.nodes) - len(result.failed)
    click.echo(f"collected {ok}/{len(result.nodes)} node(s) in {result.seconds:.2f}s"
               f" ({result.cpu_seconds:.2f}s of CPU on this host)"
               + (f", {len(result.failed)} failed" if result.failed else ""))
    if result.concurrency is not None:
        click.echo(result.concurrency.describe())


@click.command("collect")
@collection_options(inventory_required=True)
@click.option("--out", "-o", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              metavar="DIR", help="Snapshot folder to write (node folders + manifest.json).")
@click.option("--force", is_flag=True, default=False,
              help="Write into a non-empty folder that is not a previous snapshot.")
def command(inventory, profile, allow_basic_http, insecure_skip_verify, concurrency, deadline, no_progress,
            out: Path, force: bool) -> None:
    """Collect configuration and service state from every node into a snapshot folder.

    \b
    Exit codes:
      0    every node collected
      2    bad input (inventory, profile, --out)
      3    some node could not be collected (the snapshot is still written, with
           the reason for each failed node)
      130  interrupted (Ctrl-C): no snapshot is written, a new --out folder is
           removed again, and the nodes still pending are named
    """
    inv, prof, security = setup_from_options(inventory, profile, allow_basic_http, insecure_skip_verify,
                                             concurrency, deadline)
    prepare_out_dir(out, force=force)  # refuse early, before anyone types a password
    # ... and a folder that cannot be created must not throw a long collection away
    with folder_for_run(out, "the snapshot folder"):  # removed again if interrupted while still empty
        result = collect_cluster(inv, prof, security=security, events=terminal_events(progress=not no_progress))
    manifest = write_snapshot(result, inv, prof, out, force=force)
    # the snapshot writer may refuse a node's data (a path that would escape its folder):
    # the manifest, not the collection result, says what the snapshot really holds
    refused = {e.name: e for e in manifest.nodes if e.status != NodeStatus.OK}
    for state in result.nodes:
        if state.status == NodeStatus.OK and state.name in refused:
            state.status, state.reason = refused[state.name].status, refused[state.name].reason
    print_summary(result)
    click.echo(f"snapshot written to {out}")
    if refused:
        click.get_current_context().exit(ExitStatus.UNREACHABLE)
