"""``auditor fix``: plan (dry run, the default) or apply repairs of drift, one node at a time.

This module parses the options and prints; the use case (lock, journal, confirmation, apply,
verification, rollback, exit code) is :func:`auditor.fixers.rollout.run_fix`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from auditor.collect.cli_options import collection_options, reject_live_only_options, terminal_events
from auditor.collect.credentials import CredentialRef, EnvRef, KeyringRef
from auditor.collect.runner import CollectionEvents
from auditor.fixers.journal import DEFAULT_JOURNAL, DEFAULT_STATE_DIR
from auditor.fixers.outcome import ApplyResult
from auditor.fixers.plan import FixOptions, FixPlan
from auditor.fixers.rollout import FixRequest, run_fix
from auditor.vocab import ApplyOutcome

HELP = """Repair drift the checks found: plan by default (a dry run), apply with --apply.

\b
Plan:    auditor fix --inventory cluster.yaml [--check ID] [--node NAME]
Offline: auditor fix --from SNAPSHOT_DIR           (plan only)
Apply:   auditor fix --inventory cluster.yaml --apply [--yes]

The plan shows, per node, the unified diff of every file edit and every service action
(account change, restart). Applying goes ONE node at a time: installer check on the node,
backup and atomic write of each file (refused if the file changed since it was read),
account change, service restart, re-collection and re-check of the node; on any failure the
node is rolled back (backups restored, services restarted) and the rollout STOPS.
Every change is logged in the journal (--journal). Passwords are never on the command line:
--service-password-env names an environment variable; without it you are prompted.

\b
Exit codes:
  0  nothing to do, or every planned change applied and verified
  1  dry run: changes are planned (or fixable failures need your input: see "blocked")
  2  usage or input error, including an input --apply needs that is missing
     (checked before collecting or printing: an unset --service-password-env, a
     missing keyring entry, an account change without a password source or terminal)
  3  a node could not be collected: nothing applied (the plan would rest on partial facts)
  4  the rollout stopped at a node: its changes were rolled back (or it refused
     because an installer started); nodes before it stay fixed and verified
  5  apply failed and the rollback is incomplete: manual action needed (printed)
  6  refused before any change: another fix holds the lock, an installer is running,
     no terminal to confirm without --yes, or the confirmation was declined
  7  applied: every planned change applied and verified, but blocked items remain
     (they need your input: see "blocked")
  130  interrupted (Ctrl-C, SIGTERM, or SIGHUP when the session drops); while applying,
       the current node is rolled back first
"""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ---- rendering ------------------------------------------------------------------------------


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line + "\n" for line in text.rstrip("\n").split("\n"))


PASSWORD_OPTIONS = "--service-password-env VAR or --service-password-keyring SERVICE:USER"


def password_hint(source: str) -> str:
    """Where the password of a planned account change comes from, and which option supplies it."""
    if source.startswith("environment variable"):
        return f"from {source} (--service-password-env)"
    if source.startswith("keyring"):
        return f"from the {source} (--service-password-keyring)"
    return (f"asked for with a hidden prompt when applying (needs a terminal); for an unattended run give "
            f"{PASSWORD_OPTIONS}")


def render_plan(plan: FixPlan, *, cluster: str, applying: bool) -> str:
    out: list[str] = []
    mode = "will be applied one node at a time" if applying else "dry run: nothing is changed"
    out.append(f"Fix plan for cluster {cluster!r} ({mode})\n")
    todo = [n for n in plan.nodes if not n.empty]
    for node_plan in todo:
        out.append(f"\n{node_plan.node}  [{', '.join(node_plan.check_ids)}]\n")
        for e in node_plan.edits:
            if not e.changes:
                continue
            out.append(f"  edit {e.path}  ({e.check_id}: {e.reason})\n")
            out.append(_indent(e.diff))
        for a in node_plan.actions:
            out.append(f"  {a.describe()}  ({a.check_id})\n")
    if plan.advice:
        out.append("\nNot fixable automatically:\n")
        for a in plan.advice:
            out.append(f"  {a.check_id} on {', '.join(a.nodes) or 'the cluster'}: {a.text}\n")
            for ref in a.references:
                out.append(f"    see {ref}\n")
    if plan.blocked:
        out.append("\nBlocked (needs your input, nothing planned):\n")
        for b in plan.blocked:
            out.append(f"  {b.check_id} on {', '.join(b.nodes) or 'the cluster'}: {b.reason}\n")
    if plan.notes:
        out.append("\nNotes:\n")
        for n in plan.notes:
            out.append(f"  - {n}\n")
    accounts = [a for n in todo for a in n.account_changes if a.password_ref]
    if accounts:
        out.append(f"\nPassword of {accounts[0].account}: {password_hint(accounts[0].password_ref or '')}\n")
    edits = sum(1 for n in todo for e in n.edits if e.changes)
    actions = sum(len(n.actions) for n in todo)
    if todo:
        out.append(f"\nSummary: {len(todo)} node(s) to change ({', '.join(n.node for n in todo)}), "
                   f"{edits} file edit(s), {actions} service action(s).\n")
        if not applying:
            out.append("Nothing was changed. Run again with --apply to apply, one node at a time.\n")
    else:
        out.append("\nNothing to change.\n")
    return "".join(out)


def render_result(result: ApplyResult) -> str:
    out = ["\nResult:\n"]
    for o in result.outcomes:
        line = f"  {o.node}: {o.status.replace('_', ' ')}"
        if o.error:
            line += f": {o.error}"
        out.append(line + "\n")
        for path, backup in o.backups:
            out.append(f"    backup of {path}: {backup}\n")
        for m in o.manual:
            out.append(f"    MANUAL ACTION NEEDED: {m}\n")
    failed = result.failed
    if failed is not None:
        untouched = [o.node for o in result.outcomes if o.status == ApplyOutcome.NOT_REACHED]
        done = [o.node for o in result.outcomes if o.status == ApplyOutcome.VERIFIED]
        out.append(f"Rollout STOPPED at {failed.node}."
                   + (f" Already fixed and verified: {', '.join(done)}." if done else "")
                   + (f" Not touched: {', '.join(untouched)}." if untouched else "") + "\n")
    else:
        out.append("Every planned change was applied and verified.\n")
    return "".join(out)


# ---- helpers ------------------------------------------------------------------------------


def _has_terminal() -> bool:
    """Whether someone can answer a prompt (a function so tests can stand in for a TTY)."""
    return sys.stdin.isatty()


def service_password_options(when: str = "") -> Any:
    """The two options naming where the service account's password is (``auditor fix`` and
    ``auditor precheck add-management --after``); :func:`password_ref_from_options` reads them.
    ``when`` prefixes their help (e.g. "With --after: ")."""

    def text(help_text: str) -> str:
        return f"{when}{help_text}" if when else help_text[0].upper() + help_text[1:]

    def decorate(f: Any) -> Any:
        f = click.option("--service-password-keyring", metavar="SERVICE:USER", default=None,
                         help=text("OS keyring entry holding the service account's password."))(f)
        return click.option("--service-password-env", metavar="VAR", default=None,
                            help=text("environment variable holding the service account's password "
                                      "(else keyring or prompt)."))(f)

    return decorate


def password_ref_from_options(env: str | None, keyring_spec: str | None) -> CredentialRef | None:
    """The credential reference of --service-password-env / --service-password-keyring (None: prompt)."""
    if env and keyring_spec:
        raise click.UsageError("give --service-password-env or --service-password-keyring, not both")
    if env is not None:
        if not _ENV_NAME.match(env):
            raise click.UsageError("--service-password-env takes the NAME of an environment variable holding the "
                                   "password (e.g. PARAGON_SVC_PASSWORD), never the password itself")
        return EnvRef(env)
    if keyring_spec is not None:
        service, sep, user = keyring_spec.partition(":")
        if not sep or not service or not user:
            raise click.UsageError("--service-password-keyring takes SERVICE:USERNAME (an OS keyring entry)")
        return KeyringRef(service, user)
    return None


class TerminalConsole:
    """The fix use case's console: plan, progress and results on the terminal."""

    def line(self, text: str) -> None:
        click.echo(text)

    def warn(self, text: str) -> None:
        click.echo(text, err=True)

    def plan(self, plan: FixPlan, *, cluster: str, applying: bool) -> None:
        click.echo(render_plan(plan, cluster=cluster, applying=applying), nl=False)

    def result(self, result: ApplyResult) -> None:
        click.echo(render_result(result), nl=False)

    def confirm(self, question: str) -> bool:
        try:
            return click.confirm(question, default=False)
        except click.Abort:  # Ctrl-D / Ctrl-C at the prompt: end the prompt's line first
            click.echo("", err=True)
            return False

    def has_terminal(self) -> bool:
        return _has_terminal()

    def events(self, *, progress: bool) -> CollectionEvents:
        return terminal_events(progress=progress)


# ---- the command ----------------------------------------------------------------------------


@click.command("fix", help=HELP, short_help="Plan (dry run) or apply repairs of drift, one node at a time.")
@collection_options()
@click.option("--from", "from_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              metavar="SNAPSHOT_DIR", help="Plan from a snapshot or scenario folder offline (no --apply).")
@click.option("--check", "checks", multiple=True, metavar="ID", help="Fix only this check (repeatable).")
@click.option("--node", "nodes", multiple=True, metavar="NAME",
              help="Change only this node (repeatable); the whole cluster still decides what is right.")
@click.option("--remove-stale", is_flag=True, default=False,
              help="Also remove entries for servers that no longer exist (spoc.conf, IMS addresses).")
@click.option("--repository-path", metavar="UNC", default=None,
              help="Shared IMS repository path to set (default: the UNC path most Management servers use).")
@click.option("--service-account", metavar="DOMAIN\\USER", default=None,
              help="Infrastructure Service account (default: the one the other Management servers use).")
@service_password_options()
@click.option("--plan-json", "plan_json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also write the plan as JSON (e.g. to attach to a change ticket).")
@click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Waivers YAML (docs/waivers.md): waived failures are left alone.")
@click.option("--waiver-tz", metavar="TZ", default=None, help="Time zone for waiver expiry dates (IANA name).")
@click.option("--apply", "do_apply", is_flag=True, default=False,
              help="Apply the plan (after confirmation), one node at a time. Default: dry run.")
@click.option("--yes", "-y", is_flag=True, default=False, help="Do not ask for confirmation (with --apply).")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help=f"Change journal (JSON lines). Default: {DEFAULT_JOURNAL.name} in the state dir.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              envvar="PARAGON_AUDITOR_STATE_DIR",
              help=f"Where fix locks and the journal live (env PARAGON_AUDITOR_STATE_DIR). Default: {DEFAULT_STATE_DIR}")
@click.pass_context
def command(ctx: click.Context, inventory: Path | None, profile: Path | None, from_dir: Path | None,
            checks: tuple[str, ...], nodes: tuple[str, ...], remove_stale: bool, repository_path: str | None,
            service_account: str | None, service_password_env: str | None,
            service_password_keyring: str | None, plan_json: Path | None, waivers_path: Path | None,
            waiver_tz: str | None,
            do_apply: bool, yes: bool, journal_path: Path | None, state_dir: Path | None,
            **collect_opts: Any) -> None:
    if inventory is not None and from_dir is not None:
        raise click.UsageError("give either --inventory FILE or --from SNAPSHOT_DIR, not both")
    if inventory is None and from_dir is None:
        raise click.UsageError("give --inventory FILE (live) or --from SNAPSHOT_DIR (plan only)")
    if do_apply and from_dir is not None:
        raise click.UsageError("--from plans from a snapshot; applying needs the live cluster (--inventory)")
    if from_dir is not None:
        reject_live_only_options(collect_opts)
    options = FixOptions(
        remove_stale=remove_stale, repository_path=repository_path, service_account=service_account,
        password_ref=password_ref_from_options(service_password_env, service_password_keyring), nodes=list(nodes) or None,
    )
    request = FixRequest(
        options=options, state_dir=state_dir or DEFAULT_STATE_DIR, inventory=inventory, snapshot=from_dir,
        profile=profile, checks=checks, nodes=nodes, apply=do_apply, yes=yes, journal=journal_path,
        plan_json=plan_json, waivers=waivers_path, waiver_tz=waiver_tz,
        progress=not collect_opts.get("no_progress"), collect_options=collect_opts,
    )
    ctx.exit(run_fix(request, TerminalConsole()))
