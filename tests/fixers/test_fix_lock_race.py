"""Taking over a dead run's fix lock is atomic: of several runs taking it over at the same
instant, exactly one holds it.

Before, ``ClusterLock`` read the holder, decided it was dead, then removed the path, which by
then could be another taker's fresh lock: 4 synchronised processes gave 2 simultaneous holders
in 5 of 10 trials (here: at least once in 40, on every run tried). The lock is now an OS file lock held for the run (``flock`` on Linux,
``msvcrt.locking`` on Windows), and every decision about the previous holder is made under it.

The race is run with real processes released together by a barrier, on the Linux lock, and
on the Windows code path with ``msvcrt`` stood in by POSIX byte-range locks (the same
contract: a non-blocking exclusive lock on one byte, released when the process ends); the
Windows path is not run on a Windows host here.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.fixers import lock as lock_module
from auditor.fixers.lock import ClusterLock, LockHeld
from tests.fixers.lock_support import fake_msvcrt, posix_running

pytestmark = pytest.mark.timeout(120)

TAKERS = 4
TRIALS = 40
HOLD_SECONDS = 0.1


def _taker(state_dir: str, windows: bool, start, go_at, done, results) -> None:
    if windows:
        sys.modules["msvcrt"] = fake_msvcrt()
        lock_module._WINDOWS = True
        lock_module._windows_process_running = posix_running  # the process probe is not under test here
    try:
        for trial in range(TRIALS):
            start.wait(timeout=30)
            lock = ClusterLock("prod", Path(state_dir))
            while time.monotonic() < go_at.value:  # released together to the microsecond, not by
                pass  # the barrier's wake-up order
            try:
                lock.acquire()
            except LockHeld:
                results.put((trial, os.getpid(), "refused", 0.0, 0.0))
            else:
                held_from = time.monotonic()
                time.sleep(HOLD_SECONDS)
                held_until = time.monotonic()
                lock.release()
                results.put((trial, os.getpid(), "held", held_from, held_until))
            done.wait(timeout=30)
    except BaseException as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put((-1, os.getpid(), f"error: {exc!r}", 0.0, 0.0))
        start.abort()
        done.abort()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


@pytest.mark.parametrize("windows", [False, True], ids=["linux-flock", "windows-msvcrt-path"])
def test_synchronised_takeover_of_a_dead_runs_lock_has_one_holder(tmp_path, windows):
    ctx = multiprocessing.get_context("fork")
    start, done = ctx.Barrier(TAKERS + 1), ctx.Barrier(TAKERS + 1)
    go_at = ctx.Value("d", 0.0)
    results = ctx.Queue()
    procs = [ctx.Process(target=_taker, args=(str(tmp_path), windows, start, go_at, done, results), daemon=True)
             for _ in range(TAKERS)]
    for p in procs:
        p.start()
    dead = _dead_pid()
    path = ClusterLock("prod", tmp_path).path
    path.parent.mkdir(parents=True, exist_ok=True)
    by_trial: dict[int, list[tuple]] = {}
    try:
        for trial in range(TRIALS):
            path.write_text(json.dumps({"cluster": "prod", "pid": dead, "host": socket.gethostname(), "user": "x",
                                        "started_at": "2026-01-01T00:00:00Z", "token": f"dead-{trial}"}))
            go_at.value = time.monotonic() + 0.2
            start.wait(timeout=30)
            done.wait(timeout=30)
            by_trial[trial] = [results.get(timeout=10) for _ in range(TAKERS)]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    errors = [r for rows in by_trial.values() for r in rows if r[2].startswith("error")]
    assert not errors
    holders = {trial: sorted(r[3:] for r in rows if r[2] == "held") for trial, rows in by_trial.items()}
    # a taker descheduled past the holder's release may take the lock after it (one at a time)
    overlapping = {trial: spans for trial, spans in holders.items()
                   if any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))}
    assert overlapping == {}
    assert [trial for trial, spans in holders.items() if not spans] == []
    assert not path.exists()  # the last holder removed it
