"""While a fix is applied, stop signals roll the current node back instead of killing it.

SIGTERM (systemd stopping the job, ``timeout``, a cancelled CI run) and SIGHUP (the SSH
session or terminal running the fix went away) end a process between a file write and its
verification by default, leaving a half-changed node and no rollback. Here both are turned
into KeyboardInterrupt, which the apply engine answers by rolling the node back (exit 130).
Not on Windows, where only Ctrl-C reaches the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def detach_from_terminal() -> None:
    """After a hang-up the terminal is gone and every write to it fails (EIO), which would
    turn the rollback's progress lines into errors that cut the rollback short. Point stdout
    and stderr at the null device instead; the journal keeps the record."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextlib.contextmanager
def stop_signals_as_interrupt(warn: Callable[[str], None]) -> Iterator[None]:
    """SIGTERM and SIGHUP are handled like Ctrl-C inside the block (``warn`` says so on
    SIGTERM). Further stop signals are ignored so they cannot cut the rollback short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if signum == getattr(signal, "SIGHUP", None):
            detach_from_terminal()
        else:
            with contextlib.suppress(OSError):
                warn(f"\n{signal.Signals(signum).name}: rolling back the current node and stopping the rollout")
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
