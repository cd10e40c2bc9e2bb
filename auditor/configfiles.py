"""A configuration file as the cluster model sees it: collected and parsed once, or why not.

:class:`FileResult` carries either the parsed document or the reason it is missing (no
install folder, not collected, missing on the node, unreadable, a parse error and its line),
so a check can say ``error`` naming the file and line instead of passing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from auditor.nodestate import FileEntry, NodeState
from auditor.parsers import ParseError
from auditor.vocab import FileStatus
from auditor.winpath import join, path_key

T = TypeVar("T")


@dataclass
class FileResult(Generic[T]):
    """A config file as the model sees it: parsed (``doc``) or why not (``status``, a
    :class:`~auditor.vocab.FileStatus`; for ``parse_error`` ``error``/``line`` say where).
    """

    path: str | None
    status: FileStatus
    doc: T | None = None
    error: str | None = None
    line: int | None = None
    mtime: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == FileStatus.OK and self.doc is not None

    def problem(self) -> str:
        where = self.path or "(unknown path)"
        return {
            FileStatus.MISSING: f"{where} does not exist on the node",
            FileStatus.NOT_COLLECTED: f"{where} was not collected",
            FileStatus.UNREADABLE: f"{where} could not be read: {self.error}",
            FileStatus.PARSE_ERROR: f"{where} cannot be parsed: {self.error}",
            FileStatus.NO_INSTALL_DIR: f"install folder unknown ({self.error})",
        }.get(self.status, f"{where}: {self.status}")


class ParseCache:
    """Parsed documents shared by the nodes of one model whose file is byte-identical.

    Why: most of a cluster's configuration files are the same on every Site server, and
    parsing them once per node was the largest part of building the model at 5,000 nodes.
    A document is shared only for the same parser, path and bytes (the path is part of every
    parse error and of the document's ``source``), so each node sees exactly what its own parse
    would give. The model's documents are read-only: a fixer parses its own copy of the bytes
    before editing (see auditor/fixers), so sharing one object is safe.
    """

    def __init__(self) -> None:
        self._parsed: dict[tuple[Callable[[bytes, str], Any], str, bytes], Any] = {}

    def parse(self, parse: Callable[[bytes, str], Any], content: bytes, path: str) -> Any:
        """``parse(content, path)``, once per distinct (parser, path, content); a
        :class:`ParseError` is remembered and raised again for the next identical file."""
        key = (parse, path, content)
        found = self._parsed.get(key)
        if found is None:
            try:
                found = self._parsed[key] = (parse(content, path), None)
            except ParseError as exc:
                found = self._parsed[key] = (None, exc)
        if found[1] is not None:
            raise found[1]
        return found[0]


def load_file(node: NodeState, path: str | None, parse: Callable[[bytes, str], Any], why_no_path: str = "",
              cache: ParseCache | None = None) -> FileResult:
    """The collected file at ``path`` parsed by ``parse``, or why it could not be (no install
    folder, not collected, missing, unreadable or truncated, a parse error with its line).
    With ``cache``, a file byte-identical to one parsed before shares that document."""
    if path is None:
        return FileResult(None, FileStatus.NO_INSTALL_DIR, error=why_no_path or "service not found")
    entry: FileEntry | None = node.file(path)
    if entry is None:
        return FileResult(path, FileStatus.NOT_COLLECTED)
    if not entry.exists:
        return FileResult(path, FileStatus.MISSING, mtime=entry.mtime)
    if entry.content is None:
        return FileResult(path, FileStatus.UNREADABLE, error=entry.error or "no content", mtime=entry.mtime)
    if entry.truncated:
        return FileResult(path, FileStatus.UNREADABLE, error=entry.error or "truncated", mtime=entry.mtime)
    try:
        doc = cache.parse(parse, entry.content, entry.path) if cache is not None else parse(entry.content, entry.path)
    except ParseError as exc:
        return FileResult(entry.path, FileStatus.PARSE_ERROR, error=exc.message, line=exc.line, mtime=entry.mtime)
    return FileResult(entry.path, FileStatus.OK, doc=doc, mtime=entry.mtime)


def glob_files(node: NodeState, folder: str, pattern: str) -> list[FileEntry]:
    """Collected files under ``folder`` matching the relative ``pattern``, in path order."""
    full = path_key(join(folder, pattern))
    if not _WILDCARDS.intersection(full):  # a plain path matches one key only: look it up
        found = node.files.get(full)
        return [found] if found is not None else []
    return sorted((f for k, f in node.files.items() if fnmatch.fnmatchcase(k, full)), key=lambda f: path_key(f.path))


_WILDCARDS = frozenset("*?[")
"""The characters that make an fnmatch pattern more than a plain path."""


def collected_files_of(node: NodeState, folder: str, patterns: list[str]) -> list[FileEntry]:
    """Collected files under ``folder`` matching any relative pattern (``*`` in last part)."""
    out: dict[str, FileEntry] = {}
    for p in patterns:
        for f in glob_files(node, folder, p):
            out[path_key(f.path)] = f
    return list(out.values())
