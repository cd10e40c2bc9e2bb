"""``auditor fix``: plan (dry run, the default) or apply repairs of drift, one node at a time."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import click

from auditor.audit import check_catalogue, select_checks, select_nodes
from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.collect.cli_options import collection_options, terminal_events
from auditor.collect.credentials import EnvRef, KeyringRef, PromptRef, Secret, resolve_reference
from auditor.declared import Declarations
from auditor.errors import AuditorError, InputError
from auditor.findings import Status
from auditor.fixers import FixOptions, FixPlan, build_plan
from auditor.fixers.apply import (
    ApplyEngine,
    ApplyResult,
    RemoteNodeOps,
    installers_running,
    summarize_actions,
)
from auditor.fixers.journal import DEFAULT_JOURNAL, DEFAULT_STATE_DIR, Journal
from auditor.fixers.lock import ClusterLock
from auditor.fixers.plan import SET_ACCOUNT
from auditor.nodestate import NodeState
from auditor.vocab import ApplyOutcome, ExitStatus, NodeStatus, utc_now

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
  2  usage or input error
  3  a node could not be collected: nothing applied (the plan would rest on partial facts)
  4  the rollout stopped at a node: its changes were rolled back (or it refused
     because an installer started); nodes before it stay fixed and verified
  5  apply failed and the rollback is incomplete: manual action needed (printed)
  6  refused before any change: another fix holds the lock, an installer is running,
     no terminal to confirm without --yes, or the confirmation was declined
  130  interrupted (Ctrl-C, SIGTERM, or SIGHUP when the session drops); while applying,
       the current node is rolled back first
"""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Refused(AuditorError):
    """Nothing was changed because a precondition of applying does not hold."""

    exit_code = ExitStatus.REFUSED


# ---- rendering ------------------------------------------------------------------------------


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line + "\n" for line in text.rstrip("\n").split("\n"))


def render_plan(plan: FixPlan, *, cluster: str, applying: bool) -> str:
    out: list[str] = []
    mode = "will be applied one node at a time" if applying else "dry run: nothing is changed"
    out.append(f"Fix plan for cluster {cluster!r} ({mode})\n")
    todo = [n for n in plan.nodes if not n.empty]
    for np in todo:
        out.append(f"\n{np.node}  [{', '.join(np.check_ids)}]\n")
        for e in np.edits:
            if not e.changes:
                continue
            out.append(f"  edit {e.path}  ({e.check_id}: {e.reason})\n")
            out.append(_indent(e.diff))
        for a in np.actions:
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


def _password_ref(env: str | None, keyring_spec: str | None, account: str | None) -> Any:
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


def _resolve_password(plan: FixPlan, options: FixOptions) -> Secret | None:
    needs = [a for n in plan.nodes for a in n.actions if a.kind == SET_ACCOUNT and a.password_ref]
    if not needs:
        return None
    ref = options.password_ref or PromptRef(username=needs[0].account or "")
    if isinstance(ref, PromptRef) and not _has_terminal():
        raise Refused(f"the password of {needs[0].account} is needed and there is no terminal to ask for it; "
                      "give --service-password-env VAR or --service-password-keyring SERVICE:USER")
    return resolve_reference(ref, used_by=f"log-on account {needs[0].account}")


PLAN_FORMAT = "paragon-auditor-fix-plan"
PLAN_VERSION = 1


def _write_plan_json(path: Path, plan: FixPlan, cluster: str, failed: list[NodeState]) -> None:
    """The plan as versioned JSON: diffs (secrets masked), actions, advice, blocked, notes.

    File contents themselves are not included (only their SHA-256 before/after), so the
    document can be attached to a ticket without leaking configuration.
    """
    from auditor.nodefolder import atomic_write

    doc = {"format": PLAN_FORMAT, "version": PLAN_VERSION, "cluster": cluster, "created_at": utc_now(),
           "not_collected": [{"node": s.name, "status": s.status, "reason": s.reason} for s in failed],
           **plan.to_dict()}
    try:
        atomic_write(path, (json.dumps(doc, indent=2, ensure_ascii=True) + "\n").encode("ascii"))
    except OSError as exc:
        raise InputError(f"cannot write the plan: {exc.strerror}", source=str(path)) from None


# Signals that end a process the admin did not mean to interrupt mid-node: SIGTERM (systemd
# stopping the job, ``timeout``, a cancelled CI run) and SIGHUP (the SSH session or terminal
# running the fix went away). Not on Windows, where only Ctrl-C reaches the process.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _detach_from_terminal() -> None:
    """After a hang-up the terminal is gone and every write to it fails (EIO), which would
    turn the rollback's progress lines into errors that cut the rollback short. Point stdout
    and stderr at the null device instead; the journal keeps the record."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextlib.contextmanager
def _stop_signals_as_interrupt():
    """While applying, SIGTERM and SIGHUP are handled like Ctrl-C: the engine rolls the
    current node back and the rollout stops (exit 130). By default either signal ends the
    process between a file write and its verification, leaving a half-changed node and no
    rollback. Further stop signals are ignored so they cannot cut the rollback short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if signum == getattr(signal, "SIGHUP", None):
            _detach_from_terminal()
        else:
            with contextlib.suppress(OSError):
                click.echo(f"\n{signal.Signals(signum).name}: rolling back the current node and stopping "
                           "the rollout", err=True)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _journal_folder(path: Path) -> None:
    """Early, side-effect-light version of Journal.check_writable (which runs again right
    before the first change): the folder must be creatable and the file writable, but no
    journal file is created for a run that may still be refused."""
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is in the way" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc))
        raise AuditorError(f"cannot write the fix journal {path}: {why}") from None
    if path.is_dir():
        raise AuditorError(f"cannot write the fix journal {path}: it is a folder")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise AuditorError(f"cannot write the fix journal {path}: permission denied")


def _plan_json_folder(path: Path) -> None:
    """Create the folder of --plan-json up front: the plan is written after a possibly long
    collection, and a path below a file used to fail only then, as a puzzling 'File exists'."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is in the way" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc))
        raise InputError(f"cannot create the folder for the plan: {why}", source=str(path)) from None


def _waiver_stage(path: Path | None, tz: str | None) -> Any:
    """A function turning covered failures into ``waived`` (so they are not fixed), or None."""
    if path is None:
        return None
    from auditor.waivers import apply_waivers, load_waivers, local_today

    waivers = load_waivers(path)
    today = local_today(tz)
    return lambda findings: apply_waivers(findings, waivers, today)[0]


def _load_snapshot(folder: Path, profile: Path | None) -> tuple[list[NodeState], Any, str, Declarations]:
    from auditor.manifest import load_cluster_folder
    from auditor.profile import load_profile

    prof = load_profile(profile)
    manifest, states = load_cluster_folder(folder)
    if not states:
        raise InputError("the manifest lists no nodes", source=str(folder / "manifest.json"))
    return states, prof, manifest.name or folder.name, manifest.declared


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
@click.option("--service-password-env", metavar="VAR", default=None,
              help="Environment variable holding that account's password (else keyring or prompt).")
@click.option("--service-password-keyring", metavar="SERVICE:USER", default=None,
              help="OS keyring entry holding that account's password.")
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
        from auditor.collect.cli_options import reject_live_only_options

        reject_live_only_options(collect_opts)
    options = FixOptions(
        remove_stale=remove_stale, repository_path=repository_path, service_account=service_account,
        password_ref=_password_ref(service_password_env, service_password_keyring, service_account),
        nodes=list(nodes) or None,
    )
    catalogue = check_catalogue()
    only = select_checks(checks, catalogue)
    waive = _waiver_stage(waivers_path, waiver_tz)
    if do_apply and isinstance(options.password_ref, EnvRef) and not os.environ.get(options.password_ref.var):
        # fail before collecting and locking, not in the middle of a rollout
        raise InputError(f"--service-password-env: environment variable {options.password_ref.var} is not set "
                         "or empty")
    if do_apply and not yes and not _has_terminal():
        raise Refused("refusing to apply without a terminal to confirm on; add --yes if this is intended")
    if plan_json is not None:
        _plan_json_folder(plan_json)  # a plan that cannot be saved must fail before collecting
    state_root = state_dir or DEFAULT_STATE_DIR

    if from_dir is not None:
        states, prof, cluster_name, declared = _load_snapshot(from_dir, profile)
        select_nodes(nodes, [s.name for s in states])
        _plan_and_report(ctx, states, prof, cluster_name, only, catalogue, options, declared, waive=waive,
                         plan_json=plan_json)
        return

    from auditor.collect.cli_options import setup_from_options
    from auditor.collect.credentials import resolve_credentials
    from auditor.collect.runner import collect_cluster

    inv, prof, security = setup_from_options(inventory, profile, **collect_opts)
    select_nodes(nodes, [n.name for n in inv.nodes])
    lock = ClusterLock(inv.cluster, state_root) if do_apply else None
    if do_apply:  # a journal that cannot be written must fail before collecting, not after the plan
        _journal_folder(journal_path or Path(state_root) / DEFAULT_JOURNAL.name)
    if lock is not None:
        lock.acquire()  # before collecting: the plan must be made under the lock it is applied under
        if lock.took_over:
            click.echo(f"note: took over a stale fix lock of pid {lock.took_over.get('pid')} on "
                       f"{lock.took_over.get('host')}", err=True)
    try:
        creds = resolve_credentials(inv)
        events = terminal_events(progress=not collect_opts.get("no_progress"))
        result = collect_cluster(inv, prof, security=security, events=events, credentials=creds)
        plan = _plan_and_report(ctx, result.nodes, prof, inv.cluster, only, catalogue, options, inv.declared,
                                applying=do_apply, exit_when_dry=not do_apply, waive=waive, plan_json=plan_json)
        assert plan is not None
        if not plan.has_changes:
            click.echo("Nothing to apply.")
            if plan.blocked:
                click.echo(f"Exit code 1: {len(plan.blocked)} blocked item(s) above still need your input.")
            ctx.exit(ExitStatus.PENDING if plan.blocked else ExitStatus.OK)
        busy = installers_running(result.nodes, [str(p) for p in prof.installer_processes])
        if busy:
            raise Refused("an installer is running, refusing to change the cluster: "
                          + "; ".join(f"{n}: {', '.join(p)}" for n, p in busy.items()))
        journal = Journal(journal_path or Path(state_root) / DEFAULT_JOURNAL.name, cluster=inv.cluster,
                          run_id=uuid.uuid4().hex,
                          secrets=[c.password.reveal() for c in creds.values() if c.password is not None])
        journal.check_writable()  # before asking anything: a change that cannot be logged is not made
        if not yes:
            steps = sum(len(summarize_actions(n)) for n in plan.nodes if not n.empty)
            try:
                confirmed = click.confirm(f"Apply these {steps} step(s), one node at a time?", default=False)
            except click.Abort:  # Ctrl-D / Ctrl-C at the prompt: end the prompt's line first
                click.echo("", err=True)
                confirmed = False
            if not confirmed:
                raise Refused("not confirmed: nothing was changed")
        password = _resolve_password(plan, options)
        if password is not None:
            journal.add_secret(password.reveal())
        journal.record(node=None, action="start", result="ok",
                       nodes=[n.node for n in plan.nodes if not n.empty],
                       checks=sorted({c for n in plan.nodes for c in n.check_ids}),
                       options={"check": list(checks), "node": list(nodes), "remove_stale": remove_stale,
                                "repository_path": repository_path, "service_account": service_account,
                                "password_source": options.password_ref.describe()
                                if options.password_ref is not None else None,
                                "inventory": str(inventory), "confirmed": "--yes" if yes else "prompt"})
        click.echo(f"\nApplying (journal: {journal.path})")
        engine = ApplyEngine(RemoteNodeOps(inv, prof, creds, security, warn=events.warning), prof, result.nodes,
                             journal, declared=inv.declared,
                             password=password, echo=click.echo)
        with _stop_signals_as_interrupt():
            outcome = engine.run(plan)
        journal.record(node=None, action="end", result="ok" if outcome.exit_code == ExitStatus.OK else "failed",
                       strict=False,
                       exit_code=outcome.exit_code,
                       outcomes={o.node: o.status for o in outcome.outcomes})
        click.echo(render_result(outcome), nl=False)
        code = outcome.exit_code
        if code == ExitStatus.OK and plan.blocked:
            code = ExitStatus.PENDING
            click.echo(f"Exit code 1: {len(plan.blocked)} blocked item(s) above still need your input.")
        ctx.exit(code)
    finally:
        if lock is not None:
            lock.release()


def _plan_and_report(ctx: click.Context, states: list[NodeState], prof: Any, cluster_name: str,
                     only: list[str] | None, catalogue: list, options: FixOptions, declared: Declarations, *,
                     applying: bool = False, exit_when_dry: bool = True, waive: Any = None,
                     plan_json: Path | None = None) -> FixPlan | None:
    cluster = Cluster.build(states, prof, declared)
    findings = run_checks(cluster, only=set(only) if only else None)
    if waive is not None:
        findings = waive(findings)
    plan = build_plan(cluster, findings, options, metas={m.id: m for m in catalogue})
    for f in findings:
        if f.status == Status.WAIVED and (f.node is None or options.targets(f.node)):
            w = f.waiver or {}
            plan.notes.append(f"{f.check_id} on {f.node or 'the cluster'} is waived (owner {w.get('owner', '?')}, "
                              f"until {w.get('expires', '?')}): left alone")
    click.echo(render_plan(plan, cluster=cluster_name, applying=applying), nl=False)
    failed = [s for s in states if s.status != NodeStatus.OK]
    if plan_json is not None:
        _write_plan_json(plan_json, plan, cluster_name, failed)
    if failed:
        click.echo("\nNot collected (the plan may be incomplete): "
                   + "; ".join(f"{s.name}: {s.status} ({s.reason})" if s.reason else f"{s.name}: {s.status}"
                               for s in failed), err=True)
        if applying:
            click.echo("Refusing to apply while a node cannot be read.", err=True)
        ctx.exit(ExitStatus.UNREACHABLE)
    if exit_when_dry:
        ctx.exit(ExitStatus.PENDING if (plan.has_changes or plan.blocked) else ExitStatus.OK)
    return plan
