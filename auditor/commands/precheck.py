"""``auditor precheck``: go / no-go before adding a Management server or updating the cluster.

This module parses options and prints; the use cases are :func:`auditor.precheck.run.run_precheck`
(the validation) and :func:`auditor.precheck.after.fix_request` (the follow-up plan after a new
Management server is installed, run by the ``auditor fix`` rollout).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from auditor.collect.cli_options import collection_options, terminal_events
from auditor.commands.fix import TerminalConsole, password_ref_from_options, service_password_options
from auditor.fixers.journal import DEFAULT_JOURNAL, DEFAULT_STATE_DIR
from auditor.fixers.plan import FixOptions
from auditor.fixers.rollout import run_fix
from auditor.history.options import history_option, no_history_option
from auditor.precheck.model import Change, PrecheckReport
from auditor.precheck.output import render_console
from auditor.precheck.run import PrecheckRequest, run_precheck

EXIT_CODES = """\b
Exit codes:
  0    go: every precondition holds (read the warnings, if any, first)
  1    no-go: a precondition does not hold (each says why and what to do)
  2    usage or input error (nothing was contacted)
  3    a node could not be collected: the change is not validated
  130  interrupted (Ctrl-C)
"""

GROUP_HELP = f"""Go / no-go before a change to the cluster, each precondition with its reason.

\b
Before adding a Management server:
  auditor precheck add-management --inventory cluster.yaml --node MGMT3
After installing it (the follow-up plan; dry run, then --apply):
  auditor precheck add-management --inventory cluster.yaml --node MGMT3 --after
Before (and during) an update:
  auditor precheck update --inventory cluster.yaml --to 6.0.113.1

A precheck that is not a no-go is recorded in the history and pinned as the cluster's
baseline, so `auditor drift --baseline` after the change shows exactly what changed.
Step by step: docs/pre-change.md.

{EXIT_CODES}"""

ADD_HELP = f"""Validate adding Management server NODE (in the inventory with roles: [management]).

NODE may answer WinRM with nothing of the product installed (it should: the precheck
runs before the server installer). Preconditions: every node collected, nothing installed on
NODE yet, no installer running anywhere, an external database, every existing Management
server healthy and on one version (NODE must be installed with it), one shared
repository.path that NODE reaches (probed on NODE), one service account for the
Infrastructure Service, a server edition of Windows on NODE, NODE's clock close to the others.
The output names what NODE needs: version, repository share, service account, and the
GUID and address the inventory declares for it.

\b
--after, once NODE is installed: the follow-up plan, run by auditor fix:
  on NODE: repository.path and the Infrastructure Service account;
  on every Spooler Controller: NODE's GUID, IP and port under the next
  free suffix, and NODE in infrastructureServiceAddresses;
  one node at a time (NODE, the other Management servers, the Site
  servers), each verified before the next: no two Spooler Controllers
  restart at once.

Dry run by default; --apply applies (after confirmation, or --yes). With
--after the exit codes are auditor fix's (docs/exit-codes.md): 0 done,
1 changes planned or blocked, 2 input error, 3 a node not collected,
4 rolled back, 5 rollback incomplete, 6 refused, 7 applied with items blocked.

{EXIT_CODES}"""

UPDATE_HELP = f"""Validate updating the cluster (to VERSION with --to), and show the order.

Preconditions: every node collected, no installer running, one product version (or, with
--to, an update in progress in which only the already-updated servers differ: a warning,
not drift), an external database, no product service Disabled. The order: Management
servers one at a time (the first upgrades the database), then the Site servers; with --to,
the servers already on VERSION are marked done and the next one is named.

{EXIT_CODES}"""


def _report_options(f):
    f = click.option("--format", "formats", multiple=True, default=("html,json",), show_default=True,
                     metavar="LIST", help="Files written into --out: html, json (comma-separated or repeated).")(f)
    f = click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     metavar="DIR", help="Also write precheck.html / precheck.json into DIR.")(f)
    f = no_history_option(f)
    return history_option(f)


def _print(report: PrecheckReport) -> None:
    width = shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else 100
    click.echo(render_console(report, width=width), nl=False)


def _precheck(ctx: click.Context, change: Change, *, inventory: Path, profile: Path | None, node: str | None,
              to: str | None, out_dir: Path | None, formats: tuple[str, ...], history_path: str | None,
              no_history: bool, collect_opts: dict[str, Any]) -> None:
    request = PrecheckRequest(
        change=change, inventory=inventory, profile=profile, new=node, to=to, history=history_path,
        record=not no_history, out=out_dir, formats=formats, command_line=shlex.join(["auditor", *sys.argv[1:]]),
        collect_options=collect_opts)
    report = run_precheck(request, terminal_events(progress=not collect_opts.get("no_progress")))
    _print(report)
    ctx.exit(report.exit_code)


@click.group("precheck", help=GROUP_HELP, short_help="Go / no-go before adding a Management server or updating.")
def command() -> None:
    pass


@command.command("add-management", help=ADD_HELP, short_help="Before (and after) adding a Management server.")
@collection_options(inventory_required=True)
@click.option("--node", "node", required=True, metavar="NODE", help="The new Management server (inventory name).")
@click.option("--after", is_flag=True, default=False,
              help="NODE is installed: plan the follow-up (dry run), with --apply apply it.")
@click.option("--apply", "do_apply", is_flag=True, default=False, help="With --after: apply the follow-up plan.")
@click.option("--yes", "-y", is_flag=True, default=False, help="With --after --apply: do not ask for confirmation.")
@service_password_options(when="With --after: ")
@click.option("--plan-json", "plan_json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="With --after: also write the follow-up plan as JSON.")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help=f"With --after: change journal. Default: {DEFAULT_JOURNAL.name} in the state dir.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              envvar="PARAGON_AUDITOR_STATE_DIR", help="With --after: where fix locks and the journal live.")
@_report_options
@click.pass_context
def add_management(ctx: click.Context, inventory: Path, profile: Path | None, node: str, after: bool,
                   do_apply: bool, yes: bool, service_password_env: str | None, service_password_keyring: str | None,
                   plan_json: Path | None, journal_path: Path | None, state_dir: Path | None, out_dir: Path | None,
                   formats: tuple[str, ...], history_path: str | None, no_history: bool, **collect_opts: Any) -> None:
    after_only = {"--apply": do_apply, "--yes": yes, "--service-password-env": service_password_env,
                  "--service-password-keyring": service_password_keyring, "--plan-json": plan_json,
                  "--journal": journal_path}
    if not after and any(v for v in after_only.values()):
        given = ", ".join(k for k, v in after_only.items() if v)
        raise click.UsageError(f"{given}: only with --after (the follow-up plan once {node} is installed)")
    if after and (out_dir is not None or history_path is not None or no_history):
        raise click.UsageError("--out, --history and --no-history are for the precheck, not the follow-up (--after)")
    if not after:
        _precheck(ctx, Change.ADD_MANAGEMENT, inventory=inventory, profile=profile, node=node, to=None,
                  out_dir=out_dir, formats=formats, history_path=history_path, no_history=no_history,
                  collect_opts=collect_opts)
        return
    from auditor.precheck.after import AfterRequest, fix_request

    options = FixOptions(password_ref=password_ref_from_options(service_password_env, service_password_keyring))
    request = fix_request(AfterRequest(
        inventory=inventory, new=node, options=options, state_dir=state_dir or DEFAULT_STATE_DIR, profile=profile,
        apply=do_apply, yes=yes, journal=journal_path, plan_json=plan_json,
        progress=not collect_opts.get("no_progress"), collect_options=collect_opts))
    ctx.exit(run_fix(request, TerminalConsole()))


@command.command("update", help=UPDATE_HELP, short_help="Before (and during) an update of the cluster.")
@collection_options(inventory_required=True)
@click.option("--to", "to", default=None, metavar="VERSION",
              help="The version being installed (e.g. 6.0.113.1): servers on it count as done.")
@_report_options
@click.pass_context
def update(ctx: click.Context, inventory: Path, profile: Path | None, to: str | None, out_dir: Path | None,
           formats: tuple[str, ...], history_path: str | None, no_history: bool, **collect_opts: Any) -> None:
    _precheck(ctx, Change.UPDATE, inventory=inventory, profile=profile, node=None, to=to, out_dir=out_dir,
              formats=formats, history_path=history_path, no_history=no_history, collect_opts=collect_opts)
