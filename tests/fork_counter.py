"""Count the forks a probe process makes (the probes of test_forkjobs.py and
reports/test_parallel_write.py run in their own single-threaded process, where forking is
allowed; pytest's own process runs helper threads, where it never is)."""

from __future__ import annotations

import os


def count_forks() -> list[int]:
    """Wrap ``os.fork`` so every child's pid (as the parent sees it) lands in the list returned."""
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    os.fork = counting_fork
    return forks
