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

__all__ = [
    "AuditReport",
    "NodeInfo",
    "RunMeta",
    "REPORT_SCHEMA_VERSION",
    "RENDERERS",
    "DEFAULT_FORMATS",
    "render_console",
    "render_csv",
    "render_html",
    "render_json",
    "render_junit",
]
