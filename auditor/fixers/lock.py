"""One fix at a time per cluster: a lock file in the local state directory, held with an OS
file lock for the whole run.

Why a local lock file: two admins (or a cron job and an admin) running `auditor fix` at once
against one cluster would each plan from the same collected state and then overwrite each
other's edits, or restart services under each other's verification. The lock is keyed by the
inventory's cluster name and records who holds it (pid, host, user, start time) so the
message for the second admin is actionable.

Why an OS lock (``flock`` on Linux, ``LockFileEx`` through ``msvcrt.locking`` on Windows):
deciding that a holder is dead and then replacing its file are two steps, and several runs
taking over one dead run's lock at once used to end with two of them holding it. The kernel
lock is taken atomically, is released when its process dies however it dies, and every
decision about the previous holder is made while holding it, so exactly one run proceeds.

Stale locks: a file whose OS lock is free belongs to a run that is gone; its record is taken
over (and the takeover reported), unless its process still runs on this host (a run of an
older version, which did not take the OS lock). A record from another host (shared home
directory on a file system that may not share locks between hosts) is honoured until it is
older than ``max_age_hours``.

The file is never removed while another run could have it open: on Linux it is removed while
still locked, and a run that locked the removed file notices (the path no longer names the
file it holds) and starts over; on Windows an open file cannot be removed, so the last run
to close it removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.fixers.journal import local_user
from auditor.jsonfile import JsonError, JsonLimits, parse_json
from auditor.vocab import UTC_FORMAT, utc_now

DEFAULT_MAX_AGE_HOURS = 12.0
_RECORD_LIMITS = JsonLimits(max_bytes=64 * 1024, max_depth=4)


class LockHeld(AuditorError):
    """Another fix run holds the lock for this cluster."""

    exit_code = 6


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".")[:100] or "cluster"


_WINDOWS = os.name == "nt"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if _WINDOWS:
        # Never os.kill(pid, 0) on Windows: there it is TerminateProcess(pid, 0), which would
        # kill the fix run holding the lock, mid-change, without its rollback.
        return _windows_process_running(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _windows_process_running(pid: int) -> bool:
    """Whether ``pid`` is a running process, asked without touching it (OpenProcess with
    query rights, then GetExitCodeProcess: STILL_ACTIVE while it runs)."""
    import ctypes
    from ctypes import wintypes

    process_query_limited_information, still_active, error_access_denied = 0x1000, 259, 5
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == error_access_denied  # exists, owned by someone else
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: honour the lock
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


_LOCK_OFFSET = 1 << 30
"""Windows locks a byte range, and a locked range cannot be read by another process: the
range is far past the record (a lock may lie beyond the end of a file), so the record stays
readable for the "who holds it" message."""


def _os_lock(fd: int) -> bool:
    """Take the exclusive OS lock without waiting; False when another process holds it."""
    if _WINDOWS:
        import msvcrt

        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed or replaced)."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _parse_record(data: bytes) -> dict[str, Any] | None:
    try:
        value = parse_json(data, _RECORD_LIMITS)
    except JsonError:
        return None
    return value if isinstance(value, dict) and value else None


def _record(fd: int) -> dict[str, Any] | None:
    """The record in the file open as ``fd`` (None: empty or unreadable)."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while len(data) <= _RECORD_LIMITS.max_bytes and (chunk := os.read(fd, 65536)):
        data += chunk
    return _parse_record(data)


def _this_host(record: dict[str, Any]) -> bool:
    return record.get("host") == socket.gethostname()


def _age_hours(started: str) -> float | None:
    try:
        t = datetime.strptime(started, UTC_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return (datetime.now(UTC) - t).total_seconds() / 3600.0


@dataclass
class ClusterLock:
    cluster: str
    state_dir: Path
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    took_over: dict[str, Any] | None = None  # the stale holder we replaced, for the report
    _held: bool = False
    _fd: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.state_dir).expanduser() / "locks" / f"{_safe(self.cluster)}.lock"

    def _holder(self) -> dict[str, Any] | None:
        """The record in the lock file as another run wrote it (None: none, or unreadable)."""
        try:
            with open(self.path, "rb") as fh:
                return _parse_record(fh.read(_RECORD_LIMITS.max_bytes + 1))
        except OSError:  # gone, or (Windows) in the middle of being rewritten
            return None

    def _is_stale(self, holder: dict[str, Any]) -> bool:
        """Whether the record of a run whose OS lock is free may be taken over."""
        if _this_host(holder):
            pid = holder.get("pid")
            return not (isinstance(pid, int) and pid != os.getpid() and _pid_alive(pid))
        age = _age_hours(str(holder.get("started_at", "")))
        return age is None or age > self.max_age_hours

    def acquire(self) -> ClusterLock:
        try:
            return self._acquire()
        except OSError as exc:
            raise AuditorError(f"cannot take the fix lock {self.path}: {exc.strerror or exc}") from None

    def _held_by(self, holder: dict[str, Any] | None, stale_note: str = "") -> LockHeld:
        if not holder:
            return LockHeld(f"another fix is starting on cluster {self.cluster!r} (lock file {self.path})")
        return LockHeld(
            f"another fix is running on cluster {self.cluster!r}: pid {holder.get('pid')} on "
            f"{holder.get('host')} by {holder.get('user')} since {holder.get('started_at')} "
            f"(lock file {self.path}{stale_note})")

    def _acquire(self) -> ClusterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            try:
                if not _os_lock(fd):
                    raise self._held_by(self._holder())
                if not _same_file(fd, self.path):
                    os.close(fd)  # a run that finished removed the file we locked: take the new one
                    continue
                previous = _record(fd)
                if previous and previous.get("token") != self.token and not self._is_stale(previous):
                    raise self._held_by(previous, "; that process still runs" if _this_host(previous) else
                                        f"; a lock from another host is honoured for {self.max_age_hours:g} hours: "
                                        "delete the file if you are sure that run is gone")
                self.took_over = previous or None
                record = {"cluster": self.cluster, "pid": os.getpid(), "host": socket.gethostname(),
                          "user": local_user(), "started_at": utc_now(), "token": self.token}
                data = json.dumps(record).encode("utf-8")
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                os.write(fd, data)
                os.fsync(fd)
            except BaseException:
                os.close(fd)  # also releases the OS lock
                raise
            self._fd = fd
            self._held = True
            return self
        raise LockHeld(f"could not take the fix lock {self.path} (contended)")

    def release(self) -> None:
        """Release the OS lock and remove the lock file, unless it has become someone else's."""
        if not self._held or self._fd is None:
            return
        fd, self._fd, self._held = self._fd, None, False
        ours = False
        try:
            ours = (_record(fd) or {}).get("token") == self.token and _same_file(fd, self.path)
            if ours and not _WINDOWS:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)  # while still locked: see the module docstring
            elif ours:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
        finally:
            os.close(fd)
        if ours and _WINDOWS:
            with contextlib.suppress(OSError):  # refused while another run has it open
                os.unlink(self.path)

    def __enter__(self) -> ClusterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
