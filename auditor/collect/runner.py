"""Collect every node of an inventory concurrently and account for each one.

The runner's promises, which the rest of the tool relies on:

* **The run always finishes.** Each node has a deadline measured from when its work starts
  (not from when it was queued). The runner's monitor loop marks a node ``timeout`` the
  moment its deadline passes, even if the worker thread is still blocked in a socket; the
  remote timeouts handed to the transport are cut to the time left so such threads end soon
  after instead of lingering. The pool (:class:`_Pool`) uses daemon threads and gives an
  abandoned worker's slot to a fresh one, so a stuck node neither shrinks the pool nor keeps
  the process alive after the run or a Ctrl-C.
* **Every node is accounted for.** The result has exactly one ``NodeState`` per inventory
  node, in inventory order. A node that could not be collected carries
  ``status`` in {refused, timeout, auth, tls, protocol, error} and a precise ``reason``.
* **Retries only where they can help.** Timeouts and dropped/garbled connections
  (``timeout``, ``protocol``) are retried with backoff within the deadline. A refused
  connection, an authentication or TLS failure, an over-large reply or a script error on
  the node is final: retrying would only slow the run and could lock an account.
* **A node that answers as another host is visible.** See
  :func:`auditor.collect.host_identity.hostname_mismatch`.
* **No password in any message.** Reasons pass through :func:`_redact`.
* **No output of its own.** Warnings and progress go to the :class:`CollectionEvents` the
  caller supplies (the commands print them on the terminal, see
  ``auditor.collect.cli_options.terminal_events``); by default the runner is silent.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.collect.concurrency import AdaptiveLimit, safe_ceiling
from auditor.collect.credentials import Credentials, PromptFn, click_prompt, resolve_credentials
from auditor.collect.host_identity import hostname_mismatch
from auditor.collect.inventory import Inventory, NodeTarget
from auditor.collect.order import collection_order
from auditor.collect.resolve import resolve_ipv4
from auditor.collect.results import (
    SILENT,
    CollectionEvents,
    CollectionInterrupted,
    CollectionResult,
    Concurrency,
    NodeStats,
)
from auditor.collect.security import SecurityOptions, check_security, check_transports
from auditor.collect.targets import remote_target
from auditor.nodestate import NodeState
from auditor.vocab import MASK, NodeStatus, utc_now, utc_now_ms

if TYPE_CHECKING:  # pragma: no cover
    from auditor.profile import Profile

TRANSIENT_KINDS = frozenset({"timeout", "protocol"})
_MONITOR_TICK = 0.1
# what an overloaded network or node looks like: the adaptive limit backs off on these
_OVERLOAD_KINDS = frozenset({"timeout", "protocol", "deadline"})
_MAX_BACKOFF = 5.0


# ---- one node ----------------------------------------------------------------------------


def _redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 1 and secret in text:
        text = text.replace(secret, MASK)
    return text


def _node_status(kind: str) -> NodeStatus:
    """The node status a RemoteError kind stands for (``too_large``, ``remote``: ``error``)."""
    try:
        status = NodeStatus(kind)
    except ValueError:
        return NodeStatus.ERROR
    return NodeStatus.ERROR if status == NodeStatus.OK else status


def _transient(exc: Any) -> bool:
    """Worth another attempt: a timeout, or a garbled or dropped exchange (kind protocol)."""
    return exc.kind in TRANSIENT_KINDS


@dataclass
class _Job:
    node: NodeTarget
    started: float | None = None
    attempts: int = 0
    final: tuple[NodeState, NodeStats] | None = None
    abandoned: bool = False  # the monitor recorded a deadline timeout while the worker ran
    lock: threading.Lock = field(default_factory=threading.Lock)
    resolved: list[str] = field(default_factory=list)  # the inventory host name's IPv4 addresses, from here

    def finish(self, state: NodeState, stats: NodeStats, *, by_monitor: bool = False) -> bool:
        """Record the outcome once; later outcomes (a late thread after a deadline) are dropped."""
        with self.lock:
            if self.final is not None:
                return False
            self.final = (state, stats)
            self.abandoned = by_monitor
            return True


def _remote_timeouts(node: NodeTarget, remaining: float) -> tuple[float, float, int]:
    """(connect, read, operation) timeouts that fit in ``remaining`` seconds.

    pywinrm requires read_timeout > operation_timeout; the server answers a long Receive
    after operation_timeout, so the read never waits much longer than that.
    """
    remaining = max(remaining, 2.0)
    read = max(2.0, min(node.read_timeout, remaining))
    operation = int(max(1, min(20, read - 1)))
    connect = max(1.0, min(node.connect_timeout, remaining))
    return connect, read, operation


def _failed_state(node: NodeTarget, status: NodeStatus, reason: str, resolved: list[str]) -> NodeState:
    return NodeState(name=node.name, roles=list(node.roles), address=node.address, status=status,
                     reason=reason, resolved_addresses=list(resolved))


def _collect_node(job: _Job, request: dict[str, Any], creds: Credentials,
                  execute: Callable[..., dict], sleep: Callable[[float], None] = time.sleep) -> None:
    """Worker: collect one node with retries inside its deadline, then ``job.finish``."""
    from auditor.remote import RemoteError, node_state_from_response

    node = job.node
    job.started = time.monotonic()
    deadline_at = job.started + node.deadline
    # before connecting (the connection resolves the same name), and for a node that then fails
    # too: its address is how its entries in other nodes' configuration are recognised
    job.resolved = resolve_ipv4(node.address)
    secret = creds.password.reveal() if creds.password is not None else None
    stats = NodeStats(name=node.name)
    status, reason, kind = NodeStatus.ERROR, "not attempted", None
    state: NodeState | None = None
    attempts_allowed = 1 + max(0, node.retries)
    for attempt in range(attempts_allowed):
        remaining = deadline_at - time.monotonic()
        if remaining <= 0.5:
            if stats.attempts == 0:
                status, reason, kind = NodeStatus.TIMEOUT, f"deadline of {node.deadline:g}s passed before the first attempt", "deadline"
            break
        connect, read, operation = _remote_timeouts(node, remaining)
        target = remote_target(node, creds, connect_timeout=connect, read_timeout=read,
                               operation_timeout=operation, deadline=max(1.0, deadline_at - time.monotonic()))
        stats.attempts += 1
        job.attempts = stats.attempts
        sent = utc_now_ms()  # with the node's own times in the answer: its clock (NodeState.clock)
        try:
            response = execute(target, request)  # the password travels in Target, masked in messages
            received = utc_now_ms()
        except RemoteError as exc:
            kind = exc.kind
            status = _node_status(exc.kind)
            message = _redact(str(getattr(exc, "message", exc)), secret)
            # the status already says "refused"/"auth"...; name the kind only when it adds something
            reason = message if status == exc.kind else f"{exc.kind}: {message}"
            if _transient(exc) and attempt + 1 < attempts_allowed:
                backoff = min(_MAX_BACKOFF, 0.5 * (2 ** attempt)) * (0.75 + random.random() / 2)
                if deadline_at - time.monotonic() > backoff + 1.0:
                    sleep(backoff)
                    continue
            break
        except Exception as exc:  # noqa: BLE001 - a bug in one node's path must not stop the run
            kind = "error"
            status, reason = NodeStatus.ERROR, _redact(f"unexpected {type(exc).__name__}: {exc}", secret)
            break
        try:
            state = node_state_from_response(node.name, response, sent=sent, received=received)
        except RemoteError as exc:
            kind, status = exc.kind, NodeStatus.PROTOCOL
            reason = _redact(exc.message, secret)
            break
        except Exception as exc:  # noqa: BLE001 - a garbled reply is a protocol failure of this node
            kind = "protocol"
            status, reason = NodeStatus.PROTOCOL, _redact(f"unreadable collect response: {exc}", secret)
            break
        # A decoded state may itself be partial (status "error", "collection incomplete: ...").
        status, reason = state.status, state.reason
        kind = None if state.status == NodeStatus.OK else "partial"
        break

    stats.seconds = round(time.monotonic() - job.started, 3)
    if state is None:
        state = _failed_state(node, status, reason, job.resolved)
    else:
        state.roles = list(node.roles)
        state.address = node.address
        state.resolved_addresses = list(job.resolved)
        if not state.collected_at:
            state.collected_at = utc_now()
        mismatch = hostname_mismatch(node, state)
        if mismatch:
            state.status, state.reason = NodeStatus.PROTOCOL, mismatch
            kind = "mismatch"
    stats.status = state.status
    stats.error_kind = kind
    job.finish(state, stats)


# ---- the pool --------------------------------------------------------------------------


class _Progress:
    """Counts finished nodes and tells ``events`` (at once: the first node may take a while)."""

    def __init__(self, total: int, events: CollectionEvents):
        self.total = total
        self.events = events
        self.done = 0
        self.failed = 0
        events.progress(0, total, 0)

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.events.progress(self.done, self.total, self.failed)

    def close(self) -> None:
        self.events.finished()


class _Pool:
    """A pool of daemon worker threads whose size may change while it runs.

    Why not ThreadPoolExecutor: its workers are joined at interpreter exit, so one node stuck
    in a socket would hold the whole process after the run (or after Ctrl-C) until its
    transport timeout. Here a worker whose node passed its deadline is *abandoned*: a fresh
    worker takes its slot at once (the live concurrency stays at ``size``), and the daemon
    thread ends on its own when its cut-down remote timeout fires, or with the process.

    ``resize`` raises or lowers the number of nodes in flight (adaptive concurrency): new
    workers start at once, surplus workers stop after their current node.
    """

    def __init__(self, size: int, request: dict[str, Any], creds: dict[str, Credentials],
                 run: Callable[..., dict]):
        self.size = size
        self.request, self.creds, self.run = request, creds, run
        self.queue: queue.Queue[_Job] = queue.Queue()
        self.done: queue.Queue[_Job] = queue.Queue()
        self._spawned = 0
        self._lock = threading.Lock()
        self.workers = 0  # workers holding a slot (an abandoned one no longer does)
        self.peak_workers = 0

    def start(self) -> None:
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> None:
        with self._lock:
            self._spawned += 1
            self.workers += 1
            self.peak_workers = max(self.peak_workers, self.workers)
            name = f"collect-{self._spawned}"
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def resize(self, size: int) -> None:
        with self._lock:
            self.size = max(1, size)
            missing = min(self.size - self.workers, self.queue.qsize())
        for _ in range(max(0, missing)):
            self._spawn()

    def replace_abandoned(self) -> None:
        with self._lock:
            self.workers -= 1
        if not self.queue.empty():
            self._spawn()

    def cancel(self) -> None:
        """Drop queued work (after an interrupt); running workers finish or die with the process."""
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return

    def _leave(self) -> bool:
        """Give up this worker's slot when the pool shrank below the live workers."""
        with self._lock:
            if self.workers > self.size:
                self.workers -= 1
                return True
            return False

    def _work(self) -> None:
        while True:
            if self._leave():
                return
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                with self._lock:
                    self.workers -= 1
                return
            try:
                c = self.creds.get(job.node.name) or Credentials(job.node.username, None)
                _collect_node(job, self.request, c, self.run)
            except BaseException as exc:  # noqa: BLE001 - last resort: _collect_node catches everything
                job.finish(_failed_state(job.node, NodeStatus.ERROR, f"collector crashed: {type(exc).__name__}",
                                         job.resolved),
                           NodeStats(job.node.name, NodeStatus.ERROR, job.attempts, 0.0, "error"))
            finally:
                self.done.put(job)
            if job.abandoned:
                return  # a replacement worker already took this slot


def _finished(pool: _Pool) -> list[_Job]:
    """The jobs the workers handed back within one monitor tick."""
    finished: list[_Job] = []
    with contextlib.suppress(queue.Empty):
        finished.append(pool.done.get(timeout=_MONITOR_TICK))
        while True:
            finished.append(pool.done.get_nowait())
    return finished


def _overdue(jobs: list[_Job], pending: set[int], pool: _Pool, now: float) -> list[_Job]:
    """Jobs whose deadline passed while their worker still runs: recorded as ``timeout`` now,
    and their slot given to a fresh worker (the late thread's outcome will be dropped)."""
    out = []
    for i in pending:
        job = jobs[i]
        if job.final is None and job.started is not None and now - job.started > job.node.deadline:
            state = _failed_state(job.node, NodeStatus.TIMEOUT,
                                  f"no complete answer within the {job.node.deadline:g}s deadline", job.resolved)
            if job.finish(state, NodeStats(job.node.name, NodeStatus.TIMEOUT, max(1, job.attempts),
                                           round(now - job.started, 3), "deadline"), by_monitor=True):
                pool.replace_abandoned()
                out.append(job)
    return out


def _monitor(jobs: list[_Job], pool: _Pool, bar: _Progress, adaptive: AdaptiveLimit | None) -> None:
    """The runner's monitor loop, until every job has its outcome: collect what the workers
    finished, time out nodes past their deadline, count progress, resize the pool."""
    pending = set(range(len(jobs)))
    index = {id(job): i for i, job in enumerate(jobs)}
    ended = transient = 0
    ended_seconds = 0.0
    next_scan = 0.0
    while pending:
        finished = _finished(pool)
        now = time.monotonic()
        if now >= next_scan:  # deadlines are checked every tick, not at every finished node
            next_scan = now + _MONITOR_TICK
            finished += _overdue(jobs, pending, pool, now)
        for job in finished:
            i = index[id(job)]
            if i not in pending or job.final is None:
                continue
            pending.discard(i)
            state, node_stats = job.final
            bar.update(state.status == NodeStatus.OK)
            ended += 1
            ended_seconds += node_stats.seconds
            transient += node_stats.error_kind in _OVERLOAD_KINDS
        if adaptive is not None and pending:
            in_flight = sum(1 for i in pending if jobs[i].started is not None and jobs[i].final is None)
            pool.resize(adaptive.update(done=ended, failed=transient, in_flight=in_flight,
                                        queued=pool.queue.qsize(), node_seconds=ended_seconds / max(1, ended)))


def collect_cluster(
    inventory: Inventory,
    profile: Profile,
    *,
    events: CollectionEvents = SILENT,
    security: SecurityOptions = SecurityOptions(),  # noqa: B008 - frozen, immutable default
    credentials: dict[str, Credentials] | None = None,
    prompt: PromptFn = click_prompt,
    execute: Callable[..., dict] | None = None,
    request: dict[str, Any] | None = None,
    previous_seconds: Mapping[str, float] | None = None,
) -> CollectionResult:
    """Collect every node of ``inventory``; always returns one NodeState per node.

    ``credentials`` (node name -> Credentials) skips resolving references (discovery and
    re-collection after a fix reuse what was resolved once). ``execute`` defaults to
    ``auditor.remote.execute``. Warnings and progress go to ``events``. ``request``: a
    collect request other than the profile's full one (e.g. ``build_probe_request``: only
    test paths from the nodes), with the same deadlines, retries and identity check.
    ``previous_seconds`` (lower-cased node name -> seconds its collection took last time):
    start the slowest nodes first (:mod:`auditor.collect.order`); results keep inventory order.
    """
    warnings = check_security(inventory, security)  # refuse before anyone is prompted
    check_transports(inventory)

    from auditor.remote import build_collect_request
    from auditor.remote import execute as remote_execute

    for warning in warnings:
        events.warning(warning)
    creds = credentials if credentials is not None else resolve_credentials(inventory, prompt=prompt)
    request = request if request is not None else build_collect_request(profile)
    run = execute or remote_execute

    started_at = utc_now()
    t0 = time.monotonic()
    cpu0 = time.process_time()
    jobs = [_Job(node) for node in inventory.nodes]
    bar = _Progress(len(jobs), events)
    fixed = inventory.concurrency
    ceiling = safe_ceiling(len(jobs), inventory.max_concurrency)
    adaptive = None if fixed else AdaptiveLimit(ceiling.value)
    pool = _Pool(max(1, min(fixed or adaptive.limit, len(jobs))), request, creds, run)  # type: ignore[union-attr]
    for i in collection_order([job.node.name for job in jobs], previous_seconds or {}):
        pool.queue.put(jobs[i])
    try:
        pool.start()
        _monitor(jobs, pool, bar, adaptive)
    except KeyboardInterrupt:
        raise CollectionInterrupted([j.node.name for j in jobs if j.final is not None],
                                    [j.node.name for j in jobs if j.final is None]) from None
    finally:
        bar.close()
        pool.cancel()

    nodes, stats = [], []
    for job in jobs:
        assert job.final is not None
        nodes.append(job.final[0])
        stats.append(job.final[1])
    concurrency = Concurrency(adaptive=adaptive is not None, peak=adaptive.peak if adaptive else pool.size,
                              ceiling=ceiling, peak_workers=pool.peak_workers)
    if concurrency.held_back and ceiling.limited_by.of_this_host:
        events.warning(f"warning: at most {ceiling.value} node(s) were collected at once because of this "
                       f"host's {ceiling.limited_by.value}; to collect faster, {ceiling.limited_by.knob}")
    return CollectionResult(nodes=nodes, started_at=started_at, finished_at=utc_now(), stats=stats,
                            seconds=round(time.monotonic() - t0, 3),
                            cpu_seconds=round(time.process_time() - cpu0, 3), concurrency=concurrency)
