"""Java ``.properties`` files, read as ``java.util.Properties.load`` does, kept editable.

This module is the one home of the Java rules: reading (:func:`java_entries`, used by
:class:`PropertiesDocument` and, through :func:`read_java_property`, by the remote executor's
``probe_property`` op, which ``executor.ps1`` mirrors) and writing (:func:`escape_key`,
:func:`escape_value`, used by every fixer that writes a ``.properties`` value).

Supported: ``#``/``!`` comment lines, blank lines, ``=``, ``:`` and whitespace separators,
continuation lines (odd number of trailing backslashes; leading whitespace of the next line
dropped), escapes ``\\t \\n \\r \\f \\uXXXX`` and ``\\<any>`` = ``<any>``. A malformed
``\\u`` escape is a :class:`ParseError` naming the line, as Java rejects it too. Keys are
case-sensitive (Java semantics); the last occurrence wins.

Each :class:`~auditor.parsers.keyvalue.Entry` keeps the physical line(s) as written
(``raw``), the value as written (``raw_value``: escapes not applied, continuation lines
joined) and the value the service reads (``value``). They differ wherever Java treats a
backslash as an escape: ``repository.path=\\\\fs01\\imsrepo`` is read as ``\\fs01imsrepo``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from auditor.parsers.keyvalue import Entry, KeyValueDocument
from auditor.parsers.text import ParseError, line_body, split_lines
from auditor.safetext import valid_text

_WS = " \t\f"
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _odd_trailing_backslashes(s: str) -> bool:
    n = len(s) - len(s.rstrip("\\"))
    return n % 2 == 1


def unescape(text: str, source: str = "<properties>", line: int | None = None) -> str:
    """What Java reads for a key or value written as ``text`` (``ParseError`` on ``\\u`` without
    four hex digits)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(text):
            break  # a lone trailing backslash (end of file) is dropped, as Java does
        c = text[i]
        if c == "u":
            hexdigits = text[i + 1:i + 5]
            if len(hexdigits) != 4 or any(h not in "0123456789abcdefABCDEF" for h in hexdigits):
                raise ParseError(f"malformed \\uxxxx escape: \\u{hexdigits}", source=source, line=line)
            out.append(chr(int(hexdigits, 16)))
            i += 5
            continue
        out.append(_SIMPLE_ESCAPES.get(c, c))
        i += 1
    # \uXXXX escapes are UTF-16 code units, as in Java: a pair is one character, a lone
    # surrogate is no text any writer could encode
    return valid_text("".join(out))


def escape_key(key: str) -> str:
    """``key`` written so that Java reads it back unchanged."""
    out = []
    for i, c in enumerate(key):
        if c in "\\=: \t\f" or (i == 0 and c in "#!"):
            out.append("\\" + c if c not in "\t\f" else {"\t": "\\t", "\f": "\\f"}[c])
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        else:
            out.append(c)
    return "".join(out)


def escape_value(value: str) -> str:
    """``value`` written so that Java reads it back unchanged (``\\\\fs01\\r`` becomes
    ``\\\\\\\\fs01\\\\r``). The one escaping rule of every fixer writing a .properties value."""
    out = []
    for i, c in enumerate(value):
        if c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == "\f":
            out.append("\\f")
        elif c in " =:" and i == 0:
            out.append("\\" + c)  # would otherwise be taken as (part of) the separator
        else:
            out.append(c)
    return "".join(out)


def java_line(key: str, value: str, sep: str = "=", indent: str = "") -> str:
    """The line (without ending) that makes Java read ``key`` = ``value``."""
    return f"{indent}{escape_key(key)}{sep}{escape_value(value)}"


@dataclass(frozen=True)
class JavaLine:
    """One logical line of a .properties text, before escapes are applied.

    ``start``/``end``: 0-based physical line indexes (``end`` exclusive); ``indent``: the
    whitespace before the key; ``key_raw``/``sep``/``value_raw``: the logical line split as
    written (continuation lines joined, their leading whitespace dropped).
    """

    start: int
    end: int
    indent: str
    key_raw: str
    sep: str
    value_raw: str


def java_lines(bodies: Sequence[str]) -> Iterator[JavaLine]:
    """The logical lines of a file given as physical line bodies (line endings removed)."""
    n = len(bodies)
    i = 0
    while i < n:
        body = bodies[i]
        stripped = body.lstrip(_WS)
        if not stripped or stripped[0] in "#!":
            i += 1
            continue
        start = i
        indent = body[: len(body) - len(stripped)]
        logical = stripped
        current = body
        while _odd_trailing_backslashes(current):
            logical = logical[:-1]
            i += 1
            if i >= n:
                break
            current = bodies[i]
            logical += current.lstrip(_WS)
        i += 1
        key_raw, sep, value_raw = _split(logical)
        yield JavaLine(start, i, indent, key_raw, sep, value_raw)


def _split(logical: str) -> tuple[str, str, str]:
    """Split a logical line into raw key, separator as written, raw value."""
    j = 0
    n = len(logical)
    while j < n:
        c = logical[j]
        if c == "\\":
            j += 2
            continue
        if c in "=:" or c in _WS:
            break
        j += 1
    key_end = min(j, n)
    k = key_end
    while k < n and logical[k] in _WS:
        k += 1
    if k < n and logical[k] in "=:":
        k += 1
        while k < n and logical[k] in _WS:
            k += 1
    return logical[:key_end], logical[key_end:k] or "=", logical[k:]


def java_entries(lines: Sequence[str], source: str = "<properties>") -> list[Entry]:
    """Every entry of a .properties text given as physical lines (endings included)."""
    entries = []
    for jl in java_lines([line_body(x) for x in lines]):
        entries.append(Entry(
            key=unescape(jl.key_raw, source, jl.start + 1), value=unescape(jl.value_raw, source, jl.start + 1),
            line=jl.start, end=jl.end, sep=jl.sep, indent=jl.indent, raw="".join(lines[jl.start:jl.end]),
            raw_value=jl.value_raw))
    return entries


def read_java_property(text: str, key: str) -> str | None:
    """The value Java reads for ``key`` in ``text`` (last occurrence wins), None when absent or
    when the text has a malformed ``\\u`` escape (Java cannot load such a file at all)."""
    try:
        entries = java_entries(split_lines(text))
    except ParseError:
        return None
    value = None
    for e in entries:
        if e.key == key:
            value = e.value
    return value


class PropertiesDocument(KeyValueDocument):
    """An editable .properties file; see the module docstring for the syntax."""

    default_sep = "="

    def _parse(self) -> list[Entry]:
        return java_entries(self.lines, self.source)

    def _format(self, key: str, value: str, sep: str, indent: str) -> str:
        text = java_line(key, value, sep, indent)
        if not self.can_encode(text):
            # e.g. a Latin-1 file: write what the encoding cannot hold as \\uXXXX escapes
            text = "".join(c if self.can_encode(c) else "".join(
                f"\\u{u:04x}" for u in _utf16_units(c)) for c in text)
        return text


def _utf16_units(c: str) -> list[int]:
    b = c.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2)]


def parse_properties(data: bytes, source: str = "<properties>") -> PropertiesDocument:
    return PropertiesDocument(data, source)
