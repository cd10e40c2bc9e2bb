"""HTML report: one self-contained file (inline CSS, inline SVG, no JavaScript, no external
assets), rendered with Jinja2 with autoescape ON.

The page leads with what to do: the verdict, then the failing findings grouped by check with
the command that fixes them, then what changed since the last run, the nodes that could not be
audited, the node x check matrix (folded when large), and last the passes and the details.

Sections are data: :data:`SECTIONS` lists them in page order, each drawn by
``reports/templates/sections/<id>.html.j2`` from the context :func:`render_html` builds. Adding a
section is one template file, one :class:`Section` entry and, if it needs one, one context key.

Everything that came from a node (GUIDs, paths, values) reaches the template as plain
text and is escaped there. The only pre-built markup is the trend chart SVG, which is
generated here from numbers and dates with every text item escaped by :func:`html.escape`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from auditor.findings import Finding, Status
from auditor.reports.evidence import evidence_view, text_of
from auditor.reports.matrix import (
    NOT_RUN,
    UNREACHABLE,
    status_by_check,
    status_matrix,
    summary_counts,
    verdict,
)
from auditor.reports.model import CLUSTER_ROW, SEVERITIES_DESC, fix_command, fix_inventory
from auditor.reports.product_model import html_view

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

TEMPLATE = "report.html.j2"

NOT_AUDITED = "NOT AUDITED"
"""The one word for a node that could not be collected: banner, matrix, legend, node table."""

# Status -> (label shown in the cell, css class). Text carries the meaning; colour only helps.
CELL_LABELS = {
    "fail": ("FAIL", "st-fail"),
    "error": ("ERROR", "st-error"),
    "waived": ("WAIVED", "st-waived"),
    "pass": ("ok", "st-pass"),
    "skip": ("n/a", "st-skip"),
    NOT_RUN: ("-", "st-none"),
    UNREACHABLE: (NOT_AUDITED, "st-unreachable"),
}

SEVERITY_COLOURS = {
    "critical": "#7a0019",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#607d8b",
}

MATRIX_MAX_NODE_COLUMNS = 16
"""Up to this many nodes the matrix has a column per node and is shown open; above, a row per
node (quiet nodes folded into one line) inside a collapsed block."""
FINDINGS_SHOWN_PER_CHECK = 20
"""Findings of one check drawn open; the rest of that check's findings are in a collapsed block
(a check failing on 4,000 site servers must not bury the next check)."""
NODES_TABLE_OPEN_UP_TO = 50
"""The node table is collapsed above this many nodes."""


@dataclass(frozen=True)
class Section:
    """One part of the page, in :data:`SECTIONS` order, drawn by ``sections/<id>.html.j2``."""

    id: str
    nav: str  # the link text in the page's navigation
    shown: Callable[[dict[str, Any]], bool] = lambda ctx: True

    @property
    def template(self) -> str:
        return f"sections/{self.id}.html.j2"


SECTIONS: tuple[Section, ...] = (
    Section("failing", "What to fix"),
    Section("since", "Since last run", lambda c: c["since"] is not None),
    Section("trend", "Trend", lambda c: c["trend_svg"] is not None),
    Section("unreachable", "Not audited", lambda c: bool(c["unreachable"])),
    Section("matrix", "Node \u00d7 check matrix"),
    Section("product-model", "Product model", lambda c: c["product_model"] is not None),
    Section("waived", "Waived"),
    Section("passing", "Passes"),
    Section("nodes", "Nodes"),
    Section("checks", "Checks"),
    Section("run", "Run details"),
)

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _visible_controls(value: Any) -> Any:
    """Jinja ``finalize``: control characters (invalid in HTML, e.g. NUL from a corrupt
    file) become visible ``\\xNN`` text instead of vanishing or breaking the page.
    Markup (the SVG built here) passes through untouched."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def template_environment() -> jinja2.Environment:
    """The Jinja2 environment of every HTML page the tool writes (autoescape on, control
    characters made visible); the precheck page (``precheck.html.j2``) uses it too."""
    folder = resources.files("auditor.report_templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,  # every value is escaped unless it is explicitly Markup
        finalize=_visible_controls,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["text"] = text_of
    return env


def _finding_view(f: Finding, report: AuditReport) -> dict[str, Any]:
    return {
        "f": f,
        "node": f.node or CLUSTER_ROW,
        "subject": f.subject if f.subject not in (f.node, "cluster") else "",
        "evidence": evidence_view(f.expected, f.actual, f.details),
        # (what, value, "declared: cluster.yaml line 14") for each expectation's source
        "sources": [(what, text_of(e.value), e.source.label + (f": {e.detail}" if e.detail else ""))
                    for what, e in f.expected_sources.items()],
        "fix_command": fix_command(f, report) if f.fixable else "",
    }


def _check_groups(report: AuditReport) -> list[dict[str, Any]]:
    """Failing findings grouped by check, worst severity first: the rationale, remediation and
    the one command that fixes the whole check are shown once per check."""
    by_check: dict[str, list[Finding]] = {}
    for f in report.failing_findings:  # worst severity first already
        by_check.setdefault(f.check_id, []).append(f)
    inventory = shlex.quote(fix_inventory(report))
    groups = []
    for check_id, findings in by_check.items():
        meta = report.check(check_id)
        fixable = [f for f in findings if f.fixable and f.status == Status.FAIL]
        views = [_finding_view(f, report) for f in findings]
        groups.append({
            "id": check_id,
            "title": meta.title if meta else check_id,
            "rationale": meta.rationale if meta else "",
            "remediation": meta.remediation if meta else "",
            "severity": findings[0].severity.value,
            "count": len(findings),
            "nodes": len({f.node for f in findings}),
            "fixable": len(fixable),
            "fix_command": f"auditor fix --inventory {inventory} --check {check_id}" if fixable else "",
            "shown": views[:FINDINGS_SHOWN_PER_CHECK],
            "more": views[FINDINGS_SHOWN_PER_CHECK:],
        })
    return groups


def _matrix_view(report: AuditReport) -> dict[str, Any]:
    """Small clusters: checks as rows, nodes as columns (check titles fit as row headers), shown
    open. Large clusters (more than MATRIX_MAX_NODE_COLUMNS nodes): nodes as rows and checks as
    columns, nodes whose every cell is ok / n/a folded into one line, so 500 site servers do not
    bury the three that need attention, and the whole matrix starts collapsed."""
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
        return {"mode": "check-rows", "nodes": nodes, "unreachable": unreachable, "rows": rows, "checks": checks,
                "open": True}
    quiet_labels = {CELL_LABELS["pass"][0], CELL_LABELS["skip"][0], CELL_LABELS[NOT_RUN][0]}
    node_rows, quiet = [], []
    for node in nodes:
        cells = [cell(node, c["id"]) for c in checks]
        if node not in unreachable and all(c["label"] in quiet_labels for c in cells):
            quiet.append(node)
        else:
            node_rows.append({"node": node, "cells": cells})
    return {"mode": "node-rows", "nodes": nodes, "unreachable": unreachable, "rows": node_rows,
            "checks": checks, "quiet_nodes": quiet, "open": False}


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
    env = template_environment()
    summary = summary_counts(report)
    groups = _check_groups(report)
    fixable = sum(g["fixable"] for g in groups)
    passes = status_by_check(report)
    ctx: dict[str, Any] = {
        "report": report,
        "run": report.run,
        "summary": summary,
        "verdict": verdict(report, summary),
        "severities": [s.value for s in SEVERITIES_DESC],
        "severity_colours": SEVERITY_COLOURS,
        "not_audited": NOT_AUDITED,
        "unreachable": report.unreachable_nodes,
        "groups": groups,
        "fixable_total": fixable,
        "fix_all": f"auditor fix --inventory {shlex.quote(fix_inventory(report))}" if fixable else "",
        "from_snapshot": report.run.source_kind != "inventory",
        "matrix": _matrix_view(report),
        "waived": [_finding_view(f, report) for f in report.waived_findings],
        "passes": [{"id": c.id, "title": c.title, **passes[c.id]} for c in report.checks if c.id in passes],
        "nodes_open": len(report.nodes) <= NODES_TABLE_OPEN_UP_TO,
        "since": _since_view(report.since_last_run),
        "trend_svg": trend_svg(report.trend),
        "trend": report.trend,
        "checks": report.checks,
        "fail_on": report.run.fail_on,
        "over_threshold": len(report.failing_at_or_above(report.run.fail_on)),
        "product_model": html_view(report.product_model) if report.product_model is not None else None,
    }
    ctx["sections"] = [s for s in SECTIONS if s.shown(ctx)]
    return env.get_template(TEMPLATE).render(**ctx)
