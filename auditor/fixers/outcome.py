"""Where a fix rollout ended: one :class:`NodeOutcome` per planned node and the exit code
that follows from them (docs/fix.md, "Exit codes")."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.vocab import ApplyOutcome, ExitStatus


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
        return next((o for o in self.outcomes if o.status not in (ApplyOutcome.VERIFIED, ApplyOutcome.NOT_REACHED)),
                    None)
