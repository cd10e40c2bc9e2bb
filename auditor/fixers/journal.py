"""The local fix journal: one JSON object per line for every change `auditor fix` makes.

Why a local append-only file: when a print cluster misbehaves the morning after, the admin
needs to answer "what did the tool change, where, when, and where is the backup" without
the nodes (which may be the thing that is broken). JSON lines survive partial writes
(a torn last line loses one entry, not the file) and are trivially grep-able.

No secret ever goes in: entries are built from plan data (which holds only credential
*references*), and as a second line of defence every entry is scrubbed of the secret values
the run knows about before it is written.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.jsonfile import JsonError, parse_json
from auditor.vocab import utc_now

DEFAULT_STATE_DIR = Path("~/.paragon-auditor")
DEFAULT_JOURNAL = DEFAULT_STATE_DIR / "fix-journal.jsonl"
REDACTED = "[redacted]"


class JournalError(AuditorError):
    """The journal could not be written."""


def local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database entry (containers): still journal
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class Journal:
    """Appends entries to a JSON-lines file; ``secrets`` are values that must never appear."""

    def __init__(self, path: Path | str, *, cluster: str = "", run_id: str = "",
                 secrets: Iterable[str] = ()) -> None:
        self.path = Path(path).expanduser()
        self.cluster = cluster
        self.run_id = run_id
        self._secrets = [s for s in secrets if s]
        self.user = local_user()
        self.host = socket.gethostname()
        self.lost = 0  # entries that could not be written (rollback steps only; see record)

    def add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets.append(value)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced (for console output as well)."""
        return self._scrub(text)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for s in self._secrets:
                value = value.replace(s, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value

    def check_writable(self) -> None:
        """Fail before the first change, not after it, if the journal cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        except OSError as exc:
            why = "a file is in the way" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc))
            raise AuditorError(f"cannot write the fix journal {self.path}: {why}") from None

    def record(self, *, node: str | None, action: str, result: str, strict: bool = True,
               **fields: Any) -> dict[str, Any]:
        """Append one entry and return it (as written).

        ``strict``: a write failure raises :class:`JournalError` (the engine then rolls the
        node back: a change that cannot be logged is not kept). Rollback steps pass
        ``strict=False``: undoing a change must never stop because the log is full; the
        failure is counted in ``lost`` and reported.
        """
        entry: dict[str, Any] = {
            "time": utc_now(),
            "user": self.user,
            "host": self.host,
            "cluster": self.cluster,
            "run_id": self.run_id,
            "node": node,
            "action": action,
            "result": result,
        }
        entry.update(fields)
        entry = self._scrub(entry)
        line = json.dumps(entry, ensure_ascii=True, sort_keys=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self.lost += 1
            if strict:
                raise JournalError(f"cannot write the fix journal {self.path}: {exc.strerror or exc}") from None
        return entry


def read_journal(path: Path | str) -> list[dict[str, Any]]:
    """All readable entries (a torn last line is skipped, not fatal)."""
    p = Path(path).expanduser()
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(parse_json(line))
        except JsonError:
            continue
    return out
