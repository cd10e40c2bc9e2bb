"""``SPOC\\conf\\modules\\spoc.conf``: the Spooler Controller's list of Management servers.

The real syntax is not publicly documented (docs/product-sources.md), so the parser is
deliberately plain and tolerant: ``key=value`` or ``key = value`` lines, comment lines
starting with one of the profile's ``comment_prefixes``, blank lines. Values are taken
literally (no escapes, surrounding whitespace stripped). Any other non-blank line is a
:class:`ParseError` naming the line, because guessing what such a line means could turn a
broken file into a silent pass. Unknown keys are kept; duplicates are reported.

Management servers are ``serverGUID``/``serverIP``/``serverPORT`` (key names from the
profile) for the first one, then the same keys with suffixes 2, 3, 4 ...
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.parsers.keyvalue import Entry, KeyValueDocument
from auditor.parsers.text import ParseError, line_body


@dataclass
class ServerEntry:
    """One numbered Management server in spoc.conf (index 1 is the unsuffixed keys)."""

    index: int
    guid: str | None = None
    ip: str | None = None
    port: str | None = None
    # field name ("guid"/"ip"/"port") -> the key as written and its 1-based line
    keys: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.guid is not None and self.ip is not None and self.port is not None

    @property
    def first_line(self) -> int | None:
        return min(self.lines.values()) if self.lines else None


@dataclass(frozen=True)
class ServerLine:
    """One physical server line: ``serverIP2=10.0.0.2`` is field ``ip`` of entry 2."""

    line: int  # 0-based index into ``document.lines`` (an entry's first line)
    field: str  # "guid", "ip" or "port"
    index: int
    key: str
    value: str


@functools.lru_cache(maxsize=8)
def _server_pattern(guid_key: str, ip_key: str, port_key: str) -> re.Pattern[str]:
    """The server keys with their optional numeric suffix (compiled once per key names: every
    node's spoc.conf is parsed with the same)."""
    return re.compile("^(" + "|".join(re.escape(k) for k in (guid_key, ip_key, port_key)) + r")(\d*)$")


class SpocConfDocument(KeyValueDocument):
    """An editable spoc.conf with the Management-server list exposed as :class:`ServerEntry`."""

    default_sep = "="

    def __init__(self, data: bytes, source: str = "spoc.conf", *,
                 comment_prefixes: Sequence[str] = ("#", ";", "!"),
                 guid_key: str = "serverGUID", ip_key: str = "serverIP", port_key: str = "serverPORT"):
        self.comment_prefixes = tuple(comment_prefixes)
        self.guid_key, self.ip_key, self.port_key = guid_key, ip_key, port_key
        self._server_re = _server_pattern(guid_key, ip_key, port_key)
        super().__init__(data, source)

    @classmethod
    def from_profile(cls, data: bytes, source: str, profile) -> SpocConfDocument:
        return cls(data, source,
                   comment_prefixes=profile.spoc_conf.comment_prefixes,
                   guid_key=profile.spoc_conf.guid_key,
                   ip_key=profile.spoc_conf.ip_key,
                   port_key=profile.spoc_conf.port_key)

    # ---- parsing --------------------------------------------------------------------
    def _parse(self) -> list[Entry]:
        entries: list[Entry] = []
        add = entries.append
        comments = self.comment_prefixes
        for i, line in enumerate(self.lines):
            body = line_body(line)
            stripped = body.strip()
            if i == 0 and stripped.startswith("\ufeff"):
                stripped = stripped[1:].strip()
            if not stripped or stripped.startswith(comments):
                continue
            left, eq, right = body.partition("=")
            if not eq:
                raise ParseError(f"expected 'key=value', got {stripped[:60]!r}", source=self.source, line=i + 1)
            key = left.strip()
            if not key:
                raise ParseError("missing key before '='", source=self.source, line=i + 1)
            value = right.strip()
            if left == key and right == value:  # the usual "key=value": no whitespace to keep
                add(Entry(key, value, i, i + 1, "=", "", line))
                continue
            indent = left[: len(left) - len(left.lstrip())]
            sep = left[len(indent) + len(key):] + "=" + right[: len(right) - len(right.lstrip())]
            add(Entry(key, value, i, i + 1, sep, indent, line))
        return entries

    def _format(self, key: str, value: str, sep: str, indent: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("spoc.conf values cannot contain line breaks")
        return f"{indent}{key}{sep}{value}"

    # ---- the server list ------------------------------------------------------------
    def _field_of(self, base: str) -> str:
        return {self.guid_key: "guid", self.ip_key: "ip", self.port_key: "port"}[base]

    def _key(self, fieldname: str, index: int) -> str:
        base = {"guid": self.guid_key, "ip": self.ip_key, "port": self.port_key}[fieldname]
        return base if index == 1 else f"{base}{index}"

    def server_lines(self) -> list[ServerLine]:
        """Every server line in file order, duplicates and odd suffixes included (one pass)."""
        out = []
        for e in self.entries:
            m = self._server_re.match(e.key)
            if m:
                out.append(ServerLine(e.line, self._field_of(m.group(1)), int(m.group(2)) if m.group(2) else 1,
                                      e.key, e.value))
        return out

    def key_for(self, fieldname: str, index: int) -> str:
        """The canonical key of ``fieldname`` ("guid", "ip", "port") of entry ``index``."""
        return self._key(fieldname, index)

    def _reparse(self) -> None:
        self._servers: list[ServerEntry] | None = None  # servers() of these entries, once computed
        self._signature: tuple[tuple[int, str, str], ...] | None = None
        super()._reparse()

    def server_signature(self) -> tuple[tuple[int, str, str], ...]:
        """Every server line as (line, key, value): two documents with equal signatures have
        the same :meth:`servers` and :meth:`server_key_problems`. Once per parse."""
        if self._signature is None:
            match = self._server_re.match
            self._signature = tuple((e.line, e.key, e.value) for e in self.entries if match(e.key))
        return self._signature

    def servers(self) -> list[ServerEntry]:
        """Numbered server entries sorted by index (the effective, last value of each key).

        Computed once per parse (the model, several checks and the product model each ask for
        every node's list); a new list of the same entries each call. Editing re-parses."""
        if self._servers is None:
            self._servers = self._scan_servers()
        return list(self._servers)

    def _scan_servers(self) -> list[ServerEntry]:
        found: dict[int, ServerEntry] = {}
        for e in self.entries:
            m = self._server_re.match(e.key)
            if not m:
                continue
            index = int(m.group(2)) if m.group(2) else 1
            srv = found.setdefault(index, ServerEntry(index=index))
            name = self._field_of(m.group(1))
            setattr(srv, name, e.value)
            srv.keys[name] = e.key
            srv.lines[name] = e.lineno
        return [found[k] for k in sorted(found)]

    def server_key_problems(self) -> list[str]:
        """Textual problems of the numbering itself: gaps, odd suffixes, duplicates."""
        match = self._server_re.match
        problems = [f"{key} written {len(lines)} times (lines {', '.join(map(str, lines))})"
                    for key, lines in self.duplicates().items() if match(key)]
        for e in self.entries:
            m = match(e.key)
            if m and m.group(2) and (m.group(2) == "1" or m.group(2).startswith("0")):
                problems.append(f"non-standard key {e.key} at line {e.lineno} (first server has no suffix)")
        servers = self.servers()
        indexes = [s.index for s in servers]
        if indexes:
            missing = sorted(set(range(1, max(indexes) + 1)) - set(indexes))
            if missing:
                problems.append("gap in numbering: no entry " + ", ".join(map(str, missing)))
        for s in servers:
            if not s.complete:
                absent = [f for f in ("guid", "ip", "port") if getattr(s, f) is None]
                problems.append(f"entry {s.index} lacks {', '.join(self._key(f, s.index) for f in absent)}")
        return problems

    def next_index(self) -> int:
        indexes = [s.index for s in self.servers()]
        return max(indexes) + 1 if indexes else 1

    def _last_server_entry(self) -> Entry | None:
        last = None
        for e in self.entries:
            if self._server_re.match(e.key) and (last is None or e.line > last.line):
                last = e
        return last

    def append_server(self, guid: str, ip: str, port: str | int) -> int:
        """Add a server with the next free suffix, right after the existing server lines.

        Returns the new index. The new lines copy the separator style and line endings of
        the server line they follow, so the diff is exactly three added lines.
        """
        index = self.next_index()
        anchor = self._last_server_entry()
        values = [("guid", guid), ("ip", ip), ("port", str(port))]
        if anchor is None:
            for name, value in values:
                self.insert_line(len(self.lines), self._line_for(self._key(name, index), value, None))
            return index
        pos = anchor.end
        if not self.lines[pos - 1].endswith(("\n", "\r")):
            self.lines[pos - 1] += self.newline
        ending = self._ending_for(pos - 1)
        new = [self._line_for(self._key(name, index), value, anchor) + ending for name, value in values]
        self.lines[pos:pos] = new
        self._reparse()
        return index

    def set_server(self, index: int, guid: str | None = None, ip: str | None = None,
                   port: str | int | None = None) -> None:
        """Change fields of an existing entry in place (None leaves a field alone)."""
        for name, value in (("guid", guid), ("ip", ip), ("port", port)):
            if value is not None:
                key = self._key(name, index)
                after = None
                if key not in self:
                    # keep the triple together: put a missing field after its siblings
                    siblings = [self._key(f, index) for f in ("guid", "ip", "port") if self._key(f, index) in self]
                    after = siblings[-1] if siblings else None
                self.set(key, str(value), after=after)

    def remove_server(self, index: int, renumber: bool = True) -> None:
        """Remove entry ``index``; with ``renumber`` later entries move down so no gap remains."""
        for name in ("guid", "ip", "port"):
            self.remove(self._key(name, index))
        if not renumber:
            return
        for srv in self.servers():
            if srv.index > index:
                for name, key in list(srv.keys.items()):
                    self.rename(key, self._key(name, srv.index - 1))
