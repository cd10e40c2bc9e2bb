"""CSV report: one row per finding, for spreadsheets and ad-hoc filtering."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from auditor.reports.model import finding_sort_key, fix_command, format_value

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

COLUMNS = [
    "check_id", "title", "severity", "status", "node", "subject", "message", "expected", "actual",
    "fixable", "fix_command", "file", "line", "waiver_reason", "waiver_owner", "waiver_expires",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Text for one cell. Values copied from remote config files could start with ``=`` and
    run as a spreadsheet formula when an admin opens the file; such cells get a leading
    apostrophe (the usual CSV-injection defence), which spreadsheets display as text."""
    text = value if type(value) is str else format_value(value)
    if text[:1] in _FORMULA_START:
        return "'" + text
    return text


def render_csv(report: AuditReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    titles = {c.id: _cell(c.title) for c in reversed(report.checks)}  # first wins, as title_of
    for f in sorted(report.findings, key=finding_sort_key):
        waiver = f.waiver or {}
        title = titles.get(f.check_id)
        w.writerow([
            # node names come from the inventory or a snapshot manifest: as untrusted as values
            f.check_id, title if title is not None else _cell(report.title_of(f.check_id)), f.severity.value,
            f.status.value, _cell(f.node or ""),
            _cell(f.subject), _cell(f.message), _cell(f.expected), _cell(f.actual),
            "yes" if f.fixable else "no", _cell(fix_command(f, report)) if f.fixable else "",
            _cell(f.file or ""), "" if f.line is None else f.line,
            _cell(waiver.get("reason", "")), _cell(waiver.get("owner", "")),
            _cell(waiver.get("expires", waiver.get("expiry", ""))),
        ])
    return buf.getvalue()
