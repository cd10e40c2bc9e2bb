"""Run independent work in forked child processes when that is safe, else here, in order.

Writing the four report formats of a 5,000-node audit is ~4 CPU-seconds of pure Python, one
format after the other on one core while the others idle; the product model (~0.5 s) waits
for the checks although it does not need their findings. A forked child inherits the
in-memory model or report as it is (nothing is pickled or sent to it), does its part and
sends back only a small outcome per job (a written report: none; the product model: its
result, ~0.3 MB at 5,000 nodes). Forking is used only where it is safe and exists:

* ``os.fork`` exists (not on Windows: there everything runs here, in order, as before);
* the process has exactly one thread: forking with other threads alive can deadlock the child
  on a lock one of them held (a live collection's pool threads must be gone by then);
* more than one core is available;
* the system lets it fork (memory, process and open-file limits): else the work is done here.

Failures read exactly as when everything runs here in order: the first failing job, in job
order, raises. An ``AuditorError`` in a child (``cannot write ...``) is raised again here with
the same class, text and exit code; anything else (a bug, a child killed by the system, a
result that cannot be sent) makes this process run that job itself, so the real exception
and its traceback surface here and nothing is lost. Every child is waited for before its
result is used or an error raised (no orphans, no zombies); on an interruption the children
are told to stop (SIGTERM, which unwinds their writes so no temporary file is left) and
waited for as well.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from auditor.errors import AuditorError

Job = Callable[[], Any]
# what a child sends per job: ("ok", value), ("error", module, class name, text, exit code) for
# an AuditorError, ("crash",) for anything else
Outcome = tuple


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


def run_jobs(jobs: Sequence[Job], costs: Sequence[float], workers: int | None = None) -> list[Any]:
    """Run every job and return their results in job order: in forked workers when
    :func:`fork_is_safe` and more than one worker is useful (``workers``: at most that many
    processes, this one included, which runs the costliest share; default the usable cores),
    else one after the other here. Raises what running them one by one would raise first."""
    n = min(len(jobs), workers if workers is not None else usable_cores())
    if n <= 1 or not fork_is_safe():
        return [job() for job in jobs]
    groups = balance(costs, n)
    outcomes: dict[int, Outcome] = {}
    children: list[_Child] = []
    here = list(groups[0])
    try:
        for group in groups[1:]:
            child = _Child.start(jobs, group)
            if child is None:  # no fork possible right now: these jobs are done here
                here.extend(group)
            else:
                children.append(child)
        for i in sorted(here):
            try:
                outcomes[i] = ("ok", jobs[i]())
            except Exception as exc:  # raised below, after the children are waited for
                outcomes[i] = ("raised", exc)
                break
        for child in children:
            outcomes.update(child.outcomes())
    finally:
        for child in children:
            child.stop()
    results = []
    for i, job in enumerate(jobs):
        outcome = outcomes.get(i)
        if outcome is not None and outcome[0] == "raised":
            raise outcome[1]
        results.append(_resolve(outcome, job))
    return results


class Ahead:
    """``fn()`` computed ahead in a forked child while this process goes on, or here when
    :meth:`result` asks for it (no fork possible, or only one core). A context manager: a
    child whose result was not taken (an error in between) is stopped and waited for."""

    def __init__(self, fn: Job):
        self.fn = fn
        self._child = _Child.start([fn], [0]) if usable_cores() > 1 and fork_is_safe() else None

    def result(self) -> Any:
        child, self._child = self._child, None
        if child is None:
            return self.fn()
        try:
            outcome = child.outcomes().get(0)
        finally:
            child.stop()
        return _resolve(outcome, self.fn)

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()


def _resolve(outcome: Outcome | None, job: Job) -> Any:
    """A child's outcome as this process's result or exception (rerunning the job here when
    the child could not say what went wrong)."""
    if outcome is not None and outcome[0] == "ok":
        return outcome[1]
    if outcome is not None and outcome[0] == "error":
        exc = _auditor_error(*outcome[1:])
        if exc is not None:
            raise exc
    return job()  # the real exception (or the job done after all) here, in this process


class _Child:
    """A forked process running ``group`` of ``jobs`` in order (stopping at the first
    failure), one pickled (job, outcome) back per job over a pipe."""

    def __init__(self, pid: int, fd: int):
        self.pid: int | None = pid
        self.fd = fd

    @classmethod
    def start(cls, jobs: Sequence[Job], group: list[int]) -> _Child | None:
        """Fork the child; None when the system refuses (no memory, too many processes or
        open files): the caller then does the work itself, as without fork."""
        for stream in (sys.stdout, sys.stderr):  # the child must not write buffered output again
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child_main(jobs, group, write_fd)
        os.close(write_fd)
        return cls(pid, read_fd)

    def outcomes(self) -> dict[int, Outcome]:
        """Wait for the child: job -> outcome (a job it did not report is absent)."""
        fd, self.fd = self.fd, -1
        found: dict[int, Outcome] = {}
        with os.fdopen(fd, "rb") as fh:
            while True:
                try:
                    i, outcome = pickle.load(fh)
                except Exception:  # noqa: BLE001 - the end, or a child cut off mid-write
                    break
                found[i] = outcome
        self._wait()
        return found

    def stop(self) -> None:
        """Stop a child still running (after an interruption) and wait for it."""
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGTERM)
            self._wait()

    def _wait(self) -> None:
        pid, self.pid = self.pid, None
        if pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _child_main(jobs: Sequence[Job], group: list[int], write_fd: int) -> None:
    """The forked child's whole life: run ``group``, report, exit (never returning into the
    caller's code, never running its exit handlers)."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, _raise_exit)
        gc.freeze()  # the inherited heap is never scanned (nor copied by the scan) in the child
        with os.fdopen(write_fd, "wb") as out:
            for i in group:
                outcome = _outcome(jobs[i])
                try:
                    data = pickle.dumps((i, outcome), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - a result that cannot be sent: redone by the parent
                    outcome = ("crash",)
                    data = pickle.dumps((i, outcome))
                out.write(data)
                out.flush()
                if outcome[0] != "ok":
                    break
        code = 0
    finally:
        os._exit(code)


def _outcome(job: Job) -> Outcome:
    try:
        return ("ok", job())
    except AuditorError as exc:
        return ("error", type(exc).__module__, type(exc).__qualname__, str(exc), int(exc.exit_code))
    except Exception:  # noqa: BLE001 - the parent runs the job again to raise the real exception
        return ("crash",)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _auditor_error(module: str, qualname: str, text: str, exit_code: int) -> AuditorError | None:
    """The child's AuditorError again (same class, text and exit code; the child is a fork, so
    its class is loaded here too); None (rerun the job here) when it cannot be rebuilt."""
    cls: object = sys.modules.get(module)
    for part in qualname.split("."):
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and issubclass(cls, AuditorError)):
        return None
    try:
        exc = cls(text)
    except Exception:  # noqa: BLE001 - a constructor that needs more than the text
        return None
    if str(exc) != text:
        return None
    exc.exit_code = exit_code
    return exc


__all__ = ["Ahead", "balance", "fork_is_safe", "run_jobs", "usable_cores"]
