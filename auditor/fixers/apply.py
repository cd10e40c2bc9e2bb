"""The apply engine: execute a :class:`FixPlan` one node at a time, verified, with rollback.

Per node, in inventory order, never two nodes at once:

1. ask the node whether an installer is running (``check_installers``); if so, stop;
2. write every planned file atomically, each only if it still has the collected SHA-256
   (``expect_sha256``), each backed up first on the node (backup path reported/journaled);
3. change service accounts (password handed over in a shell environment variable);
4. restart the affected services;
5. re-collect the node and re-run the checks: every finding the plan addressed must pass
   now, and nothing that passed before may fail;
6. on any failure: restore the backups, restore a built-in previous account, restart the
   touched services again, re-collect to prove the files are byte-identical again, and STOP
   the rollout (later nodes are not touched).

Why serial and stop-at-first-failure: the changes are cluster membership lists; a bad edit
applied everywhere at once can cut every SPOC off from the Management servers. One node
proves the change before the next one gets it.

The engine talks to nodes through :class:`NodeOps` so the same logic runs against WinRM
(:class:`RemoteNodeOps`) and in tests; every step is journaled (``auditor.fixers.journal``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations
from auditor.findings import Finding
from auditor.fixers.journal import Journal, JournalError
from auditor.fixers.plan import RESTART, SET_ACCOUNT, FileEdit, FixPlan, NodePlan, ServiceAction
from auditor.nodestate import NodeState
from auditor.remote.protocol import (
    check_installers_op,
    restart_service_op,
    restore_file_op,
    set_service_account_op,
    sha256_hex,
    wild_match,
    write_file_op,
)
from auditor.vocab import MASK, ApplyOutcome, ExitStatus, NodeStatus, OpStatus

PASSWORD_ENV = "PA_S_SERVICE_PASSWORD"


class OpsError(Exception):
    """A node could not be asked (transport, authentication, protocol): nothing is known."""


class NodeOps(Protocol):
    """How the engine reaches a node. ``apply`` runs one apply request and returns its
    results (one dict per op: ``op``, ``status`` ok/failed/skipped, ``error``, ``data``) or
    raises :class:`OpsError`; ``collect`` returns a fresh NodeState (status != ok on failure)."""

    def apply(self, node: str, ops: list[dict[str, Any]], secrets: dict[str, str] | None = None
              ) -> list[dict[str, Any]]: ...

    def collect(self, node: str) -> NodeState: ...


@dataclass
class NodeOutcome:
    node: str
    status: ApplyOutcome = ApplyOutcome.NOT_REACHED
    steps: list[str] = field(default_factory=list)  # human-readable, in order
    error: str | None = None
    backups: list[tuple[str, str]] = field(default_factory=list)  # (file, backup path on the node)
    manual: list[str] = field(default_factory=list)  # what the admin must do by hand


@dataclass
class ApplyResult:
    outcomes: list[NodeOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitStatus:
        statuses = [o.status for o in self.outcomes]
        if ApplyOutcome.ROLLBACK_INCOMPLETE in statuses:
            return ExitStatus.ROLLBACK_FAILED
        if ApplyOutcome.ROLLED_BACK in statuses:
            return ExitStatus.ROLLED_BACK
        if ApplyOutcome.REFUSED in statuses:
            # refused on a node after earlier nodes were changed: the rollout stopped
            return ExitStatus.ROLLED_BACK if ApplyOutcome.VERIFIED in statuses else ExitStatus.REFUSED
        return ExitStatus.OK

    @property
    def failed(self) -> NodeOutcome | None:
        return next((o for o in self.outcomes if o.status not in (ApplyOutcome.VERIFIED, ApplyOutcome.NOT_REACHED)), None)


def project(state: NodeState, np: NodePlan) -> NodeState:
    """``state`` as it will be once ``np`` is applied (new file bytes, new service accounts)."""
    from auditor.nodestate import FileEntry, path_key

    out = copy.deepcopy(state)
    for e in np.edits:
        if e.changes:
            old = out.file(e.path)
            out.files[path_key(e.path)] = FileEntry(path=old.path if old else e.path, content=e.new,
                                                    mtime=old.mtime if old else None)
    for a in np.account_changes:
        svc = out.service(a.service)
        if svc is not None and a.account:
            svc.account = a.account
    return out


def installers_running(states: Sequence[NodeState], patterns: Sequence[str]) -> dict[str, list[str]]:
    """Node name -> running processes matching the profile's installer patterns (collected)."""
    out: dict[str, list[str]] = {}
    for st in states:
        hits = [f"{p.name} (pid {p.pid})" for p in st.processes if any(wild_match(pat, p.name) for pat in patterns)]
        if hits:
            out[st.name] = hits
    return out


def _improved(before: Finding | None, after: Finding) -> bool:
    """A partial fix holds when the finding lists strictly fewer problems, none of them new."""
    if before is None or after.status != before.status:
        return False
    b = (before.details or {}).get("problems")
    a = (after.details or {}).get("problems")
    if not isinstance(a, list) or not isinstance(b, list):
        return False  # cannot tell: treat as not improved (the rollback is the safe side)
    return {_problem_key(x) for x in a} < {_problem_key(x) for x in b}


def _problem_key(text: str) -> str:
    """A problem's identity regardless of numbering and line numbers, which an edit may shift."""
    text = re.sub(r"\bentry \d+\b", "entry #", str(text))
    return re.sub(r"\blines? [\d, ]+", "line #", text)


def _result_error(r: dict[str, Any]) -> str:
    return str(r.get("error") or f"{r.get('op')} {r.get('status')}")


def _data(r: dict[str, Any]) -> dict[str, Any]:
    d = r.get("data")
    return d if isinstance(d, dict) else {}


@dataclass
class _Done:
    """What has been changed on the node so far (what a rollback must undo)."""

    written: list[tuple[FileEdit, str]] = field(default_factory=list)  # (edit, backup path)
    accounts: list[ServiceAction] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    in_flight: list[FileEdit] = field(default_factory=list)  # writes sent, answer not yet read

    @property
    def changed(self) -> bool:
        return bool(self.written or self.accounts or self.restarted or self.in_flight)


class ApplyEngine:
    """Runs a plan; see the module docstring. ``echo`` prints progress lines for the admin."""

    def __init__(self, ops: NodeOps, profile: Any, states: Sequence[NodeState], journal: Journal, *,
                 password: Any = None, echo: Callable[[str], None] = lambda _s: None,
                 restart_timeout_s: int = 120, declared: Declarations | None = None):
        self.ops = ops
        self.profile = profile
        self.declared = declared  # the inventory's declarations: re-checks judge as the plan did
        self.states = {s.name.lower(): s for s in copy.deepcopy(list(states))}
        self.order = [s.name for s in states]
        self.journal = journal
        self.password = password  # auditor.collect.credentials.Secret or None
        self.echo = echo
        self.restart_timeout_s = restart_timeout_s
        self.management = [s.name for s in states if "management" in s.roles]
        self.pending: dict[str, NodeState] = {}  # planned end state of nodes not yet done

    # ---- helpers -------------------------------------------------------------------------
    def _findings(self, node: str) -> list[Finding]:
        """The checks' findings for ``node`` in the cluster *as the plan will leave it*.

        Nodes still waiting for their turn are seen with their planned changes applied
        (:func:`project`). Why: consistency checks compare nodes with each other, so during a
        rollout that changes a shared value (e.g. ``--repository-path``) the first node would
        otherwise look "different from the others" and be rolled back, and the value could
        never change. The node under test is always seen as it really is.
        """
        states = []
        for n in self.order:
            key = n.lower()
            if key != node.lower() and key in self.pending:
                states.append(self.pending[key])
            else:
                states.append(self.states[key])
        return run_checks(Cluster.build(states, self.profile, self.declared), nodes={node})

    def _say(self, outcome: NodeOutcome, text: str) -> None:
        text = self.journal.scrub(text)
        outcome.steps.append(text)
        self.echo(f"  {outcome.node}: {text}")

    def _apply(self, node: str, ops: list[dict[str, Any]], secrets: dict[str, str] | None = None
               ) -> list[dict[str, Any]]:
        results = self.ops.apply(node, ops, secrets)
        if len(results) != len(ops):
            raise OpsError(f"node answered {len(results)} results for {len(ops)} operations")
        return results

    # ---- the rollout ---------------------------------------------------------------------
    def run(self, plan: FixPlan) -> ApplyResult:
        result = ApplyResult()
        todo = [n for n in plan.nodes if not n.empty]
        self.pending = {np.node.lower(): project(self.states[np.node.lower()], np) for np in todo
                        if np.node.lower() in self.states}
        for i, np in enumerate(todo):
            self.echo(f"[{i + 1}/{len(todo)}] {np.node}")
            outcome = self.apply_node(np)
            result.outcomes.append(outcome)
            if outcome.status != ApplyOutcome.VERIFIED:
                for rest in todo[i + 1:]:
                    result.outcomes.append(NodeOutcome(rest.node, ApplyOutcome.NOT_REACHED,
                                                       ["not touched: the rollout stopped at " + np.node]))
                break
        return result

    def apply_node(self, np: NodePlan) -> NodeOutcome:
        """Apply one node's plan; whatever happens, leave the node as it was or verified.

        An unexpected exception (a bug, Ctrl-C) after something changed still rolls the node
        back before it propagates: a half-applied node is the one outcome never acceptable.
        """
        out = NodeOutcome(np.node)
        done = _Done()
        try:
            return self._apply_node(np, out, done)
        except BaseException as exc:
            if done.changed and out.status == ApplyOutcome.NOT_REACHED:
                self._rollback(out, np, done, f"interrupted: {type(exc).__name__}: {exc}",
                               unknown_writes=done.in_flight)
                if isinstance(exc, Exception):
                    return out
            raise

    def _installer_check(self, node: str) -> str | None:
        """None when no installer runs on ``node`` nor on any Management server, else why not.

        The Management servers are asked too because an update starts there (D6) and a
        configuration change during it is what the check exists to prevent; asking every
        site server before every node would be quadratic on large clusters.
        """
        patterns = [str(p) for p in self.profile.installer_processes]
        for name in dict.fromkeys([node, *self.management]):
            try:
                r = self._apply(name, [check_installers_op(patterns)])[0]
            except OpsError as exc:
                return f"cannot ask {name} whether an installer is running: {exc}"
            running = _data(r).get("running") or []
            if r.get("status") != OpStatus.OK or running:
                names = ", ".join(str(p.get("name", p)) if isinstance(p, dict) else str(p) for p in running)
                why = names or _result_error(r)
                return f"an installer is running on {name} ({why}); try again after it ends"
        return None

    def _apply_node(self, np: NodePlan, out: NodeOutcome, done: _Done) -> NodeOutcome:
        node = np.node
        edits = [e for e in np.edits if e.changes]
        # 1. installers, right before changing the node
        refusal = self._installer_check(node)
        if refusal:
            return self._refuse(out, refusal)
        self._say(out, "no installer running")
        # the reference for "nothing got worse": the cluster as it is right now (earlier nodes
        # of this rollout included), not as it was at the start
        baseline = self._findings(node)
        # 2. files
        if edits:
            for e in edits:
                problem = self._intend(node, "write_file", check_id=e.check_id, file=e.path,
                                       sha256_before=e.old_sha256, sha256_after=e.new_sha256)
                if problem:
                    return self._refuse(out, f"nothing changed: {problem}")
            done.in_flight = list(edits)
            try:
                results = self._apply(node, [write_file_op(e.path, e.new, e.old_sha256) for e in edits])
            except OpsError as exc:
                # the request may or may not have run: the rollback re-reads and compares
                return self._rollback(out, np, done, f"writing files failed: {exc}", unknown_writes=edits)
            done.in_flight = []
            for e, r in zip(edits, results, strict=True):
                if r.get("status") == OpStatus.OK:
                    backup = str(_data(r).get("backup_path") or "")
                    done.written.append((e, backup))
                    out.backups.append((e.path, backup))
                    self.journal.record(node=node, action="write_file", result="ok", check_id=e.check_id,
                                        file=e.path, backup=backup, sha256_before=e.old_sha256,
                                        sha256_after=e.new_sha256, reason=e.reason, diff=e.diff)
                    self._say(out, f"wrote {e.path} (backup {backup or 'none reported'})")
                elif r.get("status") == OpStatus.FAILED:
                    err = _result_error(r)
                    self.journal.record(node=node, action="write_file", result="failed", check_id=e.check_id,
                                        file=e.path, sha256_before=e.old_sha256, error=err)
                    return self._rollback(out, np, done, f"writing {e.path} failed: {err}")
        # 3. service accounts
        for a in np.account_changes:
            secrets = None
            env = None
            if a.password_ref:
                if self.password is None:
                    return self._rollback(out, np, done, f"no password available for {a.account}")
                env = PASSWORD_ENV
                secrets = {PASSWORD_ENV: self.password.reveal()}
            problem = self._intend(node, "set_service_account", check_id=a.check_id, service=a.service,
                                   account=a.account, previous_account=a.previous_account)
            if problem:
                return self._rollback(out, np, done, problem)
            done.accounts.append(a)  # before asking: if the answer is lost, the rollback resets it
            try:
                r = self._apply(node, [set_service_account_op(a.service, a.account or "", env)], secrets)[0]
            except OpsError as exc:
                return self._rollback(out, np, done, f"changing the account of {a.service} failed: {exc}")
            ok = r.get("status") == OpStatus.OK
            self.journal.record(node=node, action="set_service_account", result="ok" if ok else "failed",
                                check_id=a.check_id, service=a.service, account=a.account,
                                previous_account=a.previous_account, password_source=a.password_ref,
                                error=None if ok else _result_error(r))
            if not ok:
                done.accounts.pop()  # refused by the node: nothing to undo
                return self._rollback(out, np, done,
                                      f"changing the account of {a.service} failed: {_result_error(r)}")
            self._say(out, f"{a.service} now logs on as {a.account}")
        # 4. restarts
        for a in np.restarts:
            done.restarted.append(a.service)
            err = self._restart(node, a.service, a.check_id, "restart")
            if err:
                return self._rollback(out, np, done, f"service {a.service} did not restart: {err}")
            self._say(out, f"restarted {a.service}")
        # 5. verify
        problem = self._verify(np, baseline)
        if problem:
            self.journal.record(node=node, action="verify", result="failed", checks=np.check_ids, error=problem)
            return self._rollback(out, np, done, f"verification failed: {problem}")
        self.journal.record(node=node, action="verify", result="ok", checks=np.check_ids)
        self._say(out, "verified: " + ", ".join(np.check_ids) + " pass, nothing else got worse")
        out.status = ApplyOutcome.VERIFIED
        return out

    def _intend(self, node: str, change: str, **fields: Any) -> str | None:
        """Write-ahead record of a change about to be requested (None when journaled).

        The result record only follows the node's answer; a client killed while the request is
        in flight (SIGKILL, power loss, a crashed VM) would otherwise leave a change on the node
        that no journal mentions. The intent names the file and both hashes, so the admin can
        tell from the node's file which side of the change it is on (the backup sits next to it).
        """
        try:
            self.journal.record(node=node, action="intent", result="pending", change=change, **fields)
        except JournalError as exc:
            return str(exc)
        return None

    def _refuse(self, out: NodeOutcome, reason: str) -> NodeOutcome:
        out.status = ApplyOutcome.REFUSED
        out.error = self.journal.scrub(reason)
        self.journal.record(node=out.node, action="refuse", result="refused", error=reason, strict=False)
        self._say(out, "refused: " + reason)
        return out

    def _restart(self, node: str, service: str, check_id: str | None, why: str) -> str | None:
        try:
            r = self._apply(node, [restart_service_op(service, self.restart_timeout_s)])[0]
        except OpsError as exc:
            err: str | None = str(exc)
        else:
            err = None if r.get("status") == OpStatus.OK else _result_error(r)
        self.journal.record(node=node, action="restart_service", result="ok" if err is None else "failed",
                            strict=why != "rollback",
                            check_id=check_id, service=service, why=why, error=err)
        return err

    def _verify(self, np: NodePlan, baseline: list[Finding]) -> str | None:
        """Re-collect the node, re-run every check for it; None when the fix holds."""
        try:
            fresh = self.ops.collect(np.node)
        except Exception as exc:  # noqa: BLE001 - any failure to re-read is a failed verification
            return f"the node could not be re-collected ({type(exc).__name__}: {exc})"
        if fresh.status != NodeStatus.OK:
            return f"the node could not be re-collected ({fresh.status}: {fresh.reason})"
        previous = self.states[np.node.lower()]
        self.states[np.node.lower()] = fresh
        findings = self._findings(np.node)
        now = {f.key(): f for f in findings if (f.node or "").lower() == np.node.lower()}
        problems = []
        before = {f.key(): f for f in baseline}
        for key in np.addresses:
            f = now.get(key)
            if f is None or not f.failing:
                continue
            if key in np.partial and _improved(before.get(key), f):
                continue  # expected: what the admin chose to keep (e.g. stale entries) remains
            problems.append(f"{f.check_id} still {f.status.value}: {f.message}")
        was_ok = {f.key() for f in baseline if (f.node or "").lower() == np.node.lower() and not f.failing}
        for key, f in now.items():
            if f.failing and key in was_ok:
                problems.append(f"{f.check_id} got worse ({f.status.value}): {f.message}")
        if problems:
            self.states[np.node.lower()] = previous
            return "; ".join(problems)
        self.pending.pop(np.node.lower(), None)
        return None

    def _rollback(self, out: NodeOutcome, np: NodePlan, done: _Done, reason: str,
                  unknown_writes: Sequence[FileEdit] = ()) -> NodeOutcome:
        node = np.node
        written, accounts, restarted = done.written, done.accounts, done.restarted
        out.error = self.journal.scrub(reason)
        self._say(out, "FAILED: " + reason)
        self._say(out, "rolling back")
        manual: list[str] = []
        for e, backup in reversed(written):
            if not backup:
                manual.append(f"restore {e.path} by hand (the node reported no backup path)")
                continue
            try:
                r = self._apply(node, [restore_file_op(e.path, backup, e.new_sha256)])[0]
                err = None if r.get("status") == OpStatus.OK else _result_error(r)
            except OpsError as exc:
                err = str(exc)
            self.journal.record(node=node, action="restore_file", result="ok" if err is None else "failed",
                                strict=False, check_id=e.check_id, file=e.path, backup=backup, error=err)
            if err:
                manual.append(f"restore {e.path} from the backup {backup} ({err})")
            else:
                self._say(out, f"restored {e.path} from {backup}")
        if unknown_writes:
            manual.extend(self._undo_unknown_writes(out, node, unknown_writes))
        builtin = {a.lower() for a in self.profile.builtin_accounts}
        for a in reversed(accounts):
            prev = a.previous_account or ""
            if prev.lower() not in builtin:
                manual.append(f"set the log-on account of {a.service} back to {prev or 'its previous account'} "
                              "by hand (its password is not known to the tool)")
                continue
            try:
                r = self._apply(node, [set_service_account_op(a.service, prev, None)])[0]
                err = None if r.get("status") == OpStatus.OK else _result_error(r)
            except OpsError as exc:
                err = str(exc)
            self.journal.record(node=node, action="set_service_account", result="ok" if err is None else "failed",
                                strict=False, check_id=a.check_id, service=a.service, account=prev, rollback=True,
                                error=err)
            if err:
                manual.append(f"set the log-on account of {a.service} back to {prev} ({err})")
            else:
                self._say(out, f"{a.service} logs on as {prev} again")
        # restart what was (or may have been) restarted, plus services whose account was reset
        again = list(dict.fromkeys(restarted + [a.service for a in accounts]))
        for svc in again:
            err = self._restart(node, svc, None, "rollback")
            if err:
                manual.append(f"start service {svc} by hand after checking its log ({err})")
            else:
                self._say(out, f"restarted {svc} again")
        # prove the files are what they were at collection time
        if written or unknown_writes:
            manual.extend(self._check_restored(out, node, [e for e, _ in written] + list(unknown_writes)))
        if self.journal.lost:
            manual.append(f"{self.journal.lost} journal entr(y/ies) could not be written to {self.journal.path}; "
                          "this output is the only record of them")
        out.manual = [self.journal.scrub(m) for m in manual]
        out.status = ApplyOutcome.ROLLBACK_INCOMPLETE if manual else ApplyOutcome.ROLLED_BACK
        self.journal.record(node=node, action="rollback", result="incomplete" if manual else "ok", strict=False,
                            error=reason, manual=manual)
        for m in manual:
            self._say(out, "MANUAL ACTION NEEDED: " + m)
        return out

    def _undo_unknown_writes(self, out: NodeOutcome, node: str, edits: Sequence[FileEdit]) -> list[str]:
        """Writes whose answer was lost: put the collected bytes back where the new ones landed.

        No backup path is known for them, but the engine holds the exact original bytes, and
        ``expect_sha256`` of the planned content makes the rewrite safe against a third party.
        """
        try:
            fresh = self.ops.collect(node)
        except Exception as exc:  # noqa: BLE001
            fresh = NodeState(name=node, status=NodeStatus.ERROR, reason=f"{type(exc).__name__}: {exc}")
        if fresh.status != NodeStatus.OK:
            return [f"could not re-read the node ({fresh.reason}); check {', '.join(e.path for e in edits)} by hand"]
        manual = []
        for e in edits:
            entry = fresh.file(e.path)
            cur = sha256_hex(entry.content) if entry is not None and entry.content is not None else None
            if cur != e.new_sha256:
                continue  # not written (or changed by someone else: reported by the byte check)
            try:
                r = self._apply(node, [write_file_op(e.path, e.old, e.new_sha256)])[0]
                err = None if r.get("status") == OpStatus.OK else _result_error(r)
            except OpsError as exc:
                err = str(exc)
            self.journal.record(node=node, action="restore_file", result="ok" if err is None else "failed",
                                strict=False, check_id=e.check_id, file=e.path, method="rewrite collected content",
                                backup=str(_data(r).get("backup_path") or "") if err is None else None, error=err)
            if err:
                manual.append(f"put back the original {e.path} ({err})")
            else:
                self._say(out, f"restored {e.path} from the collected content")
        return manual

    def _check_restored(self, out: NodeOutcome, node: str, edits: Sequence[FileEdit]) -> list[str]:
        try:
            fresh = self.ops.collect(node)
        except OpsError as exc:
            return [f"could not re-read the node to confirm the restore ({exc}); check the files by hand"]
        if fresh.status != NodeStatus.OK:
            return [f"could not re-read the node to confirm the restore ({fresh.reason}); check the files by hand"]
        manual = []
        for e in edits:
            entry = fresh.file(e.path)
            got = sha256_hex(entry.content) if entry is not None and entry.content is not None else None
            if got != e.old_sha256:
                manual.append(f"{e.path} is not byte-identical to its state before the fix "
                              f"(sha256 {got or 'missing'}, expected {e.old_sha256})")
        if not manual:
            self._say(out, "confirmed: " + ", ".join(e.path for e in edits) + " byte-identical to before")
        return manual


def summarize_actions(np: NodePlan) -> list[str]:
    """One line per planned step, in apply order (for the confirmation prompt and reports)."""
    lines = [f"write {e.path}" for e in np.edits if e.changes]
    lines += [a.describe() for a in np.actions if a.kind == SET_ACCOUNT]
    lines += [a.describe() for a in np.actions if a.kind == RESTART]
    return lines


class RemoteNodeOps:
    """:class:`NodeOps` over WinRM (``auditor.remote``), reusing the run's resolved credentials.

    Re-collection goes through the collection runner for one node, so a verified node is
    read exactly as the initial collection read it (same request, same checks of identity).
    """

    def __init__(self, inventory: Any, profile: Any, credentials: dict[str, Any], security: Any = None,
                 execute: Callable[..., dict[str, Any]] | None = None,
                 warn: Callable[[str], None] | None = None):
        self.inventory = inventory
        self.profile = profile
        self.credentials = credentials
        self.security = security
        self._execute = execute
        self._warn = warn  # the security warnings of each re-collection (as the first collection's)

    def _target(self, name: str) -> Any:
        from auditor.collect.credentials import Credentials
        from auditor.remote.client import Target

        node = self.inventory.node(name)
        creds = self.credentials.get(node.name) or Credentials(node.username, None)
        read = max(2.0, float(node.read_timeout))
        return Target(
            name=node.name, host=node.address, port=node.port, scheme=node.scheme, transport=node.transport,
            username=creds.username, password=creds.password.reveal() if creds.password is not None else "",
            ca_file=str(node.ca_file) if node.ca_file else None, verify=node.verify,
            connect_timeout=float(node.connect_timeout), read_timeout=read,
            operation_timeout=int(max(1, min(20, read - 1))),
            max_output_bytes=node.max_output_bytes,
            kerberos_hostname_override=node.kerberos_hostname_override,
        )

    def apply(self, node: str, ops: list[dict[str, Any]], secrets: dict[str, str] | None = None
              ) -> list[dict[str, Any]]:
        from auditor.remote.client import RemoteError, execute
        from auditor.remote.protocol import build_apply_request

        run = self._execute or execute
        request = build_apply_request(ops)
        try:
            response = run(self._target(node), request, secrets=secrets)
        except RemoteError as exc:
            text = exc.message
            for value in (secrets or {}).values():
                text = text.replace(value, MASK) if value else text
            raise OpsError(f"{exc.kind}: {text}") from None
        return list(response.get("results") or [])

    def collect(self, node: str) -> NodeState:
        from auditor.collect.inventory import Inventory
        from auditor.collect.runner import SILENT, CollectionEvents, SecurityOptions, collect_cluster

        one = Inventory(self.inventory.cluster, [self.inventory.node(node)], 1, self.inventory.path)
        events = CollectionEvents(warning=self._warn) if self._warn else SILENT
        result = collect_cluster(one, self.profile, events=events, security=self.security or SecurityOptions(),
                                 credentials=self.credentials)
        return result.nodes[0]
