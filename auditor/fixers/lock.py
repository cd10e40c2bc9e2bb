"""One fix at a time per cluster: a lock file in the local state directory.

Why a local lock file: two admins (or a cron job and an admin) running `auditor fix` at once
against one cluster would each plan from the same collected state and then overwrite each
other's edits, or restart services under each other's verification. The lock is keyed by the
inventory's cluster name and records who holds it (pid, host, user, start time) so the
message for the second admin is actionable.

Stale locks: a lock whose process no longer exists on this host is stale and is taken over
(and the takeover is reported). A lock from another host (shared home directory) cannot be
probed; it is honoured until it is older than ``max_age_hours``, then treated as stale.
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
from auditor.vocab import UTC_FORMAT, utc_now

DEFAULT_MAX_AGE_HOURS = 12.0


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

    @property
    def path(self) -> Path:
        return Path(self.state_dir).expanduser() / "locks" / f"{_safe(self.cluster)}.lock"

    def _holder(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _is_stale(self, holder: dict[str, Any]) -> bool:
        if not holder:
            # unreadable/corrupt: stale once the file is older than a minute (a writer that
            # just created it has had ample time to fill it)
            try:
                age = (datetime.now().timestamp() - self.path.stat().st_mtime) / 3600.0
            except OSError:
                return True
            return age > 1 / 60
        if holder.get("host") == socket.gethostname():
            return not _pid_alive(int(holder.get("pid") or 0))
        age = _age_hours(str(holder.get("started_at", "")))
        return age is None or age > self.max_age_hours

    def acquire(self) -> ClusterLock:
        try:
            return self._acquire()
        except OSError as exc:
            raise AuditorError(f"cannot take the fix lock {self.path}: {exc.strerror or exc}") from None

    def _acquire(self) -> ClusterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"cluster": self.cluster, "pid": os.getpid(), "host": socket.gethostname(),
                  "user": local_user(), "started_at": utc_now(), "token": self.token}
        for _attempt in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:
                    continue  # released between our open and read: retry
                if not self._is_stale(holder):
                    raise LockHeld(
                        f"another fix is running on cluster {self.cluster!r}: pid {holder.get('pid')} on "
                        f"{holder.get('host')} by {holder.get('user')} since {holder.get('started_at')} "
                        f"(lock file {self.path}; delete it only if you are sure that run is gone)"
                    ) from None
                self.took_over = holder
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh)
                fh.flush()
                os.fsync(fh.fileno())
            self._held = True
            return self
        raise LockHeld(f"could not take the fix lock {self.path} (contended)")

    def release(self) -> None:
        """Remove the lock only if it is still ours (never someone else's)."""
        if not self._held:
            return
        holder = self._holder()
        if holder and holder.get("token") == self.token:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._held = False

    def __enter__(self) -> ClusterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
