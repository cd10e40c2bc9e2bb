"""Failing counts over recent runs, and a self-contained SVG chart of them.

The chart is built here as plain SVG text so the HTML report needs no JavaScript library or
CDN (it is opened on admin workstations that often have no internet access). Every piece of
text placed in the markup goes through :func:`_esc`.
"""

from __future__ import annotations

import sqlite3
from html import escape
from typing import Any

from auditor.history.store import SEVERITIES, list_runs

# Highest severity first: drawn at the bottom of each stacked bar, first in the legend.
_ORDER: tuple[str, ...] = tuple(reversed(SEVERITIES))
_COLORS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#f59e0b",
    "low": "#3b82f6",
    "info": "#9ca3af",
}


def trend(db: sqlite3.Connection, limit: int = 30, cluster: str | None = None) -> list[dict[str, Any]]:
    """The last ``limit`` runs, oldest first: ``{"run_id", "finished_at", "cluster",
    "failing": {severity: count}, "failing_total", "nodes_unreachable", "exit_code"}``.

    "Failing" is fail + error (an error means the state is unknown, never a pass); waived
    findings are not failing.
    """
    runs = list_runs(db, limit=limit, cluster=cluster)
    out = []
    for r in reversed(runs):
        out.append({
            "run_id": r.id,
            "finished_at": r.finished_at,
            "cluster": r.cluster,
            "failing": {s: r.failing.get(s, 0) for s in _ORDER},
            "failing_total": r.failing_total,
            "nodes_unreachable": r.nodes_unreachable,
            "exit_code": r.exit_code,
        })
    return out


def _esc(text: Any) -> str:
    return escape(str(text), quote=True)


def _nice_max(value: int) -> int:
    """A round axis maximum >= value (1, 2, 5, 10, 20, 50 ...)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= value:
                return step * m
        step *= 10


def render_trend_svg(points: list[dict[str, Any]], *, width: int = 720, height: int = 240,
                     title: str = "Failing findings by severity") -> str:
    """Stacked bars of failing counts per run (oldest left), with axis, legend and tooltips.

    ``points`` is what :func:`trend` returns (only ``run_id``, ``finished_at`` and
    ``failing`` are used). Returns a complete ``<svg>`` element, valid XML, to inline into
    HTML; an empty list gives a small "no history yet" chart rather than nothing.
    """
    left, right, top, bottom = 44, 12, 34, 46
    legend_y = 16
    plot_w = width - left - right
    plot_h = height - top - bottom
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="Segoe UI, Arial, sans-serif" font-size="11">',
        f"<title>{_esc(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    # legend
    x = left
    for sev in _ORDER:
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{_COLORS[sev]}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}">{_esc(sev)}</text>')
        x += 14 + 7 * len(sev) + 16

    if not points:
        parts.append(f'<text x="{width / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                     f'fill="#6b7280">{_esc("no history yet")}</text>')
        parts.append("</svg>")
        return "\n".join(parts)

    totals = [sum(int(v) for v in p.get("failing", {}).values()) for p in points]
    ymax = _nice_max(max(totals))
    # y axis with 0, half and max gridlines
    for frac in (0.0, 0.5, 1.0):
        val = ymax * frac
        y = top + plot_h - plot_h * frac
        label = f"{val:g}"
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#374151">{_esc(label)}</text>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#9ca3af"/>')

    n = len(points)
    slot = plot_w / n
    bar_w = max(2.0, min(36.0, slot * 0.7))
    label_every = max(1, round(n / 12))  # at most ~12 x labels
    for i, (p, total) in enumerate(zip(points, totals, strict=True)):
        cx = left + slot * i + slot / 2
        x0 = cx - bar_w / 2
        y = top + plot_h
        failing = p.get("failing", {})
        tip = f"run {p.get('run_id')} ({p.get('finished_at') or '?'}): {total} failing" + "".join(
            f", {sev} {int(failing.get(sev, 0))}" for sev in _ORDER if int(failing.get(sev, 0))
        )
        parts.append(f'<g class="run" data-run="{_esc(p.get("run_id"))}"><title>{_esc(tip)}</title>')
        if total == 0:
            parts.append(f'<rect x="{x0:.1f}" y="{y - 1:.1f}" width="{bar_w:.1f}" height="1" fill="#10b981"/>')
        for sev in _ORDER:
            count = int(failing.get(sev, 0))
            if count <= 0:
                continue
            h = plot_h * count / ymax
            y -= h
            parts.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{_COLORS[sev]}"><title>{_esc(f"{sev}: {count}")}</title></rect>')
        parts.append("</g>")
        if i % label_every == 0 or i == n - 1:
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle" fill="#374151">'
                         f'{_esc(p.get("run_id"))}</text>')
            date = str(p.get("finished_at") or "")[:10]
            if date:
                parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 27}" text-anchor="middle" '
                             f'fill="#6b7280" font-size="9">{_esc(date[5:])}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="#6b7280">'
                 f'{_esc("run (month-day finished, UTC)")}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
