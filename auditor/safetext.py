"""Text from a node, made safe: valid Unicode where it enters, visible controls where it leaves.

Two rules, one home each:

* :func:`valid_text` - what a node sends (a JSON answer, a ``node.json``, a ``\\uD800`` escape
  in a ``.properties`` file) may hold lone UTF-16 surrogates, which no writer can encode
  (UTF-8 reports, SQLite history, the console): one of them used to abort a whole audit.
  Readers of node data call this once, where the text enters, so every writer downstream
  receives valid text. Surrogate *pairs* become the character they encode (Java and JSON
  escapes write astral characters that way); a lone surrogate becomes U+FFFD. Raw bytes
  (collected file contents) are never touched: they stay as they were, in the snapshot.

* :func:`neutralise` / :func:`one_line` - data shown to a person must not drive their
  terminal. C0 and C1 control characters (ESC, CSI, OSC ... start with one of them), DEL,
  and the bidirectional overrides that reorder what is displayed (the "Trojan Source"
  characters) are written as visible escapes (``\\x1b``, ``\\u202e``), the same spelling
  the HTML report uses. :mod:`auditor.terminal` applies :func:`neutralise` to everything a
  command prints; :func:`one_line` is for a value inside a table cell or a one-line message,
  where a newline from the data must not start a line of its own.
"""

from __future__ import annotations

import re
from typing import Any

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 except TAB and LF, DEL, C1, bidi controls, the Unicode line/paragraph separators
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_CONTROLS_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with surrogate pairs joined and lone surrogates replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def valid_tree(value: Any) -> Any:
    """:func:`valid_text` applied to every string (keys included) of a decoded JSON value.

    Iterative (a hostile document may be deep) and in place for lists and objects; a string
    that is already valid is returned as it is, so a clean document costs one scan."""
    if isinstance(value, str):
        return valid_text(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = valid_text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        elif isinstance(node, dict):
            bad_keys = [k for k in node if not k.isascii() and valid_text(k) != k]
            for k in bad_keys:
                node[valid_text(k)] = node.pop(k)  # a clash keeps the later value, as JSON does
            for k, item in node.items():
                if isinstance(item, str):
                    node[k] = valid_text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
    return value


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralise(text: str) -> str:
    """``text`` with every control character except TAB and newline written as a visible
    escape, and lone surrogates as ``\\udXXX``: safe to send to a terminal or a log."""
    if text.isascii() and text.isprintable():
        return text
    text = _CONTROLS.sub(_escape, text)
    return _SURROGATE.sub(_escape, text) if _SURROGATE.search(text) else text


def one_line(value: Any) -> str:
    """A value for one table cell or one line: like :func:`neutralise`, and newlines, tabs
    and carriage returns from the data are escaped too, so data cannot forge a line."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text
    text = _CONTROLS_ONE_LINE.sub(_escape, text)
    return _SURROGATE.sub(_escape, text) if _SURROGATE.search(text) else text


def one_line_cells(rows: Any) -> list[list[Any]]:
    """Table rows with every text cell made :func:`one_line` (numbers left as they are)."""
    return [[one_line(c) if isinstance(c, str) else c for c in row] for row in rows]
