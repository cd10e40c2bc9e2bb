"""The certainty of a product fact, as the default profile records it.

A check that relies on product facts names them (``RELIES_ON``, dotted profile keys) so
``auditor checks ID`` can show the admin how sure each one is before trusting a finding.
The profile records a fact's certainty as data (a section's ``certainty:`` map, read by the
loader into ``Profile.certainties``), and the default profile says more in comments: on the
fact's line or above its section (``port: 5433  # confirmed (S3-S7)``). This module is the one
place that reads the comments: the data wins, the comment is the note shown with it and the
fallback for a fact no ``certainty:`` map names.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.profile.view import Profile
from auditor.yamlfile import line_of, load_yaml

CERTAINTIES = ("confirmed", "inferred", "assumed", "unknown")
_WORD = re.compile(r"\b(confirmed|inferred|assumed|unknown|not found)\b", re.IGNORECASE)
_EXPLICIT = re.compile(r"certainty:\s*(confirmed|inferred|assumed|unknown)\b", re.IGNORECASE)
NOT_STATED = "not stated"


@dataclass(frozen=True)
class Fact:
    """One profile fact as ``auditor checks ID`` shows it."""

    key: str  # dotted profile key, e.g. spoc_conf.guid_key
    value: str  # the value in effect (overrides applied), as text
    certainty: str  # one of CERTAINTIES, or NOT_STATED
    note: str  # the default profile's comment about it (sources, caveats)


def _comment(line: str) -> str:
    """The comment of a YAML line (text after a ``#`` that is outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'" and quote in (None, ch):
            quote = None if quote == ch else ch
        elif ch == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[i + 1:].strip()
    return ""


def _comment_above(lines: list[str], lineno: int) -> str:
    """The block of full-line comments directly above line ``lineno`` (1-based)."""
    block: list[str] = []
    i = lineno - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        block.insert(0, lines[i].lstrip()[1:].strip())
        i -= 1
    return " ".join(block)


def _certainty_word(text: str) -> str | None:
    """The certainty a comment states: an explicit ``certainty: X`` first, else the first word."""
    m = _EXPLICIT.search(text) or _WORD.search(text)
    if not m:
        return None
    word = m.group(1).lower()
    return "unknown" if word == "not found" else word


def _walk(data: Any, parts: list[str]) -> list[tuple[Any, str]]:
    """[(mapping, key)] from the top to the last part of a dotted key (stops where it breaks)."""
    out: list[tuple[Any, str]] = []
    node = data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            break
        out.append((node, part))
        node = node[part]
    return out


def _from_certainty_key(value: Any) -> str | None:
    """``certainty`` written as data: a word, or a mapping of words (the least sure wins)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("certainty"), str):
        return _certainty_word(value["certainty"])
    if isinstance(value.get("certainty"), dict):
        found = [_certainty_word(str(v)) for v in value["certainty"].values()]
        ranked = [c for c in reversed(CERTAINTIES) if c in found]
        return ranked[0] if ranked else None
    for item in value.values():  # e.g. a subsystem: its services carry the certainty
        if isinstance(item, list):
            words = [_from_certainty_key(x) for x in item]
            ranked = [c for c in reversed(CERTAINTIES) if c in words]
            if ranked:
                return ranked[0]
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_as_text(v) for v in value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_as_text(v)}" for k, v in value.items() if k != "certainty") + "}"
    if dataclasses.is_dataclass(value):
        return "{" + ", ".join(f"{f.name}: {_as_text(getattr(value, f.name))}" for f in dataclasses.fields(value)
                               if f.name != "key") + "}"
    return "" if value is None else str(value)


def fact(profile: Profile, key: str, default_text: str | None = None) -> Fact:
    """The fact ``key`` (KeyError when the profile has no such fact) with its value from
    ``profile``, its certainty from ``profile.certainties`` or else the default profile's
    comments (the key's own line, the comment above it, its enclosing sections), and the
    default profile's note about it."""
    from auditor.profile import _default_text

    value = profile.value_of(key)
    text = default_text if default_text is not None else _default_text()
    lines = text.splitlines()
    path = _walk(load_yaml(text, "default profile"), key.split("."))
    certainty, note = None, ""
    for mapping, part in reversed(path):
        lineno = line_of(mapping, part)
        own = _comment(lines[lineno - 1]) if lineno else ""
        above = _comment_above(lines, lineno) if lineno else ""
        note = note or own or above
        certainty = (_from_certainty_key(mapping[part]) or _certainty_word(own) or _certainty_word(above))
        if certainty:
            note = note or own or above
            break
    marked = profile.certainty(key)
    return Fact(key=key, value=_as_text(value), certainty=marked or certainty or NOT_STATED, note=note)
