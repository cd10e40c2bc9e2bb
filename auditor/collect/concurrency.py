"""How many nodes to collect at once: a safe ceiling, and an adaptive limit below it.

Why adaptive: a node's collection is mostly waiting (the remote PowerShell start and work
take 1-3 s on a real print server; the client needs ~10 ms of CPU per node), so the right
number of nodes in flight depends on the site: 16 wastes a fast admin host on a 2,000-node
cluster, and no fixed number is right for both a LAN lab and a WAN. So the collector starts
at :data:`START` and, every :data:`WINDOW` seconds, raises the limit while

* every slot is busy and nodes are still queued (more slots would be used),
* the client is not CPU-bound (its CPU seconds per second stay under :data:`CPU_BUSY`:
  CPython runs Python code on about one core at a time, whatever the machine has),
* a node finished at the current limit, once the limit is :data:`BLIND_LIMIT` or more (a raise
  made while nothing finished cannot be judged; see :data:`BLIND_LIMIT`),
* throughput still grows (once a raise has had time to show, i.e. about one node's time,
  a doubling that did not bring :data:`GOOD_GROWTH` more nodes per second ends the growth,
  and one that brought less than :data:`GROWTH` is undone: more threads than help cost CPU),

up to the safe ceiling (:func:`safe_ceiling`: open-file limit, memory, the admin's
``max_concurrency``). It halves the limit when timeouts or dropped connections pile up
(:meth:`AdaptiveLimit.update`), which is what an overloaded network or node looks like; one
hung node is not overload and does not count until several fail together. After a back-off
it holds for two nodes' time; then, while the growth is still on, it goes on doubling as
above, and once the growth has ended it climbs back in steps (:data:`RECOVERY_STEPS`, one per
node's time while every slot is busy and the client is not CPU-bound) to just below the level
that failed (:data:`RECOVERY_SHARE`), so one burst of timeouts (a switch hiccup, a subnet of
hung nodes) does not leave the rest of the run at half speed, and a level that keeps failing
is approached a little lower each time.

An explicit ``concurrency:`` in the inventory (or ``--concurrency``) is used as given.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

START = 16
"""Nodes in flight at the start (the fixed pool size of earlier versions)."""
DEFAULT_MAX_CONCURRENCY = 256
"""The cap when the inventory sets no ``max_concurrency`` (one admin host, one cluster). Why 256
and not 512: at 1-3 s per node, 256 in flight already collect ~100 nodes per second, more than
the client's CPU keeps up with (~10 ms per node on one core: CPython's GIL), so more nodes in
flight only queue up. Measured on the 2,000-node realistic lab, nightly run (slowest nodes
first), quiet machine: with 512 allowed the limit reached 519 threads, the simulated servers on
the same two cores needed 52.7 ms of CPU per node instead of 17-29 (one connection each, all
at once) and the run took 1.49 x the floor; with 256 (peak 257 threads, lab CPU 33.6 ms per
node) 1.20 x (docs/performance.md, "Adaptive concurrency"). An admin whose nodes wait longer
can raise it with ``max_concurrency``."""
SOCKETS_PER_NODE = 2
"""A node in flight holds one connection; a retry may open the next before the last is closed."""
FILE_RESERVE = 128
"""Descriptors kept free for reports, the history database, logs and the interpreter."""
MEMORY_PER_NODE = 2 * 1024 * 1024
"""Bytes of memory assumed per node in flight: its thread, its connection's buffers and NTLM
state, and its answer while it is decoded (0.1-1 MB on a real node). Deliberately generous:
peak RSS grows ~65-90 KB per node collected (docs/performance.md)."""
MEMORY_SHARE = 0.25
"""Share of the memory available at the start that nodes in flight may take."""
WINDOW = 0.5
CPU_BUSY = 0.85
GROWTH = 1.10
"""A doubling that brought less than this much more throughput is undone: the extra threads
only cost CPU (GIL hand-offs, more connections to serve at once)."""
GOOD_GROWTH = 1.30
"""A doubling that brought less than this (but more than :data:`GROWTH`) is kept, and ends the growth."""
BLIND_LIMIT = 128
"""Raises made while no node has finished at the current limit stop here. Why: when the slowest
nodes go first (a nightly run), nothing finishes for seconds, and doubling every window put 512
nodes in flight within about 3 s. On the 2,000-node realistic lab, under load from other jobs,
the simulated servers (on the same two cores) then fell behind, nodes missed their 60 s
deadline and the timeouts halved the limit: 145.5 s, 2.42 x the floor, 72 nodes lost. No blind
raise at all: 86.6 s (1.44 x) but the first run, which needs the quick start, 2.01 x; blind
raises up to 128: 77.7 s (1.30 x), first run 1.75 x, every node but the hung ones audited
(docs/performance.md, "Adaptive concurrency"). Below 128 the quick start is kept: nodes that
wait remotely for seconds need many in flight."""
BACKOFF_FAILURES = 3
"""Transient failures (timeouts, dropped connections) in one window that mean overload, when
they are also at least :data:`BACKOFF_SHARE` of what ended in that window."""
BACKOFF_SHARE = 0.2
RECOVERY_SHARE = 7 / 8
"""After a back-off the limit climbs back to this share of the level that failed, no higher:
that level was too much at least once."""
RECOVERY_STEPS = 3
"""Steps of the climb back from half the failed level to :data:`RECOVERY_SHARE` of it."""


class Limiter(Enum):
    """What sets the ceiling (printed so an admin knows which knob to turn)."""

    NODES = "nodes in the inventory"
    ADMIN_CAP = "max_concurrency"
    DEFAULT_CAP = "default cap"
    SOCKETS = "open-file limit"
    MEMORY = "available memory"

    @property
    def knob(self) -> str:
        """How an admin raises this limit ("" when there is nothing to raise)."""
        return _KNOBS[self]

    @property
    def of_this_host(self) -> bool:
        """A limit of the admin host, not a setting: worth a warning when it held a run back."""
        return self in (Limiter.SOCKETS, Limiter.MEMORY)


_KNOBS = {
    Limiter.NODES: "",
    Limiter.ADMIN_CAP: "raise max_concurrency in the inventory",
    Limiter.DEFAULT_CAP: f"set max_concurrency in the inventory (default {DEFAULT_MAX_CONCURRENCY})",
    Limiter.SOCKETS: "raise the open-file limit of the account that runs the audit (ulimit -n)",
    Limiter.MEMORY: "free memory on this host, or run the audit on a larger one",
}


@dataclass(frozen=True)
class Ceiling:
    value: int
    limited_by: Limiter


def open_file_limit() -> int | None:
    """The soft limit on open descriptors (sockets count), None where there is none to read."""
    try:
        import resource
    except ImportError:  # Windows: sockets are not bounded by a per-process descriptor limit
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def available_memory() -> int | None:
    """Bytes of memory available to new work (Linux MemAvailable, Windows ullAvailPhys), or None."""
    if sys.platform == "win32":
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = _Status()
        status.dwLength = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullAvailPhys)
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def safe_ceiling(nodes: int, cap: int | None = None, *, file_limit: int | None = -1,
                 memory: int | None = -1) -> Ceiling:
    """The most nodes that may be in flight at once on this machine for this inventory.

    ``file_limit`` / ``memory`` default to this machine's (-1); None means "no such limit".
    """
    file_limit = open_file_limit() if file_limit == -1 else file_limit
    memory = available_memory() if memory == -1 else memory
    candidates = [(max(1, nodes), Limiter.NODES),
                  (cap, Limiter.ADMIN_CAP) if cap else (DEFAULT_MAX_CONCURRENCY, Limiter.DEFAULT_CAP)]
    if file_limit is not None:
        candidates.append((max(1, (file_limit - FILE_RESERVE) // SOCKETS_PER_NODE), Limiter.SOCKETS))
    if memory is not None:
        candidates.append((max(1, int(memory * MEMORY_SHARE) // MEMORY_PER_NODE), Limiter.MEMORY))
    value, by = min(candidates, key=lambda c: c[0])
    return Ceiling(value, by)


class AdaptiveLimit:
    """The number of nodes in flight, adjusted from what the run observes (see the module doc).

    The runner calls :meth:`update` from its monitor loop with cumulative counts; the clocks
    are injectable so tests can drive it without waiting.
    """

    def __init__(self, ceiling: int, start: int = START, *, clock: Callable[[], float] = time.monotonic,
                 cpu: Callable[[], float] = time.process_time):
        self.ceiling = max(1, ceiling)
        self.limit = max(1, min(start, self.ceiling))
        self.peak = self.limit
        self._clock, self._cpu = clock, cpu
        self._t, self._c = clock(), cpu()
        self._done = self._failed = 0
        # when the current limit took effect, and the nodes done by then: throughput is measured
        # over the whole time at a limit, both before a raise and after it, not over one window
        # (with real latencies nodes end in bursts, and one bursty window ended growth at 64 in
        # flight for 2,000 realistic nodes: wall 2.75x the floor in the quiet make bench of
        # 2026-11-27)
        self._level_t = self._t
        self._level_done = 0
        self._judging = False  # the current limit is a raise whose effect is not judged yet
        self._rate_before: float = 0.0  # throughput at the limit before that raise
        self._before_raise = self.limit
        self._growing = True
        self._hold_until = 0.0
        self._recover_to = 0  # after a back-off: the limit to climb back to (see RECOVERY_SHARE)
        self._recover_step = 1

    def update(self, *, done: int, failed: int, in_flight: int, queued: int, node_seconds: float) -> int:
        """New limit from cumulative ``done`` / transient ``failed`` counts and the current load.

        ``node_seconds`` is the typical time of one node so far (how long a raise takes to show).
        """
        now = self._clock()
        dt = now - self._t
        if dt < WINDOW:
            return self.limit
        cpu_rate = (self._cpu() - self._c) / dt
        ended = done - self._done
        failures = failed - self._failed
        self._t, self._c, self._done, self._failed = now, self._cpu(), done, failed
        if failures >= BACKOFF_FAILURES and failures >= BACKOFF_SHARE * max(1, ended):
            level = max(1, min(self.limit, in_flight))
            self.limit = max(1, level // 2)
            self._recover_to = max(self.limit, int(level * RECOVERY_SHARE))
            self._recover_step = max(1, -(-(self._recover_to - self.limit) // RECOVERY_STEPS))
            self._hold_until = now + max(WINDOW, node_seconds) * 2
            self._judging = False
            self._level_t, self._level_done = now, done
            return self.limit
        if now < self._hold_until or queued <= 0 or in_flight < self.limit or self.limit >= self.ceiling:
            return self.limit
        if cpu_rate >= CPU_BUSY:
            return self.limit
        settle = max(WINDOW, node_seconds)
        if self._judging and now - self._level_t >= settle:
            since = (done - self._level_done) / (now - self._level_t)
            if self._rate_before > 0 and since < self._rate_before * GOOD_GROWTH:
                self._growing = False  # the limit is found
                if since < self._rate_before * GROWTH:
                    self.limit = self._before_raise  # that raise brought nothing: undo it
                    self._level_t, self._level_done = now, done
            self._judging = False
        if self._judging:
            return self.limit
        at_level = now - self._level_t
        if at_level < settle:
            return self.limit  # not yet a node's time at this limit: its throughput is not known
        if not self._growing:
            if self.limit < self._recover_to:  # climbing back after a back-off
                self.limit = min(self._recover_to, self.ceiling, self.limit + self._recover_step)
                self._level_t, self._level_done = now, done
            return self.limit
        if done == self._level_done and self.limit >= BLIND_LIMIT:
            return self.limit  # no node finished at this limit yet: no blind raise past BLIND_LIMIT
        self._rate_before = (done - self._level_done) / at_level
        self._level_t, self._level_done = now, done
        self._judging = True
        self._before_raise = self.limit
        self._recover_to = 0  # growing again: a raise is judged on its own
        self.limit = min(self.ceiling, self.limit * 2)
        self.peak = max(self.peak, self.limit)
        return self.limit
