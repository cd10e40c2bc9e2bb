"""Java ``.properties`` files, read as ``java.util.Properties.load`` does, kept editable.

Supported: ``#``/``!`` comment lines, blank lines, ``=``, ``:`` and whitespace separators,
continuation lines (odd number of trailing backslashes), escapes ``\\t \\n \\r \\f \\uXXXX``
and ``\\<any>``. A malformed ``\\u`` escape is a :class:`ParseError` naming the line, as
Java rejects it too. Keys are case-sensitive (Java semantics); the last occurrence wins.
"""

from __future__ import annotations

from auditor.parsers.keyvalue import Entry, KeyValueDocument
from auditor.parsers.text import ParseError, line_body
from auditor.safetext import valid_text

_WS = " \t\f"
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _odd_trailing_backslashes(s: str) -> bool:
    n = len(s) - len(s.rstrip("\\"))
    return n % 2 == 1


def unescape(text: str, source: str = "<properties>", line: int | None = None) -> str:
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
        elif c == " " and i == 0:
            out.append("\\ ")  # a leading space would otherwise be eaten as separator
        else:
            out.append(c)
    return "".join(out)


class PropertiesDocument(KeyValueDocument):
    """An editable .properties file; see the module docstring for the syntax."""

    default_sep = "="

    def _parse(self) -> list[Entry]:
        entries: list[Entry] = []
        lines = self.lines
        n = len(lines)
        i = 0
        while i < n:
            body = line_body(lines[i])
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
                current = line_body(lines[i])
                logical += current.lstrip(_WS)
            i += 1
            key_raw, sep, value_raw = self._split(logical)
            entries.append(Entry(
                key=unescape(key_raw, self.source, start + 1),
                value=unescape(value_raw, self.source, start + 1),
                line=start, end=i, sep=sep, indent=indent, raw="".join(lines[start:i]),
            ))
        return entries

    @staticmethod
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

    def _format(self, key: str, value: str, sep: str, indent: str) -> str:
        text = f"{indent}{escape_key(key)}{sep}{escape_value(value)}"
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
