"""Lossless text decoding and a line-preserving document base.

Configuration files on Windows servers arrive in every shape: UTF-8 with or without a BOM,
UTF-16 (usually with a BOM, written by Notepad or PowerShell), legacy single-byte code
pages, CRLF or LF or a mix. Checks only need the values, but fixers must write a file back
changed in one place and identical everywhere else, so decoding here is *reversible*:
``encode(decode(b)) == b`` for every input. That is why undecodable bytes fall back to
Latin-1 (a bijection on bytes) instead of a lossy replacement character.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from auditor.errors import InputError


class ParseError(InputError):
    """A file that cannot be parsed; ``source`` names the file and ``line`` the 1-based line."""


_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]

_EOL_RE = re.compile(r"\r\n|\r|\n")
# what str.splitlines breaks lines at besides CR and LF (VT, FF, FS, GS, RS, NEL, LS, PS)
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass
class Decoded:
    text: str
    encoding: str  # codec name used for the body (without BOM)
    bom: bytes  # the BOM that preceded the body (b"" when none)

    def encode(self, text: str | None = None) -> bytes:
        body = self.text if text is None else text
        return self.bom + body.encode(self.encoding)


def _guess_bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-heavy text has a NUL in every other byte."""
    if len(data) < 4 or len(data) % 2 or b"\x00" not in data:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    half = len(data) // 2
    if odd > half * 0.6 and even == 0:
        return "utf-16-le"
    if even > half * 0.6 and odd == 0:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, source: str = "<bytes>") -> Decoded:
    """Decode configuration bytes reversibly (see module docstring).

    UTF-16 is decoded strictly: a lone surrogate (corrupt UTF-16) is a ParseError naming the
    line, not text that no report, history or console could encode."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            try:
                return Decoded(body.decode(enc), enc, bom)
            except UnicodeDecodeError as exc:
                raise ParseError(f"invalid {_NAMES[enc]} after byte-order mark: {exc.reason}", source=source,
                                 line=_line_of_offset(body, exc.start, enc)) from None
    guess = _guess_bomless_utf16(data)
    if guess:
        try:
            return Decoded(data.decode(guess), guess, b"")
        except UnicodeDecodeError as exc:
            raise ParseError(f"invalid {_NAMES[guess]} (no byte-order mark): {exc.reason}", source=source,
                             line=_line_of_offset(data, exc.start, guess)) from None
    try:
        return Decoded(data.decode("utf-8"), "utf-8", b"")
    except UnicodeDecodeError:
        return Decoded(data.decode("latin-1"), "latin-1", b"")


_NAMES = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}


def _line_of_offset(data: bytes, offset: int, encoding: str) -> int:
    return data[:offset].decode(encoding, errors="replace").count("\n") + 1


def split_lines(text: str) -> list[str]:
    """Split keeping each line's own ending (CRLF, LF or CR); the last line may lack one.

    ``str.splitlines`` is not used because it also splits on form feeds, NEL and Unicode
    separators, which are ordinary characters in these files; a text without any of those
    (nearly every file) is split by it all the same, in C.
    """
    if not _OTHER_BREAKS.search(text):
        return text.splitlines(keepends=True)
    lines: list[str] = []
    pos = 0
    for m in _EOL_RE.finditer(text):
        lines.append(text[pos:m.end()])
        pos = m.end()
    if pos < len(text):
        lines.append(text[pos:])
    return lines


def line_body(line: str) -> str:
    """The line without its ending."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def line_ending(line: str) -> str:
    return line[len(line_body(line)):]


def dominant_newline(lines: list[str]) -> str:
    """The most common line ending in the file (CRLF on a tie or when there is none)."""
    counts = {"\r\n": 0, "\n": 0, "\r": 0}
    for ln in lines:
        end = line_ending(ln)
        if end:
            counts[end] += 1
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0] == "\r\n"))
    return best[0] if best[1] else "\r\n"


class TextFile:
    """Decoded file kept as a list of original lines so edits can be minimal."""

    def __init__(self, data: bytes, source: str = "<bytes>"):
        self.source = source
        self._decoded = decode_bytes(data, source)
        self.lines: list[str] = split_lines(self._decoded.text)

    @property
    def encoding(self) -> str:
        return self._decoded.encoding

    @property
    def bom(self) -> bytes:
        return self._decoded.bom

    @property
    def newline(self) -> str:
        return dominant_newline(self.lines)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def render(self) -> bytes:
        """The file as bytes: byte-identical to the input when nothing was edited."""
        return self._decoded.encode(self.text)

    def can_encode(self, text: str) -> bool:
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError:
            return False
        return True
