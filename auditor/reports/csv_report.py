"""CSV report: one row per finding, for spreadsheets and ad-hoc filtering."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from auditor.findings import Finding
from auditor.reports.model import ENUM_VALUE, fix_command, format_value

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
    """One row per finding, in the report's order.

    Written for 100,000+ findings: the enum texts and each check's title are looked up once,
    a text cell that cannot start a formula skips :func:`_cell` (the same test, inline), and
    the rows go to ``csv.writer.writerows`` as tuples from one generator."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    titles = {c.id: _cell(c.title) for c in reversed(report.checks)}  # first wins, as title_of
    formula = frozenset(_FORMULA_START)
    cell = _cell
    values = ENUM_VALUE

    def row(f: Finding) -> tuple:
        waiver = f.waiver
        if waiver:
            reason, owner = cell(waiver.get("reason", "")), cell(waiver.get("owner", ""))
            expires = cell(waiver.get("expires", waiver.get("expiry", "")))
        else:
            reason = owner = expires = ""  # what _cell("") gives
        title = titles.get(f.check_id)
        node, subject, message, file = f.node or "", f.subject, f.message, f.file or ""
        expected, actual = f.expected, f.actual
        return (
            # node names come from the inventory or a snapshot manifest: as untrusted as values
            f.check_id, title if title is not None else cell(report.title_of(f.check_id)), values[f.severity],
            values[f.status],
            node if type(node) is str and node[:1] not in formula else cell(node),
            subject if type(subject) is str and subject[:1] not in formula else cell(subject),
            message if type(message) is str and message[:1] not in formula else cell(message),
            "" if expected is None else cell(expected), "" if actual is None else cell(actual),
            "yes" if f.fixable else "no", cell(fix_command(f, report)) if f.fixable else "",
            file if type(file) is str and file[:1] not in formula else cell(file), "" if f.line is None else f.line,
            reason, owner, expires,
        )

    w.writerows(map(row, report.sorted_findings))
    return buf.getvalue()
