"""What a collection hands back and tells as it goes: the events the command shows, each
node's statistics, the result, and the interrupt that says how far it got.

The runner (:mod:`auditor.collect.runner`) produces them; snapshots, the commands and the fix
use case read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.collect.concurrency import Ceiling
from auditor.nodestate import NodeState
from auditor.vocab import NodeStatus


def _ignore(*_args: Any) -> None:
    return None


@dataclass(frozen=True)
class CollectionEvents:
    """Where a collection's warnings and progress go; the command decides how to show them.

    ``warning(text)``: a security warning the admin consented to (``--insecure-skip-verify``
    ...), before anything is contacted. ``progress(done, total, failed)``: once at the start
    (``done`` 0) and after every node. ``finished()``: once at the end, also after Ctrl-C.
    """

    warning: Callable[[str], None] = _ignore
    progress: Callable[[int, int, int], None] = _ignore
    finished: Callable[[], None] = _ignore


SILENT = CollectionEvents()


@dataclass
class NodeStats:
    """How collecting one node went."""

    name: str
    status: NodeStatus = NodeStatus.OK
    attempts: int = 0
    seconds: float = 0.0
    error_kind: str | None = None  # RemoteError kind of the last failure, or "deadline"/"mismatch"


@dataclass(frozen=True)
class Concurrency:
    """How many nodes were collected at once (``peak``) and what bounded it."""

    adaptive: bool
    peak: int
    ceiling: Ceiling
    peak_workers: int  # worker threads holding a slot at once, at most

    def describe(self) -> str:
        """One line for the collection summary: how many nodes were in flight and, when the
        ceiling held the run back, what set it and how to raise it."""
        if not self.adaptive:
            return f"{self.peak} node(s) at once (concurrency as set)"
        text = f"up to {self.peak} node(s) at once (adaptive, ceiling {self.ceiling.value}: {self.ceiling.limited_by.value}"
        knob = self.ceiling.limited_by.knob
        return text + (f"; to allow more, {knob})" if self.held_back and knob else ")")

    @property
    def held_back(self) -> bool:
        """The adaptive limit reached its ceiling: more nodes in flight might have been faster."""
        return self.adaptive and self.peak >= self.ceiling.value


@dataclass
class CollectionResult:
    nodes: list[NodeState]
    started_at: str
    finished_at: str
    stats: list[NodeStats] = field(default_factory=list)
    seconds: float = 0.0
    # CPU seconds this process spent while the collection ran (time.process_time: every thread,
    # user + system), apart from process start, checks and reports; another thread of the same
    # process working meanwhile would be counted too
    cpu_seconds: float = 0.0
    concurrency: Concurrency | None = None

    @property
    def failed(self) -> list[NodeState]:
        return [n for n in self.nodes if n.status != NodeStatus.OK]

    def stats_for(self, name: str) -> NodeStats:
        for s in self.stats:
            if s.name == name:
                return s
        raise KeyError(name)


class CollectionInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM turned into it) during a collection. It is still a KeyboardInterrupt
    (exit 130), and it says which nodes had answered and which were still pending, so the
    admin knows what a rerun must reach."""

    def __init__(self, collected: list[str], pending: list[str]):
        self.collected = collected
        self.pending = pending
        shown = ", ".join(pending[:MAX_PENDING_NAMED]) + (
            f" and {len(pending) - MAX_PENDING_NAMED} more" if len(pending) > MAX_PENDING_NAMED else "")
        total = len(collected) + len(pending)
        super().__init__(f"{len(collected)} of {total} node(s) done"
                         + (f"; still pending: {shown}" if pending else ""))


MAX_PENDING_NAMED = 20
