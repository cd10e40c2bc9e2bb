"""Report formats. One ``AuditReport`` (``auditor.reports.model``) feeds every renderer.

``RENDERERS`` maps a ``--format`` name to (file name, render function); each render
function takes the report and returns text.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.reports.console import render_console
from auditor.reports.csv_report import render_csv
from auditor.reports.html import render_html
from auditor.reports.json_report import render_json
from auditor.reports.junit import render_junit
from auditor.reports.model import REPORT_SCHEMA_VERSION, AuditReport, NodeInfo, RunMeta

RENDERERS: dict[str, tuple[str, Callable[[AuditReport], str]]] = {
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
    "junit": ("junit.xml", render_junit),
    "csv": ("findings.csv", render_csv),
}
DEFAULT_FORMATS = ("html", "json")
# Relative CPU cost of each format at scale (5,000 nodes, 105,000 findings: csv 0.9 s, json 0.8 s,
# html 0.35 s, junit 0.3 s), to share the formats out among worker processes (auditor.forkjobs)
RELATIVE_COST = {"json": 0.8, "csv": 0.9, "junit": 0.3, "html": 0.35}


def prepare_shared(report: AuditReport) -> None:
    """Compute once what several renderers share (the sorted findings, the findings frame),
    before the formats are written in separate processes that would each compute it again."""
    from auditor.reports.matrix import findings_frame

    report.sorted_findings  # noqa: B018 (cached on the report)
    findings_frame(report)


__all__ = [
    "AuditReport",
    "NodeInfo",
    "RunMeta",
    "REPORT_SCHEMA_VERSION",
    "RELATIVE_COST",
    "RENDERERS",
    "prepare_shared",
    "DEFAULT_FORMATS",
    "render_console",
    "render_csv",
    "render_html",
    "render_json",
    "render_junit",
]
