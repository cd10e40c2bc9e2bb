"""JSON report: ``AuditReport.to_dict()`` serialised (schema in docs/report-schema.md/.json)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport


def render_json(report: AuditReport) -> str:
    """Pretty, deterministic (sorted finding order) and ASCII-only, so it diffs and mails well."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=True, allow_nan=False) + "\n"
