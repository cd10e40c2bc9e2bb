"""Shared shape of line-oriented ``key = value`` documents (Java .properties, spoc.conf).

A document keeps every original line (comments, blank lines, order, line endings,
encoding, BOM) and an index of entries pointing at their lines. Edits replace, insert or
delete whole lines and re-parse, so a fixer's change is one or a few lines of the diff and
``render()`` is byte-identical when nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from auditor.parsers.text import TextFile, line_body, line_ending


@dataclass
class Entry:
    """One key/value pair and where it is written.

    ``line``/``end`` are 0-based indexes into ``document.lines`` (``end`` exclusive; a
    .properties entry can span continuation lines). ``sep`` is the separator exactly as
    written (``=``, `` = ``, ``: `` ...) and ``indent`` the leading whitespace, so a
    replacement line looks like its neighbours. ``value`` is what the product reads;
    ``raw_value`` is the value as written in the file (for Java .properties: before escapes are
    applied, continuation lines joined; for formats without escapes the same as ``value``).
    """

    key: str
    value: str
    line: int
    end: int
    sep: str = "="
    indent: str = ""
    raw: str = ""  # the original physical line(s), endings included
    raw_value: str | None = None  # None: the format has no escapes, the value is as written

    @property
    def written_value(self) -> str:
        """The value exactly as written in the file."""
        return self.value if self.raw_value is None else self.raw_value

    @property
    def lineno(self) -> int:
        """1-based line number, as an admin's editor shows it."""
        return self.line + 1


@dataclass(frozen=True)
class LineEdits:
    """Edits of whole entries, addressed by the 0-based line of each entry as parsed, applied
    together by :meth:`KeyValueDocument.apply_edits` in one pass.

    Why: each single edit (``set``, ``remove``, ``rename``) re-parses the whole file, so a
    fixer making one edit per entry was quadratic in the size of the file (a spoc.conf with
    10,000 stale entries never finished planning). ``replace`` rewrites an entry as
    ``(key, value)`` in its own style and line ending; ``delete`` drops an entry's lines;
    ``insert_after`` adds ``(key, value)`` lines after the entry at that line (``None``:
    at the end of the file), styled like that entry.
    """

    replace: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    delete: frozenset[int] = frozenset()
    insert_after: Mapping[int | None, Sequence[tuple[str, str]]] = field(default_factory=dict)


class KeyValueDocument(TextFile):
    """Base: subclasses implement ``_parse`` (lines -> entries) and ``_format``."""

    default_sep = "="

    def __init__(self, data: bytes, source: str = "<bytes>"):
        super().__init__(data, source)
        self.entries: list[Entry] = []
        self._reparse()

    # ---- subclass hooks -------------------------------------------------------------
    def _parse(self) -> list[Entry]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _format(self, key: str, value: str, sep: str, indent: str) -> str:  # pragma: no cover
        raise NotImplementedError

    # ---- reading --------------------------------------------------------------------
    def _reparse(self) -> None:
        self.entries = self._parse()

    def keys(self) -> list[str]:
        """Distinct keys in first-appearance order."""
        seen: dict[str, None] = {}
        for e in self.entries:
            seen.setdefault(e.key, None)
        return list(seen)

    def entry(self, key: str) -> Entry | None:
        """The effective entry for ``key``: the last one, as java.util.Properties does."""
        found = None
        for e in self.entries:
            if e.key == key:
                found = e
        return found

    def get(self, key: str, default: str | None = None) -> str | None:
        e = self.entry(key)
        return e.value if e is not None else default

    def __iter__(self):
        """Iterate distinct keys in order (like a dict)."""
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return any(e.key == key for e in self.entries)

    def as_dict(self) -> dict[str, str]:
        return {e.key: e.value for e in self.entries}

    def duplicates(self) -> dict[str, list[int]]:
        """Keys written more than once -> their 1-based line numbers."""
        lines: dict[str, list[int]] = {}
        for e in self.entries:
            lines.setdefault(e.key, []).append(e.lineno)
        return {k: v for k, v in lines.items() if len(v) > 1}

    # ---- editing --------------------------------------------------------------------
    def _line_for(self, key: str, value: str, template: Entry | None) -> str:
        sep = template.sep if template is not None else self.default_sep
        indent = template.indent if template is not None else ""
        return self._format(key, value, sep, indent)

    def _ending_for(self, index: int) -> str:
        if 0 <= index < len(self.lines):
            end = line_ending(self.lines[index])
            if end:
                return end
        return self.newline

    def _ensure_last_line_terminated(self) -> None:
        if self.lines and not line_ending(self.lines[-1]):
            self.lines[-1] = self.lines[-1] + self.newline

    def insert_line(self, index: int, body: str) -> None:
        """Insert one raw line (without ending) before ``lines[index]``."""
        if index >= len(self.lines):
            self._ensure_last_line_terminated()
            self.lines.append(body + self.newline)
        else:
            self.lines.insert(index, body + self.newline)
        self._reparse()

    def set(self, key: str, value: str, after: str | None = None) -> None:
        """Set ``key`` to ``value``.

        An existing key is rewritten in place (its last, effective occurrence, keeping the
        separator style and line ending); a new key goes after the entry for ``after`` when
        given, else at the end of the file.
        """
        current = self.entry(key)
        if current is not None:
            if current.value == value:
                return
            ending = line_ending(self.lines[current.end - 1]) or ""
            self.lines[current.line:current.end] = [self._line_for(key, value, current) + ending]
            self._reparse()
            return
        anchor = self.entry(after) if after else None
        template = anchor or (self.entries[-1] if self.entries else None)
        body = self._line_for(key, value, template)
        if anchor is not None:
            if not line_ending(self.lines[anchor.end - 1]):
                self.lines[anchor.end - 1] += self.newline
            self.lines.insert(anchor.end, body + self._ending_for(anchor.end - 1))
            self._reparse()
        else:
            self.insert_line(len(self.lines), body)

    def remove(self, key: str) -> bool:
        """Remove every occurrence of ``key``; returns whether anything was removed."""
        doomed = [e for e in self.entries if e.key == key]
        for e in sorted(doomed, key=lambda x: x.line, reverse=True):
            del self.lines[e.line:e.end]
        if doomed:
            self._reparse()
        return bool(doomed)

    def apply_edits(self, edits: LineEdits) -> None:
        """Apply ``edits`` in one pass over the lines and one re-parse (see :class:`LineEdits`)."""
        by_line = {e.line: e for e in self.entries}
        unknown = (set(edits.replace) | set(edits.delete) | {k for k in edits.insert_after if k is not None}) \
            - set(by_line)
        if unknown:
            raise ValueError(f"no entry starts at line(s) {sorted(unknown)[:5]}")
        out: list[str] = []
        pos = 0
        for start in sorted(by_line):
            e = by_line[start]
            out.extend(self.lines[pos:e.line])
            pos = e.end
            ending = line_ending(self.lines[e.end - 1])
            if e.line in edits.replace:
                key, value = edits.replace[e.line]
                out.append(self._line_for(key, value, e) + ending)
            elif e.line not in edits.delete:
                out.extend(self.lines[e.line:e.end])
            added = edits.insert_after.get(e.line, ())
            if added:
                ending = ending or self.newline
                if e.line not in edits.delete and out and not line_ending(out[-1]):
                    out[-1] += ending  # the entry was the last line, without an ending
                out.extend(self._line_for(k, v, e) + ending for k, v in added)
        out.extend(self.lines[pos:])
        at_end = edits.insert_after.get(None, ())
        if at_end:
            if out and not line_ending(out[-1]):
                out[-1] += self.newline
            out.extend(self._line_for(k, v, None) + self.newline for k, v in at_end)
        self.lines = out
        self._reparse()

    def rename(self, old: str, new: str) -> None:
        """Rename every occurrence of ``old`` in place (value, separator, position kept)."""
        targets = [e for e in self.entries if e.key == old]
        for e in sorted(targets, key=lambda x: x.line, reverse=True):
            ending = line_ending(self.lines[e.end - 1])
            self.lines[e.line:e.end] = [self._line_for(new, e.value, e) + ending]
        if targets:
            self._reparse()


def body_of(line: str) -> str:
    return line_body(line)
