"""Run a few independent jobs in forked worker processes when that is safe, else one by one.

Writing the four report formats of a 5,000-node audit is ~4 CPU-seconds of pure Python, one
format after the other on one core while the others idle. A forked child inherits the
in-memory report as it is (nothing is pickled or sent to it); it writes its files itself and
sends back only a small status per job. Forking is used only where it is safe and exists:

* ``os.fork`` exists (not on Windows: there the jobs run one by one, as before);
* the process has exactly one thread: forking with other threads alive can deadlock the child
  on a lock one of them held (a live collection's pool threads must be gone by then);
* more than one job and more than one core are available.

Failures read exactly as when the jobs run one by one: the first failing job, in job order,
raises. An ``AuditorError`` in a child (``cannot write ...``) is raised again here with the
same class and message; anything else (a bug, a child killed by the system) makes this
process run that job itself, so the real exception and its traceback surface here and
nothing is lost. Every child is waited for before this returns or raises (no orphans, no
zombies); on an interruption they are told to stop (SIGTERM, which unwinds their writes so
no temporary file is left) and waited for as well.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from auditor.errors import AuditorError

Job = Callable[[], object]


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _os_thread_count() -> int:
    """Threads of this process as the kernel sees them (Linux); 1 where unknown."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def fork_is_safe() -> bool:
    """True when ``os.fork`` exists and this process runs a single thread."""
    return hasattr(os, "fork") and threading.active_count() == 1 and _os_thread_count() == 1


def balance(costs: Sequence[float], workers: int) -> list[list[int]]:
    """Job indices split into at most ``workers`` groups of similar total cost (largest job
    first onto the least loaded group); each group keeps job order; the costliest group first."""
    groups: list[list[int]] = [[] for _ in range(max(1, min(workers, len(costs))))]
    loads = [0.0] * len(groups)
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        g = loads.index(min(loads))
        groups[g].append(i)
        loads[g] += costs[i]
    order = sorted(range(len(groups)), key=lambda g: -loads[g])
    return [sorted(groups[g]) for g in order if groups[g]]


def run_jobs(jobs: Sequence[Job], costs: Sequence[float], workers: int | None = None) -> None:
    """Run every job, in forked workers when :func:`fork_is_safe` and more than one worker
    is useful (``workers``: at most that many processes, this one included; default the
    usable cores), else one after the other in job order. Raises what running them one by
    one would raise first."""
    n = min(len(jobs), workers if workers is not None else usable_cores())
    if n <= 1 or not fork_is_safe():
        for job in jobs:
            job()
        return
    groups = balance(costs, n)
    failures: dict[int, BaseException | None] = {}  # job -> exception (None: rerun it here)
    children: dict[int, tuple[int, list[int]]] = {}  # pid -> (read fd, its jobs)
    for stream in (sys.stdout, sys.stderr):  # a child must not write this process's buffered output again
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        for group in groups[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_fd)
                _child(jobs, group, write_fd)
            os.close(write_fd)
            children[pid] = (read_fd, group)
        for i in groups[0]:
            try:
                jobs[i]()
            except Exception as exc:
                failures[i] = exc
                break
        while children:
            pid, (read_fd, group) = next(iter(children.items()))
            children[pid] = (-1, group)  # _collect closes it, whatever happens
            failures.update(_collect(read_fd, group))
            os.waitpid(pid, 0)
            del children[pid]
    finally:
        _stop(children)
    for i in range(len(jobs)):
        if i not in failures:
            continue
        exc = failures[i]
        if exc is None:
            jobs[i]()  # the real exception (or the job done after all) here, in this process
        else:
            raise exc


def _child(jobs: Sequence[Job], group: list[int], write_fd: int) -> None:
    """Run ``group`` in a forked child, one JSON status line per job, then exit (never
    returning into the caller's code, never running its exit handlers)."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, _raise_exit)
        gc.freeze()  # the inherited heap is never scanned (nor copied by the scan) in the child
        with os.fdopen(write_fd, "w", encoding="utf-8") as out:
            for i in group:
                try:
                    jobs[i]()
                except AuditorError as exc:
                    status = {"job": i, "error": [type(exc).__module__, type(exc).__qualname__],
                              "message": str(exc), "exit_code": int(exc.exit_code)}
                except Exception:
                    status = {"job": i, "error": None}
                else:
                    status = {"job": i}
                out.write(json.dumps(status) + "\n")
                out.flush()
                if "error" in status:
                    break
        code = 0
    finally:
        os._exit(code)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _collect(read_fd: int, group: list[int]) -> dict[int, BaseException | None]:
    """Failures a child reported; its jobs without a status (it died) are rerun here."""
    with os.fdopen(read_fd, "r", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    reported: dict[int, dict] = {}
    for line in lines:
        with contextlib.suppress(ValueError):
            status = json.loads(line)
            reported[status["job"]] = status
    failures: dict[int, BaseException | None] = {}
    for i in group:
        status = reported.get(i)
        if status is None:
            failures[i] = None
            break
        if "error" in status:
            failures[i] = _auditor_error(status) if status["error"] else None
            break
    return failures


def _auditor_error(status: dict) -> AuditorError | None:
    """The child's AuditorError again (same class, text and exit code; the child is a fork, so
    the class is loaded here too); None (rerun the job here) when it cannot be rebuilt."""
    module, qualname = status["error"]
    cls: object = sys.modules.get(module)
    for part in qualname.split("."):
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and issubclass(cls, AuditorError)):
        return None
    try:
        exc = cls(status["message"])
    except Exception:
        return None
    if str(exc) != status["message"]:
        return None
    exc.exit_code = status["exit_code"]
    return exc


def _stop(children: dict[int, tuple[int, list[int]]]) -> None:
    """Children still running after an interruption: stop and wait for each."""
    for pid, (read_fd, _group) in children.items():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        if read_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(read_fd)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


__all__ = ["balance", "fork_is_safe", "run_jobs", "usable_cores"]
