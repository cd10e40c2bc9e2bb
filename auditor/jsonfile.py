"""The one JSON reader for data that is not ours to trust: node answers, ``node.json``,
``manifest.json``, the fix journal and lock files.

``json.loads`` alone turns hostile input into tracebacks: 100,000 nested brackets raise
RecursionError, an integer of 5,000 digits raises ValueError, a 2 GB file is read whole into
memory, and ``\\ud800`` escapes give text no writer can encode. Here every document is
bounded (size, nesting depth, length of one number literal; NaN and Infinity are not JSON)
and its text made valid (:func:`auditor.safetext.valid_tree`), and every problem is one
:class:`JsonError` with a message and, where it is on one, the line. File readers turn it
into an :class:`~auditor.errors.InputError` naming the file (exit 2); the remote decoder into
a ``protocol`` failure of the node.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.safetext import valid_tree

MB = 1024 * 1024


@dataclass(frozen=True)
class JsonLimits:
    """Bounds of one document. The defaults fit everything this tool writes by a wide margin
    (a node answer nests 7 levels, numbers are ports, pids and sizes)."""

    max_bytes: int = 64 * MB
    max_depth: int = 64
    max_number_chars: int = 40


DEFAULT_LIMITS = JsonLimits()


class JsonError(ValueError):
    """A document that is not JSON, or exceeds a limit; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class _NumberTooLong(Exception):
    def __init__(self, literal: str):
        self.literal = literal


class _NotFinite(Exception):
    def __init__(self, literal: str):
        self.literal = literal


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, max(0, offset)) + 1


def _too_deep_at(text: str, max_depth: int) -> int | None:
    """Offset of the first bracket that opens level ``max_depth + 1`` (error path only)."""
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > max_depth:
                return m.start()
        elif tok in "]}":
            depth -= 1
    return None


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))
    return False


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a UTF-16 surrogate: the only way text decoded as strict UTF-8 can yield one."""


def _decode_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonError(f"not UTF-8 text (byte {exc.start})", data.count(b"\n", 0, exc.start) + 1) from None


def parse_json(data: bytes | str, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse one JSON document within ``limits``; :class:`JsonError` says what is wrong."""
    if len(data) > limits.max_bytes:
        raise JsonError(f"too large: {len(data):,} bytes, the limit is {limits.max_bytes:,}")
    text = _decode_text(data)

    def number(literal: str, convert: Any) -> Any:
        if len(literal) > limits.max_number_chars:
            raise _NumberTooLong(literal)
        return convert(literal)

    def floating(literal: str) -> float:
        value = number(literal, float)
        if value in (float("inf"), float("-inf")):
            raise _NotFinite(literal)
        return value

    def constant(literal: str) -> Any:
        raise _NotFinite(literal)

    try:
        value = json.loads(text, parse_int=lambda s: number(s, int), parse_float=floating,
                           parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise JsonError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        value = None  # deeper than the interpreter allows: certainly over the limit, said below
        deep = True
    except _NumberTooLong as exc:
        raise JsonError(f"a number of {len(exc.literal):,} characters (the limit is {limits.max_number_chars})",
                        _line_at(text, text.find(exc.literal))) from None
    except _NotFinite as exc:
        raise JsonError(f"number {exc.literal[:20]!r} is not a finite JSON number",
                        _line_at(text, text.find(exc.literal))) from None
    else:
        deep = isinstance(value, (list, dict)) and _depth_exceeds(value, limits.max_depth)
    if deep:
        at = _too_deep_at(text, limits.max_depth)
        raise JsonError(f"nested more than {limits.max_depth} levels deep",
                        _line_at(text, at) if at is not None else None)
    if isinstance(data, str) or _SURROGATE_ESCAPE.search(text):
        return valid_tree(value)
    return value  # strict UTF-8 and no \uD800-\uDFFF escape: no lone surrogate to repair


def read_json_file(path: Path, limits: JsonLimits = DEFAULT_LIMITS, *, not_found: str | None = None) -> Any:
    """Read and parse the JSON file ``path``: every problem is an InputError naming it.

    ``not_found``: the message for a missing file (the default says "not found")."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise InputError(not_found or "not found", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    if len(data) > limits.max_bytes:
        raise InputError(f"too large: over {limits.max_bytes:,} bytes, the limit for this file",
                         source=str(path))
    try:
        return parse_json(data, limits)
    except JsonError as exc:
        raise InputError(exc.message, source=str(path), line=exc.line) from None
