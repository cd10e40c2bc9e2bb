"""Strict readers of the JSON a node answers with: each returns the value when it has the
expected shape and type, and raises :class:`BadField` naming the exact place otherwise
(``results[5] (files:management).files[2].mtime: expected string or null``).

Shared by the collect decoder (``auditor.remote.decode``) and the apply-result decoder
(``auditor.remote.apply_results``): a node that answers garbage must never become data.
"""

from __future__ import annotations

from typing import Any

from auditor.vocab import UTC_TIME_RE as _ISO_RE


class BadField(Exception):
    """A value of a node's answer does not have the shape the protocol defines."""


def obj(v: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """An object with exactly ``keys``."""
    if not isinstance(v, dict):
        raise BadField(f"{where}: expected an object, got {type(v).__name__}")
    missing = [k for k in keys if k not in v]
    extra = [k for k in v if k not in keys]
    if missing or extra:
        raise BadField(f"{where}: fields must be {list(keys)} (missing {missing}, unexpected {extra})")
    return v


def string(v: Any, where: str, null: bool = False) -> str | None:
    if v is None and null:
        return None
    if not isinstance(v, str):
        raise BadField(f"{where}: expected string{' or null' if null else ''}, got {type(v).__name__}")
    return v


def integer(v: Any, where: str, null: bool = False) -> int | None:
    if v is None and null:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise BadField(f"{where}: expected integer{' or null' if null else ''}, got {type(v).__name__}")
    return v


def boolean(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise BadField(f"{where}: expected true/false, got {type(v).__name__}")
    return v


def utc_time(v: Any, where: str) -> str | None:
    """An ISO 8601 UTC time (``2026-01-01T00:00:00Z``) or null."""
    s = string(v, where, null=True)
    if s is not None and not _ISO_RE.match(s):
        raise BadField(f"{where}: expected an ISO 8601 UTC time, got {s[:40]!r}")
    return s


def array(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise BadField(f"{where}: expected a list, got {type(v).__name__}")
    return v
