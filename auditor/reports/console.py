"""Console summary printed after every audit (tabulate): what an admin sees in the terminal
or the CI log before opening the HTML report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from auditor.reports.matrix import summary_counts, verdict
from auditor.reports.model import format_value

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

MAX_FINDING_ROWS = 25
MAX_CELL = 60


def _short(value: object, width: int = MAX_CELL) -> str:
    text = " ".join(format_value(value).split())  # one line, control chars and newlines folded
    text = "".join(ch for ch in text if ch.isprintable())
    return text if len(text) <= width else text[: width - 3] + "..."


def render_console(report: AuditReport, written: Sequence[Path] = (), *, details: bool = True) -> str:
    """The summary table (always), failing findings (unless ``details`` is False), the
    unreachable nodes and the path of each written file."""
    s = summary_counts(report)
    out: list[str] = []
    out.append(f"Audit of {s['nodes_audited']}/{s['nodes_total']} node(s), {s['checks_run']} check(s): "
               f"{verdict(report, s)}")
    table = s["by_severity_status"]  # matrix.severity_status_table() as plain dicts
    columns = list(next(iter(table.values())))
    rows = [[sev, *[int(counts[c]) for c in columns]] for sev, counts in table.items()]
    out.append(tabulate(rows, headers=["severity", *columns], tablefmt="simple"))

    for warning in report.run.warnings:
        out.append(f"warning: {_short(warning, 200)}")

    if report.unreachable_nodes:
        out.append("")
        out.append("NOT AUDITED (could not collect):")
        # names and addresses come from the inventory or a snapshot: printable text only, so a
        # name carrying terminal escape sequences cannot repaint or retitle the admin's terminal
        out.append(tabulate([[_short(n.name), _short(n.address), n.status, _short(n.reason, 80)]
                             for n in report.unreachable_nodes],
                            headers=["node", "address", "status", "reason"], tablefmt="simple"))

    failing = report.failing_findings
    if details and failing:
        out.append("")
        out.append("Failing findings:")
        rows = [[f.severity.value, f.status.value, f.check_id, _short(f.node) if f.node else "(cluster)",
                 _short(f.subject, 30),
                 _short(f.message)] for f in failing[:MAX_FINDING_ROWS]]
        out.append(tabulate(rows, headers=["severity", "status", "check", "node", "subject", "message"],
                            tablefmt="simple"))
        if len(failing) > MAX_FINDING_ROWS:
            out.append(f"... and {len(failing) - MAX_FINDING_ROWS} more (see the report)")

    if written:
        out.append("")
        out.append("Reports written:")
        out.extend(f"  {p}" for p in written)
    return "\n".join(out) + "\n"
