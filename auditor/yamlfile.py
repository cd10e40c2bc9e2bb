"""YAML for hand-written files (inventory, profile override, notification settings): every
mapping and list remembers its line, so a validation error can name the line an admin must
edit, and a key written twice in one mapping is an error instead of silently taking the last
value (``yaml.safe_load`` keeps the last one without a word).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.safetext import valid_text


class LineMap(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list):
    line: int = 0
    item_lines: list[int]


class LineLoader(yaml.SafeLoader):
    """SafeLoader that records line numbers and rejects duplicate keys."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    # Duplicates are checked among the keys written in this mapping only: keys merged in with
    # ``<<: *anchor`` may be overridden, which is what merging is for.
    explicit: set[Any] = set()
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise InputError("a mapping key must be a plain value", line=key_node.start_mark.line + 1) from None
        if key in explicit:
            raise InputError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
        explicit.add(key)
    loader.flatten_mapping(node)
    out = LineMap()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:  # merged keys first, then explicit ones (they win)
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_text(loader: LineLoader, node: yaml.ScalarNode) -> str:
    # a double-quoted "\\ud800" escape gives a lone surrogate, which no report, history
    # database or console can write: made valid here, once, like text from a node
    return valid_text(loader.construct_scalar(node))


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_hand_written(path: Path) -> str:
    """The text of a file an admin wrote (inventory, waivers, profile override, notification
    settings): UTF-8, with or without a byte-order mark, or UTF-16 with its byte-order mark,
    which is what Notepad's "Unicode" saves (YAML allows both). Line endings are read as
    ``open()`` reads them (CRLF and CR become LF).

    The one rule for all of them; each caller words the errors: ``OSError`` (the file cannot
    be read) and ``UnicodeDecodeError`` (its ``encoding`` is ``utf-16`` when the file starts
    like UTF-16 but is not)."""
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw.startswith(UTF16_BOMS) else raw.decode("utf-8-sig")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_yaml(text: str, source: str) -> Any:
    """Parse ``text``; any YAML problem is an InputError naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=LineLoader)  # noqa: S506 - a SafeLoader subclass
    except InputError as exc:
        raise InputError(exc.message, source=source, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        if isinstance(exc, yaml.reader.ReaderError):  # e.g. a control character: no mark, a position
            line = text.count("\n", 0, exc.position) + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", source=source, line=line) from None


def line_of(mapping: Any, key: Any = None) -> int | None:
    """Line of ``key`` in a LineMap (or of the mapping / list itself); None when unknown."""
    if isinstance(mapping, LineMap):
        if key is not None and key in mapping.key_lines:
            return mapping.key_lines[key]
        return mapping.line or None
    return getattr(mapping, "line", None) or None
