"""HTML report: one self-contained file (inline CSS, inline SVG, no JavaScript, no external
assets), rendered with Jinja2 with autoescape ON.

Everything that came from a node (GUIDs, paths, values) reaches the template as plain
text and is escaped there. The only pre-built markup is the trend chart SVG, which is
generated here from numbers and dates with every text item escaped by :func:`html.escape`.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from auditor.findings import Finding, Status
from auditor.reports.matrix import NOT_RUN, UNREACHABLE, status_matrix, summary_counts, verdict
from auditor.reports.model import CLUSTER_ROW, SEVERITIES_DESC, finding_sort_key, fix_command, format_value

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

TEMPLATE = "report.html.j2"

# Status -> (label shown in the cell, css class). Text carries the meaning; colour only helps.
CELL_LABELS = {
    "fail": ("FAIL", "st-fail"),
    "error": ("ERROR", "st-error"),
    "waived": ("WAIVED", "st-waived"),
    "pass": ("ok", "st-pass"),
    "skip": ("n/a", "st-skip"),
    NOT_RUN: ("-", "st-none"),
    UNREACHABLE: ("NOT AUDITED", "st-unreachable"),
}

SEVERITY_COLOURS = {
    "critical": "#7a0019",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#607d8b",
}


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _visible_controls(value: Any) -> Any:
    """Jinja ``finalize``: control characters (invalid in HTML, e.g. NUL from a corrupt
    file) become visible ``\\xNN`` text instead of vanishing or breaking the page.
    Markup (the SVG built here) passes through untouched."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def _environment() -> jinja2.Environment:
    folder = resources.files("auditor.report_templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,  # every value is escaped unless it is explicitly Markup
        finalize=_visible_controls,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["value"] = format_value
    return env


def _finding_view(f: Finding, report: AuditReport) -> dict[str, Any]:
    check = report.check(f.check_id)
    return {
        "f": f,
        "title": check.title if check else f.check_id,
        "rationale": check.rationale if check else "",
        "remediation": check.remediation if check else "",
        "expected": format_value(f.expected),
        "actual": format_value(f.actual),
        "has_evidence": f.expected is not None or f.actual is not None,
        "fix_command": fix_command(f, report) if f.fixable else "",
        "node": f.node or CLUSTER_ROW,
    }


MATRIX_MAX_NODE_COLUMNS = 16
_QUIET_CELLS = {"ok", "n/a", "-"}


def _matrix_view(report: AuditReport) -> dict[str, Any]:
    """Small clusters: checks as rows, nodes as columns (check titles fit as row headers).
    Large clusters (more than MATRIX_MAX_NODE_COLUMNS nodes): nodes as rows and checks as
    columns, and nodes whose every cell is ok / n/a are folded into one line, so 500 site
    servers do not bury the three that need attention."""
    matrix = status_matrix(report)
    nodes, check_ids = matrix.index.tolist(), matrix.columns.tolist()
    unreachable = {n.name for n in report.unreachable_nodes}
    # the matrix as plain dicts once: one DataFrame ``.loc`` per cell costs ~80 us, i.e. 7 s
    # for 5,000 nodes x 18 checks
    table = {node: dict(zip(check_ids, cells, strict=True))
             for node, cells in zip(nodes, matrix.to_numpy().tolist(), strict=True)}

    def cell(node: str, check_id: str) -> dict[str, str]:
        value = table[node][check_id]
        label, css = CELL_LABELS.get(value, (value, "st-none"))
        return {"node": node, "check": check_id, "label": label, "css": css}

    checks = []
    for check_id in check_ids:
        meta = report.check(check_id)
        checks.append({"id": check_id, "title": meta.title if meta else "",
                       "severity": meta.severity.value if meta else ""})
    if len(nodes) <= MATRIX_MAX_NODE_COLUMNS:
        rows = [dict(c, cells=[cell(node, c["id"]) for node in nodes]) for c in checks]
        return {"mode": "check-rows", "nodes": nodes, "unreachable": unreachable, "rows": rows, "checks": checks}
    node_rows, quiet = [], []
    for node in nodes:
        cells = [cell(node, c["id"]) for c in checks]
        if node not in unreachable and all(c["label"] in _QUIET_CELLS for c in cells):
            quiet.append(node)
        else:
            node_rows.append({"node": node, "cells": cells})
    return {"mode": "node-rows", "nodes": nodes, "unreachable": unreachable, "rows": node_rows,
            "checks": checks, "quiet_nodes": quiet}


def trend_svg(trend: list[dict[str, Any]] | None) -> Markup | None:
    """The history's trend chart (inline SVG, every text escaped), or None without a trend.

    One chart implementation serves the API and the report: auditor.history.render_trend_svg.
    """
    if not trend:
        return None
    from auditor.history.trend import render_trend_svg

    return Markup(render_trend_svg(trend[-30:], title="Failing findings per run, by severity"))


def _since_view(since: dict[str, Any] | None) -> dict[str, Any] | None:
    if since is None:
        return None

    def lst(key: str) -> list[dict[str, Any]]:
        value = since.get(key) or []
        return [v for v in value if isinstance(v, dict)]

    # Shape written by auditor.history.drift.Drift.to_dict (baseline_*); previous_* accepted too.
    return {
        "baseline_run": since.get("baseline_run", since.get("previous_run_id")),
        "baseline_kind": since.get("baseline_kind") or "previous",
        "baseline_finished_at": since.get("baseline_finished_at", since.get("previous_finished_at")),
        "new": lst("new"),
        "resolved": lst("resolved"),
        "changed": lst("changed"),
        "config_changes": lst("config_changes"),
        "nodes": lst("nodes"),
    }


def render_html(report: AuditReport) -> str:
    env = _environment()
    failing = report.failing_findings
    # severity -> check -> findings: the rationale and remediation are shown once per check
    groups = []
    for sev in SEVERITIES_DESC:
        at_sev = [f for f in failing if f.severity == sev]
        if not at_sev:
            continue
        checks: dict[str, list[dict[str, Any]]] = {}
        for f in at_sev:
            checks.setdefault(f.check_id, []).append(_finding_view(f, report))
        groups.append({
            "severity": sev.value,
            "count": len(at_sev),
            "checks": [{"id": cid, "meta": report.check(cid), "title": views[0]["title"],
                        "rationale": views[0]["rationale"], "remediation": views[0]["remediation"],
                        "findings": views} for cid, views in checks.items()],
        })
    waived = [_finding_view(f, report) for f in report.waived_findings]
    passing = sorted((f for f in report.findings if f.status == Status.PASS), key=finding_sort_key)
    summary = summary_counts(report)
    return env.get_template(TEMPLATE).render(
        report=report,
        run=report.run,
        summary=summary,
        verdict=verdict(report, summary),
        severities=[s.value for s in SEVERITIES_DESC],
        severity_colours=SEVERITY_COLOURS,
        unreachable=report.unreachable_nodes,
        matrix=_matrix_view(report),
        groups=groups,
        waived=waived,
        passing_count=len(passing),
        since=_since_view(report.since_last_run),
        trend_svg=trend_svg(report.trend),
        trend=report.trend,
        checks=report.checks,
        fail_on=report.run.fail_on,
        over_threshold=len(report.failing_at_or_above(report.run.fail_on)),
        value=format_value,
    )
