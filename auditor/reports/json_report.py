"""JSON report: ``AuditReport.to_dict()`` serialised (schema in docs/report-schema.md/.json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from auditor.findings import sources_to_dict
from auditor.jsonencode import reusable_encoder
from auditor.reports.model import ENUM_VALUE, _plain, fix_command

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

ONE_LINE_LISTS = ("nodes", "findings")
"""Top-level lists written one item per line (see :func:`render_json`)."""


def render_json(report: AuditReport) -> str:
    """Pretty, deterministic (sorted finding order) and ASCII-only, so it diffs and mails well.

    The run metadata, summary, checks and history parts are indented; ``nodes`` and
    ``findings`` have one compact object per line. Why: ``json.dumps(indent=...)`` uses
    CPython's pure-Python encoder, which took 1.3-2 s for the 90,000 findings of a 5,000-node
    cluster (40 MB), while the C encoder used per line takes 0.3 s. One finding per line is
    also what a line-based ``diff`` of two nightly reports wants. The findings' lines come
    from :func:`finding_lines`.
    """
    return dumps_report(report.to_dict(findings=False), {"findings": finding_lines(report)})


def _line_encoder(opts: dict[str, Any]) -> Callable[[Any], str]:
    """``json.JSONEncoder(separators=(", ", ": "), **opts).encode`` for one list item, with the
    C encoder built once (see :func:`auditor.jsonencode.reusable_encoder`)."""
    return reusable_encoder(json.JSONEncoder(separators=(", ", ": "), **opts))


_OPTS: dict[str, Any] = {"ensure_ascii": True, "allow_nan": False}
_ITEM = _line_encoder(_OPTS)
"""One list item's text (a node, a finding's evidence): built once for every report."""


def dumps_report(data: dict[str, Any], encoded: dict[str, list[str]] | None = None) -> str:
    """``data`` as the report's JSON text (valid JSON; ``json.loads`` gives ``data`` back).
    ``encoded``: a top-level list already encoded, one item's text per line, used instead of
    ``data``'s value for that key (the findings, see :func:`finding_lines`)."""
    item = _ITEM
    encoded = encoded or {}
    parts = []
    for key, value in data.items():
        head = "  " + json.dumps(key, **_OPTS) + ": "
        lines = encoded[key] if key in encoded else [item(v) for v in value] if (
            key in ONE_LINE_LISTS and isinstance(value, list)) else None
        if lines:
            parts.append(head + "[\n    " + ",\n    ".join(lines) + "\n  ]")
        elif lines is not None:
            parts.append(head + "[]")
        else:
            text = json.dumps(value, indent=2, **_OPTS)
            parts.append(head + text.replace("\n", "\n  "))
    return "{\n" + ",\n".join(parts) + "\n}\n" if parts else "{}\n"


_FINDING_LINE = "{" + ", ".join(f'"{key}": %s' for key in (
    "check_id", "status", "severity", "node", "subject", "message", "expected", "actual", "fixable", "file",
    "line", "details", "waiver", "expected_sources", "fix_command")) + "}"
"""A finding's line: the keys of finding_to_dict, in its order, each with its encoded value."""


def finding_lines(report: AuditReport) -> list[str]:
    """Each finding of ``report`` (sorted) as its line of the JSON report: exactly the per-line
    encoding of :func:`auditor.reports.model.finding_to_dict` (tests/reports/test_json_lines.py
    holds the two equal on every kind of value), which stays the definition of a finding's JSON.

    Why a second path: encoding a 15-key dict per finding spends most of its time on the keys
    and on building the dict; here the keys and the status and severity texts are constants
    and most values are None or a text (~1.2 -> ~0.8 s for 105,000 findings)."""
    item = _ITEM
    esc = json.encoder.encode_basestring_ascii  # what the ASCII encoder does to a text

    def raw(value: Any) -> str:  # a value finding_to_dict passes as it is
        return esc(value) if type(value) is str else item(value)

    def plain(value: Any) -> str:  # a value finding_to_dict passes through _plain
        return esc(value) if type(value) is str else "null" if value is None else item(_plain(value))

    enum_text = {key: esc(text) for key, text in ENUM_VALUE.items()}
    sources_text: dict[int, str] = {}  # id -> text: a few source maps are shared by thousands of findings
    out = []
    append = out.append
    for f in report.sorted_findings:
        node, file, line, details, sources = f.node, f.file, f.line, f.details, f.expected_sources
        if sources:
            key = id(sources)
            sources_json = sources_text.get(key)
            if sources_json is None:
                sources_json = sources_text[key] = item(sources_to_dict(sources))
        else:
            sources_json = "{}"
        check_id, subject, message = f.check_id, f.subject, f.message
        expected, actual, waiver = f.expected, f.actual, f.waiver
        append(_FINDING_LINE % (
            esc(check_id) if type(check_id) is str else raw(check_id),
            enum_text[f.status], enum_text[f.severity],
            "null" if node is None else esc(node) if type(node) is str else raw(node),
            esc(subject) if type(subject) is str else raw(subject),
            esc(message) if type(message) is str else raw(message),
            "null" if expected is None else esc(expected) if type(expected) is str else plain(expected),
            "null" if actual is None else esc(actual) if type(actual) is str else plain(actual),
            "true" if f.fixable is True else "false" if f.fixable is False else item(f.fixable),
            "null" if file is None else esc(file) if type(file) is str else raw(file),
            "null" if line is None else repr(line) if type(line) is int else item(line),
            "{}" if type(details) is dict and not details else item(_plain(details)),
            "null" if waiver is None else plain(waiver),
            sources_json,
            raw(fix_command(f, report)) if f.fixable else "null",
        ))
    return out
