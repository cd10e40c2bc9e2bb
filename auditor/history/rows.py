"""A finding as the history file stores it: its columns, its evidence as JSON text, and back.

Evidence (``expected``, ``actual``, ``details``, ``waiver``, ``expected_sources``) is stored as
JSON text with sorted keys, so the same evidence always reads the same and drift can compare
text. A 5,000-node run stores 100,000 findings (400,000 evidence values): the common shapes
(None, a string, an empty list or dict) skip the encoder, with exactly the text it would have
written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from enum import Enum
from typing import Any

from auditor.findings import FAILING_STATUSES, Finding, Severity, Status, sources_to_dict
from auditor.history.schema import SEVERITIES, STATUSES
from auditor.jsonencode import reusable_encoder


def _json_default(value: Any) -> Any:
    # Sets are sorted so the same evidence always serialises the same way (str() of a set
    # follows hash order, which changes between processes and would look like drift).
    if isinstance(value, (set, frozenset)):
        return sorted((_json_default(v) if not isinstance(v, (str, int, float)) else v for v in value), key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Enum):
        return value.value
    return str(value)


# json.dumps(value, sort_keys=True, default=_json_default, ensure_ascii=False), with the
# encoder (and its C encoder) built once
_ENCODE = reusable_encoder(json.JSONEncoder(sort_keys=True, default=_json_default, ensure_ascii=False))
_ENCODE_STR = json.encoder.encode_basestring  # what _ENCODE does with a str (ensure_ascii=False)


def to_json(value: Any) -> str | None:
    """The stored JSON text of a value (None stays NULL)."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return _ENCODE_STR(value)
    if (kind is dict or kind is list) and not value:
        return "{}" if kind is dict else "[]"
    return _ENCODE(value)


def from_json(text: str | None) -> Any:
    """The value of stored JSON text (a fresh object each call: callers may change it)."""
    # Most stored evidence is null, [] or {}: skipping the JSON parser for those saves ~1 s
    # when a 5,000-node run (4 JSON columns x 90,000 findings) is loaded for drift.
    if text is None or text == "null":
        return None
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


# member or value -> value: Status and Severity are str enums, so a member and its value are
# the same dict key (an unknown value still raises ValueError from the enum, as before)
_STATUS_TEXT = {m: m.value for m in Status}
_SEVERITY_TEXT = {m: m.value for m in Severity}


def status_text(status: Status | str) -> str:
    text = _STATUS_TEXT.get(status)
    return text if text is not None else Status(status).value


def severity_text(severity: Severity | str) -> str:
    text = _SEVERITY_TEXT.get(severity)
    return text if text is not None else Severity(severity).value


def finding_bodies(findings: Iterable[Finding]) -> list[tuple[Any, ...]]:
    """Each finding's stored columns (:data:`auditor.history.stored_once.FINDING_COLUMNS`)."""
    return [
        (f.check_id, f.subject, f.node, status_text(f.status), severity_text(f.severity), f.message or "",
         to_json(f.expected), to_json(f.actual), 1 if f.fixable else 0, f.file, f.line,
         to_json(f.details) if f.details else None, to_json(f.waiver),
         to_json(sources_to_dict(f.expected_sources)) if f.expected_sources else None)
        for f in findings
    ]


def run_counts(pairs: Counter[tuple[str, str]]) -> dict[str, Any]:
    """Counts by status and failing counts (fail + error) by severity, from the number of
    findings per (status, severity) value."""
    by_status = {s: 0 for s in STATUSES}
    failing = {s: 0 for s in SEVERITIES}
    for (status, severity), n in pairs.items():
        by_status[status] += n
        if status in FAILING_STATUSES:
            failing[severity] += n
    return {"status": by_status, "failing": failing}
