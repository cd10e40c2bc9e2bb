"""The ``auditor fix`` use case: plan, and with ``--apply`` roll the plan out safely.

:func:`run_fix` owns the whole flow and returns the exit code (docs/fix.md); the command
(``auditor/commands/fix.py``) only parses options and supplies a :class:`FixConsole` that
prints. The order matters and is the safety story:

1. every cheap check before anything slow (unknown check ids, waivers, the password
   variable, a terminal to confirm on, the plan file's folder);
2. with ``--apply``: the cluster lock and the journal folder *before* collecting, so the plan
   is made under the lock it is applied under and a change that cannot be logged is never
   prepared;
3. collect, plan, show the plan (and write ``--plan-json``); a node not collected ends the
   run (exit 3): a plan resting on partial facts is never applied;
4. refuse while an installer runs, check the journal is writable, ask for confirmation,
   resolve the service-account password, journal the start;
5. the apply engine (``auditor.fixers.apply``): one node at a time, verified, rolled back on
   failure; stop signals roll the current node back too (``auditor.fixers.stop_signals``);
6. journal the end, show the result, release the lock.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from auditor.audit import check_catalogue, select_checks, select_nodes
from auditor.collect.credentials import EnvRef, PromptRef, Secret, resolve_reference
from auditor.collect.runner import CollectionEvents
from auditor.errors import AuditorError, InputError
from auditor.fixers.apply import ApplyEngine, installers_running
from auditor.fixers.journal import DEFAULT_JOURNAL, Journal
from auditor.fixers.lock import ClusterLock
from auditor.fixers.node_ops import RemoteNodeOps
from auditor.fixers.outcome import ApplyResult
from auditor.fixers.plan import SET_ACCOUNT, FixOptions, FixPlan
from auditor.fixers.planning import (
    PlannedFix,
    Review,
    check_journal_folder,
    load_snapshot,
    plan_fix,
    prepare_plan_json_folder,
    waiver_stage,
    write_plan_json,
)
from auditor.fixers.stop_signals import stop_signals_as_interrupt
from auditor.nodestate import NodeState
from auditor.vocab import ExitStatus


class Refused(AuditorError):
    """Nothing was changed because a precondition of applying does not hold."""

    exit_code = ExitStatus.REFUSED


@dataclass(frozen=True)
class FixRequest:
    """What the admin asked for, as the command parsed it."""

    options: FixOptions
    state_dir: Path  # where the fix lock and the default journal live
    inventory: Path | None = None  # live: collect, plan, maybe apply
    snapshot: Path | None = None  # offline: plan only
    profile: Path | None = None
    checks: tuple[str, ...] = ()  # --check as given (canonical ids are resolved here)
    nodes: tuple[str, ...] = ()  # --node as given
    apply: bool = False
    yes: bool = False
    journal: Path | None = None
    plan_json: Path | None = None
    waivers: Path | None = None
    waiver_tz: str | None = None
    progress: bool = True
    collect_options: Mapping[str, Any] = field(default_factory=dict)  # the shared collection options
    review: Review | None = None  # a use case's last word on the plan (auditor precheck ... --after)

    @property
    def journal_path(self) -> Path:
        return self.journal or Path(self.state_dir) / DEFAULT_JOURNAL.name


class FixConsole(Protocol):
    """How the use case talks to the admin (the command prints; tests may record)."""

    def line(self, text: str) -> None: ...  # a line on stdout

    def warn(self, text: str) -> None: ...  # a line on stderr

    def plan(self, plan: FixPlan, *, cluster: str, applying: bool) -> None: ...

    def result(self, result: ApplyResult) -> None: ...

    def confirm(self, question: str) -> bool: ...  # False when declined or nobody answers

    def has_terminal(self) -> bool: ...

    def events(self, *, progress: bool) -> CollectionEvents: ...


def run_fix(request: FixRequest, console: FixConsole) -> ExitStatus:
    """Plan (and with ``request.apply`` apply) a fix; the exit code of docs/fix.md."""
    catalogue = check_catalogue()
    only = select_checks(request.checks, catalogue)
    waive = waiver_stage(request.waivers, request.waiver_tz)
    password = _early_password(request)  # fail before collecting and locking, not in the middle of a rollout
    if request.apply and not request.yes and not console.has_terminal():
        raise Refused("refusing to apply without a terminal to confirm on; add --yes if this is intended")
    if request.plan_json is not None:
        prepare_plan_json_folder(request.plan_json)  # a plan that cannot be saved must fail before collecting
    if request.snapshot is not None:
        states, prof, cluster_name, declared = load_snapshot(request.snapshot, request.profile)
        select_nodes(request.nodes, [s.name for s in states])
        planned = plan_fix(states, prof, only, catalogue, request.options, declared, waive, request.review)
        return _show_plan(request, console, planned, cluster_name) or _dry_run_code(planned.plan)
    return _live(request, console, only, catalogue, waive, password)


def _early_password(request: FixRequest) -> Secret | None:
    """With ``--apply``, the service-account password named by an option, read now: an unset
    variable or a missing keyring entry is an input error (exit 2) before anything is
    collected or locked. None without such an option (a prompt later, if the plan needs one)."""
    ref = request.options.password_ref
    if not request.apply or ref is None or isinstance(ref, PromptRef):
        return None
    if isinstance(ref, EnvRef) and not os.environ.get(ref.var):
        raise InputError(f"--service-password-env: environment variable {ref.var} is not set or empty")
    return resolve_reference(ref, used_by="the Infrastructure Service account (--service-password-keyring)")


def _live(request: FixRequest, console: FixConsole, only: list[str] | None, catalogue: list,
          waive: Any, password: Secret | None) -> ExitStatus:
    from auditor.collect.cli_options import setup_from_options
    from auditor.collect.credentials import resolve_credentials
    from auditor.collect.runner import collect_cluster

    inv, prof, security = setup_from_options(request.inventory, request.profile, **request.collect_options)
    select_nodes(request.nodes, [n.name for n in inv.nodes])
    lock = ClusterLock(inv.cluster, request.state_dir) if request.apply else None
    if request.apply:  # a journal that cannot be written must fail before collecting, not after the plan
        check_journal_folder(request.journal_path)
    if lock is not None:
        lock.acquire()  # before collecting: the plan must be made under the lock it is applied under
        if lock.took_over:
            console.warn(f"note: took over a stale fix lock of pid {lock.took_over.get('pid')} on "
                         f"{lock.took_over.get('host')}")
    try:
        creds = resolve_credentials(inv)
        events = console.events(progress=request.progress)
        result = collect_cluster(inv, prof, security=security, events=events, credentials=creds)
        planned = plan_fix(result.nodes, prof, only, catalogue, request.options, inv.declared, waive,
                           request.review)
        if request.apply:
            _check_password_source(planned.plan, password, console)  # before the plan is printed
        stop = _show_plan(request, console, planned, inv.cluster)
        if stop is not None:
            return stop
        if not request.apply:
            return _dry_run_code(planned.plan)
        engine = ApplyEngine(RemoteNodeOps(inv, prof, creds, security, warn=events.warning), prof, result.nodes,
                             Journal(request.journal_path, cluster=inv.cluster, run_id=uuid.uuid4().hex,
                                     secrets=[c.password.reveal() for c in creds.values() if c.password is not None]),
                             declared=inv.declared, echo=console.line)
        return _apply(request, console, planned.plan, engine, result.nodes, password)
    finally:
        if lock is not None:
            lock.release()


def _show_plan(request: FixRequest, console: FixConsole, planned: PlannedFix, cluster: str) -> ExitStatus | None:
    """Show (and save) the plan; exit 3 when a node was not collected, else None."""
    console.plan(planned.plan, cluster=cluster, applying=request.apply)
    if request.plan_json is not None:
        write_plan_json(request.plan_json, planned, cluster)
    if not planned.not_collected:
        return None
    console.warn("\nNot collected (the plan may be incomplete): "
                 + "; ".join(f"{s.name}: {s.status} ({s.reason})" if s.reason else f"{s.name}: {s.status}"
                             for s in planned.not_collected))
    if request.apply:
        console.warn("Refusing to apply while a node cannot be read.")
    return ExitStatus.UNREACHABLE


def _dry_run_code(plan: FixPlan) -> ExitStatus:
    return ExitStatus.PENDING if (plan.has_changes or plan.blocked) else ExitStatus.OK


def _blocked_note(console: FixConsole, plan: FixPlan, code: ExitStatus) -> None:
    console.line(f"Exit code {int(code)}: {len(plan.blocked)} blocked item(s) above still need your input.")


def _apply(request: FixRequest, console: FixConsole, plan: FixPlan, engine: ApplyEngine,
           states: list[NodeState], password: Secret | None) -> ExitStatus:
    """Steps 4-6 of the module docstring (the lock is held by the caller)."""
    if not plan.has_changes:
        console.line("Nothing to apply.")
        if plan.blocked:
            _blocked_note(console, plan, ExitStatus.PENDING)
        return ExitStatus.PENDING if plan.blocked else ExitStatus.OK
    busy = installers_running(states, list(engine.profile.installer_processes))
    if busy:
        raise Refused("an installer is running, refusing to change the cluster: "
                      + "; ".join(f"{n}: {', '.join(p)}" for n, p in busy.items()))
    journal = engine.journal
    journal.check_writable()  # before asking anything: a change that cannot be logged is not made
    if not request.yes:
        steps = sum(len(n.steps()) for n in plan.nodes if not n.empty)
        if not console.confirm(f"Apply these {steps} step(s), one node at a time?"):
            raise Refused("not confirmed: nothing was changed")
    password = password if _needs_password(plan) else None
    if password is None:
        password = _resolve_password(plan, request.options, console)
    if password is not None:
        journal.add_secret(password.reveal())
    engine.password = password
    options = request.options
    journal.record(node=None, action="start", result="ok",
                   nodes=[n.node for n in plan.nodes if not n.empty],
                   checks=sorted({c for n in plan.nodes for c in n.check_ids}),
                   options={"check": list(request.checks), "node": list(request.nodes),
                            "remove_stale": options.remove_stale, "repository_path": options.repository_path,
                            "service_account": options.service_account,
                            "password_source": options.password_ref.describe()
                            if options.password_ref is not None else None,
                            "inventory": str(request.inventory), "confirmed": "--yes" if request.yes else "prompt"})
    console.line(f"\nApplying (journal: {journal.path})")
    with stop_signals_as_interrupt(console.warn):
        outcome = engine.run(plan)
    journal.record(node=None, action="end", result="ok" if outcome.exit_code == ExitStatus.OK else "failed",
                   strict=False, exit_code=outcome.exit_code, outcomes={o.node: o.status for o in outcome.outcomes})
    console.result(outcome)
    if outcome.exit_code == ExitStatus.OK and plan.blocked:
        # applied and verified, yet not done: its own code, so a script can tell it from a dry
        # run's 1 and from a clean 0 (docs/fix.md)
        _blocked_note(console, plan, ExitStatus.APPLIED_BLOCKED)
        return ExitStatus.APPLIED_BLOCKED
    return outcome.exit_code


def _needs_password(plan: FixPlan) -> list:
    """The planned account changes that need a password (a gMSA needs none)."""
    return [a for n in plan.nodes for a in n.actions if a.kind == SET_ACCOUNT and a.password_ref]


def _check_password_source(plan: FixPlan, password: Secret | None, console: FixConsole) -> None:
    """Refuse, before the plan is printed, an apply that would stop at the password: the plan
    changes a log-on account, no option supplies the password and nobody can be asked."""
    needs = _needs_password(plan)
    if needs and password is None and not console.has_terminal():
        raise InputError(f"the plan sets the log-on account {needs[0].account} on {needs[0].service}, which needs "
                         "its password, and there is no terminal to ask for it: give --service-password-env VAR "
                         "or --service-password-keyring SERVICE:USER")


def _resolve_password(plan: FixPlan, options: FixOptions, console: FixConsole) -> Secret | None:
    needs = _needs_password(plan)
    if not needs:
        return None
    ref = options.password_ref or PromptRef(username=needs[0].account or "")
    if isinstance(ref, PromptRef) and not console.has_terminal():
        raise Refused(f"the password of {needs[0].account} is needed and there is no terminal to ask for it; "
                      "give --service-password-env VAR or --service-password-keyring SERVICE:USER")
    return resolve_reference(ref, used_by=f"log-on account {needs[0].account}")
