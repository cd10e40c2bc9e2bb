"""The Windows code path of the fix lock, run on Linux: ``msvcrt.locking`` stood in by POSIX
byte-range locks (the same contract the lock relies on: a non-blocking exclusive lock on a
byte range, failing with OSError when another process holds it, released when the process
ends) and the process probe by ``os.kill(pid, 0)``."""

from __future__ import annotations

import fcntl
import os
import types


def fake_msvcrt() -> types.ModuleType:
    """``msvcrt.locking`` as the lock uses it, on POSIX record locks."""
    mod = types.ModuleType("msvcrt")
    mod.LK_UNLCK, mod.LK_NBLCK = 0, 2

    def locking(fd: int, mode: int, nbytes: int) -> None:
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        if mode == mod.LK_NBLCK:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, nbytes, pos, os.SEEK_SET)  # OSError when held
        elif mode == mod.LK_UNLCK:
            fcntl.lockf(fd, fcntl.LOCK_UN, nbytes, pos, os.SEEK_SET)
        else:
            raise ValueError(mode)

    mod.locking = locking
    return mod


def posix_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
