"""``auditor audit``: collect (or load a snapshot), run the checks, write the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from auditor.audit import (
    FAIL_ON_CHOICES,
    check_catalogue,
    exit_code_for,
    parse_formats,
    run_audit,
    select_checks,
    select_nodes,
    utc_now,
    write_reports,
)
from auditor.collect.cli_options import collection_options, setup_from_options, terminal_events
from auditor.collect.source import collect_live, read_snapshot, require_one_source
from auditor.errors import AuditorError
from auditor.history.options import AuditExtras, audit_history_options, setup_audit_extras
from auditor.outdir import make_folder, remove_if_empty
from auditor.profile import Profile, load_profile
from auditor.reports import RENDERERS
from auditor.reports.console import render_console
from auditor.reports.model import redact_argv
from auditor.terminal import output_width

HELP = f"""Audit a Dispatcher Paragon cluster and write reports.

\b
Live:     auditor audit --inventory cluster.yaml --out reports/
Offline:  auditor audit --from SNAPSHOT_DIR --out reports/

Formats (--format, comma-separated): {", ".join(RENDERERS)}.
Files written in --out: {", ".join(f"{fn} ({name})" for name, (fn, _) in RENDERERS.items())}.

\b
Exit codes:
  0  clean: no fail/error finding at or above --fail-on
  1  fail/error findings at or above --fail-on
  2  usage or input error (bad option, unreadable inventory/profile/snapshot)
  3  some node could not be audited (wins over 1: the audit is incomplete;
     --fail-on never does not silence it)
  130  interrupted (Ctrl-C): no report is written, a new --out folder is
       removed again, and the nodes still pending are named
"""


def _command_line(ctx: click.Context) -> str:
    """The command as the user effectively gave it (options not left at their default),
    rebuilt from the parsed parameters so it never depends on how we were launched."""
    argv = ["auditor", ctx.info_name or "audit"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name == "DEFAULT":
            continue
        value = ctx.params.get(param.name)
        flag = max(param.opts, key=len)
        if param.is_flag:
            if value:
                argv.append(flag)
        elif param.multiple:
            for v in value or ():
                argv += [flag, str(v)]
        elif value is not None:
            argv += [flag, str(value)]
    return redact_argv(argv)


@click.command("audit", help=HELP, short_help="Audit the cluster and write reports (HTML, JSON, JUnit, CSV).")
@collection_options()
@click.option("--from", "from_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              metavar="SNAPSHOT_DIR", help="Audit a snapshot or scenario folder (with manifest.json) offline.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("audit-report"),
              show_default=True, metavar="DIR", help="Folder the reports are written to.")
@click.option("--format", "formats", multiple=True, default=("html,json",), show_default=True, metavar="LIST",
              help=f"Report formats, comma-separated or repeated: {','.join(RENDERERS)}.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES, case_sensitive=False), default="high",
              show_default=True, help="Lowest severity of a fail/error finding that makes the exit code 1.")
@click.option("--check", "checks", multiple=True, metavar="ID", help="Run only this check (repeatable).")
@click.option("--node", "nodes", multiple=True, metavar="NAME",
              help="Report only this node (repeatable); the whole cluster is still read for cross-node checks.")
@click.option("--quiet", "-q", is_flag=True, default=False,
              help="No progress and no finding list: only the summary table, unreachable nodes and file paths.")
@click.option("--wide", is_flag=True, default=False,
              help="One line per finding in the console, however long (for logs and grep); "
                   "by default long messages wrap to the terminal width.")
@audit_history_options
@click.pass_context
def command(ctx: click.Context, inventory: Path | None, profile: Path | None, from_dir: Path | None,
            out_dir: Path, formats: tuple[str, ...], fail_on: str, checks: tuple[str, ...], nodes: tuple[str, ...],
            quiet: bool, wide: bool, **collect_opts: Any) -> None:
    require_one_source(inventory, from_dir, collect_opts)
    # Validate everything cheap before a possibly long collection.
    format_names = parse_formats(formats)
    fail_on = fail_on.lower()
    catalogue = check_catalogue()
    only_checks = select_checks(checks, catalogue)
    command_line = _command_line(ctx)

    history_opts = {k: collect_opts.pop(k) for k in list(collect_opts) if k in _HISTORY_PARAMS}
    try:
        if from_dir is not None:
            prof = load_profile(profile)
            extras = _extras(history_opts, prof)
            data = read_snapshot(from_dir, utc_now())
        else:
            inv, prof, security = setup_from_options(inventory, profile, **collect_opts)
            select_nodes(nodes, [n.name for n in inv.nodes])  # unknown --node: fail before collecting
            extras = _extras(history_opts, prof)
            events = terminal_events(progress=not (quiet or collect_opts.get("no_progress")))
            created = make_folder(out_dir, "report folder")  # an unusable --out fails now, not after collecting
            previous = extras.history.previous_seconds(inv.cluster) if extras.history is not None else None
            try:
                data = collect_live(inv, prof, security, events, inventory, previous)
            except BaseException:  # Ctrl-C, no password entered ...: no empty report folder left behind
                remove_if_empty(created)
                raise
        if extras.history is not None:
            extras.history.cluster = data.name
            extras.history.node_seconds = dict(data.node_seconds)
        report = run_audit(
            data.states, prof,
            only_checks=only_checks, only_nodes=nodes or None,
            source_label=data.label, source_kind=data.kind, command_line=command_line,
            fail_on=fail_on, started_at=data.started_at, catalogue=catalogue,
            waivers=extras.waivers, history=extras.history, today=extras.today, declared=data.declared,
            collection_cpu_seconds=data.collection_cpu_seconds,
        )
    except (OSError, UnicodeDecodeError) as exc:  # unreadable input: a message, never a traceback
        raise AuditorError(f"cannot read input: {exc}") from None
    written = write_reports(report, out_dir, format_names)
    width = output_width(wide)
    click.echo(render_console(report, written, details=not quiet, width=width), nl=False)
    if extras.notify_config is not None:
        html = next((p for p in written if p.suffix == ".html"), None)
        result = extras.notify_after(report, str((html or out_dir).resolve()))
        if result is not None and (result.mail_sent or result.webhook_sent):
            click.echo("Notification sent: " + ", ".join(
                w for w, sent in (("mail", result.mail_sent), ("webhook", result.webhook_sent)) if sent))
    ctx.exit(exit_code_for(report, fail_on))


_HISTORY_PARAMS = ("history_path", "no_history", "waivers_path", "waiver_tz", "notify_config_path", "notify_always")


def _extras(history_opts: dict[str, Any], profile: Profile) -> AuditExtras:
    """Waiver/history/notification hooks, validated before any collection."""
    return setup_audit_extras(profile=profile, **history_opts)
