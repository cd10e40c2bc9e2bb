"""Undoing one node's changes: the apply engine's rollback, and the one journaled step both
directions share.

A rollback restores every backup written, puts back files whose write answer was lost (from
the collected bytes), resets a built-in previous service account, restarts what was (or may
have been) restarted, and re-collects the node to prove the files are byte-identical to
before. Anything it cannot do becomes a "MANUAL ACTION NEEDED" line: a rollback never stops
half way, and never because the journal cannot be written (its steps journal non-strictly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.accounts import classify
from auditor.fixers.journal import Journal
from auditor.fixers.node_ops import NodeOps, OpsError
from auditor.fixers.outcome import NodeOutcome
from auditor.fixers.plan import FileEdit, NodePlan, ServiceAction
from auditor.nodestate import NodeState
from auditor.profile import Profile
from auditor.remote.apply_results import OpResult, WriteFileResult
from auditor.remote.protocol import (
    restart_service_op,
    restore_file_op,
    set_service_account_op,
    sha256_hex,
    write_file_op,
)
from auditor.vocab import ApplyOutcome, NodeStatus


@dataclass
class Changes:
    """What has been changed on the node so far (what a rollback must undo)."""

    written: list[tuple[FileEdit, str]] = field(default_factory=list)  # (edit, backup path)
    accounts: list[ServiceAction] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    in_flight: list[FileEdit] = field(default_factory=list)  # writes sent, answer not yet read

    @property
    def changed(self) -> bool:
        return bool(self.written or self.accounts or self.restarted or self.in_flight)


class NodeSteps:
    """The node access and journal the engine and its rollback share (mixed into ApplyEngine)."""

    ops: NodeOps
    profile: Profile
    journal: Journal
    restart_timeout_s: int
    _say: Callable[[NodeOutcome, str], None]

    def _apply(self, node: str, ops: list[dict[str, Any]], secrets: dict[str, str] | None = None
               ) -> Sequence[OpResult]:
        results = self.ops.apply(node, ops, secrets)
        if len(results) != len(ops):
            raise OpsError(f"node answered {len(results)} results for {len(ops)} operations")
        return results

    def _step(self, node: str, op: dict[str, Any], action: str, *, strict: bool,
              on_ok: Callable[[Any], dict[str, Any]] | None = None, **fields: Any) -> str | None:
        """Run one op on ``node`` and journal it as ``action``: None when it succeeded, else
        the error (the node's refusal, or why the node could not be asked). ``on_ok`` adds
        journal fields taken from the typed result of a successful op."""
        result: OpResult | None = None
        try:
            result = self._apply(node, [op])[0]
            error = None if result.ok else result.problem
        except OpsError as exc:
            error = str(exc)
        if error is None and on_ok is not None:
            fields.update(on_ok(result))
        self.journal.record(node=node, action=action, result="ok" if error is None else "failed", strict=strict,
                            **fields, error=error)
        return error

    def _restart(self, node: str, service: str, check_id: str | None, why: str) -> str | None:
        return self._step(node, restart_service_op(service, self.restart_timeout_s), "restart_service",
                          strict=why != "rollback", check_id=check_id, service=service, why=why)

    # ---- rollback ------------------------------------------------------------------------
    def _undone(self, outcome: NodeOutcome, manual: list[str], error: str | None, by_hand: str, done: str) -> None:
        """One undo step's end: said on the console when it worked, else a manual action."""
        if error:
            manual.append(f"{by_hand} ({error})")
        else:
            self._say(outcome, done)

    def _rollback(self, outcome: NodeOutcome, node_plan: NodePlan, done: Changes, reason: str,
                  unknown_writes: Sequence[FileEdit] = ()) -> NodeOutcome:
        node = node_plan.node
        outcome.error = self.journal.scrub(reason)
        self._say(outcome, "FAILED: " + reason)
        self._say(outcome, "rolling back")
        manual = self._restore_backups(outcome, node, done.written)
        if unknown_writes:
            manual.extend(self._undo_unknown_writes(outcome, node, unknown_writes))
        manual.extend(self._reset_accounts(outcome, node, done.accounts))
        # restart what was (or may have been) restarted, plus services whose account was reset
        for service in dict.fromkeys(done.restarted + [a.service for a in done.accounts]):
            self._undone(outcome, manual, self._restart(node, service, None, "rollback"),
                         f"start service {service} by hand after checking its log", f"restarted {service} again")
        # prove the files are what they were at collection time
        if done.written or unknown_writes:
            manual.extend(self._check_restored(outcome, node, [e for e, _ in done.written] + list(unknown_writes)))
        if self.journal.lost:
            manual.append(f"{self.journal.lost} journal entr(y/ies) could not be written to {self.journal.path}; "
                          "this output is the only record of them")
        outcome.manual = [self.journal.scrub(m) for m in manual]
        outcome.status = ApplyOutcome.ROLLBACK_INCOMPLETE if manual else ApplyOutcome.ROLLED_BACK
        self.journal.record(node=node, action="rollback", result="incomplete" if manual else "ok", strict=False,
                            error=reason, manual=manual)
        for m in manual:
            self._say(outcome, "MANUAL ACTION NEEDED: " + m)
        return outcome

    def _restore_backups(self, outcome: NodeOutcome, node: str, written: list[tuple[FileEdit, str]]) -> list[str]:
        manual = []
        for edit, backup in reversed(written):
            if not backup:
                manual.append(f"restore {edit.path} by hand (the node reported no backup path)")
                continue
            error = self._step(node, restore_file_op(edit.path, backup, edit.new_sha256), "restore_file",
                               strict=False, check_id=edit.check_id, file=edit.path, backup=backup)
            self._undone(outcome, manual, error, f"restore {edit.path} from the backup {backup}",
                         f"restored {edit.path} from {backup}")
        return manual

    def _reset_accounts(self, outcome: NodeOutcome, node: str, accounts: list[ServiceAction]) -> list[str]:
        manual = []
        for action in reversed(accounts):
            previous = action.previous_account or ""
            # an account whose password Windows manages (built-in, virtual, gMSA) is set back
            # without one; any other needs a password the tool does not know
            if not previous or classify(previous, self.profile.service_accounts).kind.needs_password:
                manual.append(f"set the log-on account of {action.service} back to "
                              f"{previous or 'its previous account'} by hand (its password is not known to the tool)")
                continue
            error = self._step(node, set_service_account_op(action.service, previous, None), "set_service_account",
                               strict=False, check_id=action.check_id, service=action.service, account=previous,
                               rollback=True)
            self._undone(outcome, manual, error, f"set the log-on account of {action.service} back to {previous}",
                         f"{action.service} logs on as {previous} again")
        return manual

    def _fresh(self, node: str) -> NodeState:
        """The node re-collected now (a failure to re-read is a node with that reason)."""
        try:
            return self.ops.collect(node)
        except Exception as exc:  # noqa: BLE001 - the caller reports it and asks for a manual check
            return NodeState(name=node, status=NodeStatus.ERROR, reason=f"{type(exc).__name__}: {exc}")

    def _undo_unknown_writes(self, outcome: NodeOutcome, node: str, edits: Sequence[FileEdit]) -> list[str]:
        """Writes whose answer was lost: put the collected bytes back where the new ones landed.

        No backup path is known for them, but the engine holds the exact original bytes, and
        ``expect_sha256`` of the planned content makes the rewrite safe against a third party.
        """
        fresh = self._fresh(node)
        if fresh.status != NodeStatus.OK:
            return [f"could not re-read the node ({fresh.reason}); check {', '.join(e.path for e in edits)} by hand"]
        manual = []
        for edit in edits:
            if _sha256_on(fresh, edit.path) != edit.new_sha256:
                continue  # not written (or changed by someone else: reported by the byte check)
            error = self._step(node, write_file_op(edit.path, edit.old, edit.new_sha256), "restore_file",
                               strict=False, check_id=edit.check_id, file=edit.path,
                               method="rewrite collected content", backup=None,
                               on_ok=lambda r: {"backup": backup_of(r)})
            self._undone(outcome, manual, error, f"put back the original {edit.path}",
                         f"restored {edit.path} from the collected content")
        return manual

    def _check_restored(self, outcome: NodeOutcome, node: str, edits: Sequence[FileEdit]) -> list[str]:
        try:
            fresh = self.ops.collect(node)
        except OpsError as exc:
            return [f"could not re-read the node to confirm the restore ({exc}); check the files by hand"]
        if fresh.status != NodeStatus.OK:
            return [f"could not re-read the node to confirm the restore ({fresh.reason}); check the files by hand"]
        manual = []
        for edit in edits:
            got = _sha256_on(fresh, edit.path)
            if got != edit.old_sha256:
                manual.append(f"{edit.path} is not byte-identical to its state before the fix "
                              f"(sha256 {got or 'missing'}, expected {edit.old_sha256})")
        if not manual:
            self._say(outcome, "confirmed: " + ", ".join(e.path for e in edits) + " byte-identical to before")
        return manual


def backup_of(result: OpResult) -> str:
    """The backup path a write reported ("" when it reported none)."""
    return (result.backup_path or "") if isinstance(result, WriteFileResult) else ""


def _sha256_on(state: NodeState, path: str) -> str | None:
    """SHA-256 of ``path`` as collected in ``state`` (None: absent or unread)."""
    entry = state.file(path)
    return sha256_hex(entry.content) if entry is not None and entry.content is not None else None
