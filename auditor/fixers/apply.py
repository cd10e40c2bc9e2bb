"""The apply engine: execute a :class:`FixPlan` one node at a time, verified, with rollback.

Per node, in inventory order, never two nodes at once:

1. ask the node whether an installer is running (``check_installers``); if so, stop;
2. write every planned file atomically, each only if it still has the collected SHA-256
   (``expect_sha256``), each backed up first on the node (backup path reported/journaled);
3. change service accounts (password handed over in a shell environment variable);
4. restart the affected services;
5. re-collect the node and re-run the checks: every finding the plan addressed must pass
   now, and nothing that passed before may fail;
6. on any failure: roll the node back (``auditor.fixers.rollback``) and STOP the rollout
   (later nodes are not touched).

Why serial and stop-at-first-failure: the changes are cluster membership lists; a bad edit
applied everywhere at once can cut every SPOC off from the Management servers. One node
proves the change before the next one gets it.

The engine talks to nodes through :class:`~auditor.fixers.node_ops.NodeOps` (typed results,
never response dicts) so the same logic runs against WinRM and in tests; every step is
journaled (``auditor.fixers.journal``). The whole use case around it (lock, journal,
confirmation, exit code) is ``auditor.fixers.rollout``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations
from auditor.findings import Finding
from auditor.fixers.journal import Journal, JournalError
from auditor.fixers.node_ops import NodeOps, OpsError, RemoteNodeOps
from auditor.fixers.outcome import ApplyResult, NodeOutcome
from auditor.fixers.plan import FixPlan, NodePlan, ServiceAction
from auditor.fixers.rollback import Changes, NodeSteps, backup_of
from auditor.nodestate import NodeState
from auditor.profile import Profile
from auditor.remote.apply_results import CheckInstallersResult
from auditor.remote.protocol import check_installers_op, set_service_account_op, wild_match, write_file_op
from auditor.vocab import ApplyOutcome, NodeStatus, OpStatus
from auditor.winpath import path_key

PASSWORD_ENV = "PA_S_SERVICE_PASSWORD"

__all__ = ["PASSWORD_ENV", "ApplyEngine", "ApplyResult", "NodeOps", "NodeOutcome", "OpsError", "RemoteNodeOps",
           "installers_running", "project"]


def project(state: NodeState, node_plan: NodePlan) -> NodeState:
    """``state`` as it will be once ``node_plan`` is applied (new file bytes, new accounts)."""
    from auditor.nodestate import FileEntry

    projected = copy.deepcopy(state)
    for edit in node_plan.edits:
        if edit.changes:
            old = projected.file(edit.path)
            projected.files[path_key(edit.path)] = FileEntry(path=old.path if old else edit.path, content=edit.new,
                                                             mtime=old.mtime if old else None)
    for action in node_plan.account_changes:
        service = projected.service(action.service)
        if service is not None and action.account:
            service.account = action.account
    return projected


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


class ApplyEngine(NodeSteps):
    """Runs a plan; see the module docstring. ``echo`` prints progress lines for the admin."""

    def __init__(self, ops: NodeOps, profile: Profile, states: Sequence[NodeState], journal: Journal, *,
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

    # ---- the rollout ---------------------------------------------------------------------
    def run(self, plan: FixPlan) -> ApplyResult:
        result = ApplyResult()
        todo = [n for n in plan.nodes if not n.empty]
        self.pending = {p.node.lower(): project(self.states[p.node.lower()], p) for p in todo
                        if p.node.lower() in self.states}
        for i, node_plan in enumerate(todo):
            self.echo(f"[{i + 1}/{len(todo)}] {node_plan.node}")
            outcome = self.apply_node(node_plan)
            result.outcomes.append(outcome)
            if outcome.status != ApplyOutcome.VERIFIED:
                for rest in todo[i + 1:]:
                    result.outcomes.append(NodeOutcome(rest.node, ApplyOutcome.NOT_REACHED,
                                                       ["not touched: the rollout stopped at " + node_plan.node]))
                break
        return result

    def apply_node(self, node_plan: NodePlan) -> NodeOutcome:
        """Apply one node's plan; whatever happens, leave the node as it was or verified.

        An unexpected exception (a bug, Ctrl-C) after something changed still rolls the node
        back before it propagates: a half-applied node is the one outcome never acceptable.
        """
        outcome = NodeOutcome(node_plan.node)
        done = Changes()
        try:
            return self._apply_node(node_plan, outcome, done)
        except BaseException as exc:
            if done.changed and outcome.status == ApplyOutcome.NOT_REACHED:
                self._rollback(outcome, node_plan, done, f"interrupted: {type(exc).__name__}: {exc}",
                               unknown_writes=done.in_flight)
                if isinstance(exc, Exception):
                    return outcome
            raise

    def _installer_check(self, node: str) -> str | None:
        """None when no installer runs on ``node`` nor on any Management server, else why not.

        The Management servers are asked too because an update starts there (D6) and a
        configuration change during it is what the check exists to prevent; asking every
        site server before every node would be quadratic on large clusters.
        """
        patterns = list(self.profile.installer_processes)
        for name in dict.fromkeys([node, *self.management]):
            try:
                result = self._apply(name, [check_installers_op(patterns)])[0]
            except OpsError as exc:
                return f"cannot ask {name} whether an installer is running: {exc}"
            running = result.running if isinstance(result, CheckInstallersResult) else ()
            if not result.ok or running:
                why = ", ".join(p.name for p in running) or result.problem
                return f"an installer is running on {name} ({why}); try again after it ends"
        return None

    def _apply_node(self, node_plan: NodePlan, outcome: NodeOutcome, done: Changes) -> NodeOutcome:
        node = node_plan.node
        # 1. installers, right before changing the node
        refusal = self._installer_check(node)
        if refusal:
            return self._refuse(outcome, refusal)
        self._say(outcome, "no installer running")
        # the reference for "nothing got worse": the cluster as it is right now (earlier nodes
        # of this rollout included), not as it was at the start
        baseline = self._findings(node)
        failure = (self._write_files(node_plan, outcome, done)
                   or self._change_accounts(node_plan, outcome, done)
                   or self._restart_services(node_plan, outcome, done))
        if failure is not None:
            return failure
        # 5. verify
        problem, improved = self._verify(node_plan, baseline)
        if problem:
            self.journal.record(node=node, action="verify", result="failed", checks=node_plan.check_ids,
                                error=problem)
            return self._rollback(outcome, node_plan, done, f"verification failed: {problem}")
        self.journal.record(node=node, action="verify", result="ok", checks=node_plan.check_ids)
        passing = [c for c in node_plan.check_ids if c not in improved]
        said = [f"{', '.join(passing)} pass"] if passing else []
        if improved:
            said.append(f"{', '.join(improved)} improved (the blocked items remain)")
        self._say(outcome, "verified: " + "; ".join(said) + ", nothing else got worse")
        outcome.status = ApplyOutcome.VERIFIED
        return outcome

    def _write_files(self, node_plan: NodePlan, outcome: NodeOutcome, done: Changes) -> NodeOutcome | None:
        """Step 2: every changed file in one request. None when all were written, else the
        outcome of the refusal or rollback."""
        node = node_plan.node
        edits = [e for e in node_plan.edits if e.changes]
        if not edits:
            return None
        for edit in edits:
            problem = self._intend(node, "write_file", check_id=edit.check_id, file=edit.path,
                                   sha256_before=edit.old_sha256, sha256_after=edit.new_sha256)
            if problem:
                return self._refuse(outcome, f"nothing changed: {problem}")
        done.in_flight = list(edits)
        try:
            results = self._apply(node, [write_file_op(e.path, e.new, e.old_sha256) for e in edits])
        except OpsError as exc:
            # the request may or may not have run: the rollback re-reads and compares
            return self._rollback(outcome, node_plan, done, f"writing files failed: {exc}", unknown_writes=edits)
        done.in_flight = []
        for edit, result in zip(edits, results, strict=True):
            if result.ok:
                backup = backup_of(result)
                done.written.append((edit, backup))
                outcome.backups.append((edit.path, backup))
                self.journal.record(node=node, action="write_file", result="ok", check_id=edit.check_id,
                                    file=edit.path, backup=backup, sha256_before=edit.old_sha256,
                                    sha256_after=edit.new_sha256, reason=edit.reason, diff=edit.diff)
                self._say(outcome, f"wrote {edit.path} (backup {backup or 'none reported'})")
            elif result.status == OpStatus.FAILED:
                self.journal.record(node=node, action="write_file", result="failed", check_id=edit.check_id,
                                    file=edit.path, sha256_before=edit.old_sha256, error=result.problem)
                return self._rollback(outcome, node_plan, done, f"writing {edit.path} failed: {result.problem}")
        return None

    def _change_accounts(self, node_plan: NodePlan, outcome: NodeOutcome, done: Changes) -> NodeOutcome | None:
        """Step 3: service log-on accounts, the password in a shell variable only."""
        for action in node_plan.account_changes:
            failure = self._change_account(node_plan, action, outcome, done)
            if failure is not None:
                return failure
            self._say(outcome, f"{action.service} now logs on as {action.account}")
        return None

    def _change_account(self, node_plan: NodePlan, action: ServiceAction, outcome: NodeOutcome,
                        done: Changes) -> NodeOutcome | None:
        node = node_plan.node
        secrets = None
        env = None
        if action.password_ref:
            if self.password is None:
                return self._rollback(outcome, node_plan, done, f"no password available for {action.account}")
            env = PASSWORD_ENV
            secrets = {PASSWORD_ENV: self.password.reveal()}
        problem = self._intend(node, "set_service_account", check_id=action.check_id, service=action.service,
                               account=action.account, previous_account=action.previous_account)
        if problem:
            return self._rollback(outcome, node_plan, done, problem)
        done.accounts.append(action)  # before asking: if the answer is lost, the rollback resets it
        try:
            result = self._apply(node, [set_service_account_op(action.service, action.account or "", env)],
                                 secrets)[0]
        except OpsError as exc:
            return self._rollback(outcome, node_plan, done, f"changing the account of {action.service} failed: {exc}")
        self.journal.record(node=node, action="set_service_account", result="ok" if result.ok else "failed",
                            check_id=action.check_id, service=action.service, account=action.account,
                            previous_account=action.previous_account, password_source=action.password_ref,
                            error=None if result.ok else result.problem)
        if not result.ok:
            done.accounts.pop()  # refused by the node: nothing to undo
            return self._rollback(outcome, node_plan, done,
                                  f"changing the account of {action.service} failed: {result.problem}")
        return None

    def _restart_services(self, node_plan: NodePlan, outcome: NodeOutcome, done: Changes) -> NodeOutcome | None:
        """Step 4: each affected service once."""
        for action in node_plan.restarts:
            done.restarted.append(action.service)
            error = self._restart(node_plan.node, action.service, action.check_id, "restart")
            if error:
                return self._rollback(outcome, node_plan, done, f"service {action.service} did not restart: {error}")
            self._say(outcome, f"restarted {action.service}")
        return None

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

    def _refuse(self, outcome: NodeOutcome, reason: str) -> NodeOutcome:
        outcome.status = ApplyOutcome.REFUSED
        outcome.error = self.journal.scrub(reason)
        self.journal.record(node=outcome.node, action="refuse", result="refused", error=reason, strict=False)
        self._say(outcome, "refused: " + reason)
        return outcome

    def _verify(self, node_plan: NodePlan, baseline: list[Finding]) -> tuple[str | None, list[str]]:
        """Re-collect the node, re-run every check for it: (None when the fix holds, else what
        went wrong; the checks a partial fix improved that still fail)."""
        node = node_plan.node
        try:
            fresh = self.ops.collect(node)
        except Exception as exc:  # noqa: BLE001 - any failure to re-read is a failed verification
            return f"the node could not be re-collected ({type(exc).__name__}: {exc})", []
        if fresh.status != NodeStatus.OK:
            return f"the node could not be re-collected ({fresh.status}: {fresh.reason})", []
        previous = self.states[node.lower()]
        self.states[node.lower()] = fresh
        now = {f.key(): f for f in self._findings(node) if (f.node or "").lower() == node.lower()}
        problems: list[str] = []
        improved: list[str] = []
        before = {f.key(): f for f in baseline}
        for key in node_plan.addresses:
            finding = now.get(key)
            if finding is None or not finding.failing:
                continue
            if key in node_plan.partial and _improved(before.get(key), finding):
                if finding.check_id not in improved:
                    improved.append(finding.check_id)
                continue  # expected: what the admin chose to keep (e.g. stale entries) remains
            problems.append(f"{finding.check_id} still {finding.status.value}: {finding.message}")
        was_ok = {f.key() for f in baseline if (f.node or "").lower() == node.lower() and not f.failing}
        for key, finding in now.items():
            if finding.failing and key in was_ok:
                problems.append(f"{finding.check_id} got worse ({finding.status.value}): {finding.message}")
        if problems:
            self.states[node.lower()] = previous
            return "; ".join(problems), []
        self.pending.pop(node.lower(), None)
        return None, improved
