"""Console summary printed after every audit (tabulate): what an admin sees in the terminal
or the CI log before opening the HTML report, ending with what to do next.

Long messages wrap to the terminal width instead of being cut (the expected value is often at
the end of a message); ``width=None`` (``auditor audit --wide``) keeps one line per finding for
logs and grep. Every value is folded to printable text here, before tabulate sees it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from auditor.findings import Status
from auditor.reports.matrix import summary_counts, verdict
from auditor.reports.model import CLUSTER_ROW, fix_inventory, format_value
from auditor.safetext import one_line

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

MAX_FINDING_ROWS = 25
MIN_WRAP = 24  # narrowest column a wrapped message gets, however narrow the terminal


def _clean(value: object) -> str:
    """One line of text: newlines and tabs folded, control characters shown as escapes (a
    name carrying terminal escape sequences cannot repaint or retitle the admin's terminal,
    and the admin sees that it carries them)."""
    return one_line(" ".join(format_value(value).split()))


def wrapped_table(rows: list[list[str]], headers: list[str], width: int | None, wrap: int) -> str:
    """A tabulate table whose column ``wrap`` (the free text) wraps to fit ``width`` (None: never)."""
    maxcolwidths = None
    if width is not None and rows:
        # tabulate's "simple" columns are at least the header plus 2 wide, 2 spaces apart
        fixed = sum(max(len(headers[i]) + 2, *(len(r[i]) for r in rows)) for i in range(len(headers)) if i != wrap)
        room = width - fixed - 2 * (len(headers) - 1)
        maxcolwidths = [None] * len(headers)
        maxcolwidths[wrap] = max(MIN_WRAP, room)
    return tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=maxcolwidths, disable_numparse=True,
                    break_long_words=False, break_on_hyphens=False)  # GUIDs and paths stay whole


def _item(subject: str, node: str | None) -> str:
    """What a subject adds to its node (``SITE1:serverGUID3`` -> ``serverGUID3``); "" when it
    only repeats the node."""
    if node and subject.lower() == node.lower():
        return ""
    if node and subject.lower().startswith(node.lower() + ":"):
        return subject[len(node) + 1:]
    return "" if subject == "cluster" and node is None else subject


def _failing_table(report: AuditReport, width: int | None) -> list[str]:
    failing = report.failing_findings
    shown = failing[:MAX_FINDING_ROWS]
    items = [_clean(_item(f.subject, f.node)) for f in shown]
    with_item = any(items)  # the column only when some subject says more than its node
    rows = []
    for f, item in zip(shown, items, strict=True):
        row = [f.severity.value, f.status.value, f.check_id, _clean(f.node) if f.node else CLUSTER_ROW]
        rows.append([*row, item, _clean(f.message)] if with_item else [*row, _clean(f.message)])
    headers = ["severity", "status", "check", "node", *(["item"] if with_item else []), "message"]
    out = ["", "Failing findings:", wrapped_table(rows, headers, width, len(headers) - 1)]
    if len(failing) > MAX_FINDING_ROWS:
        out.append(f"... and {len(failing) - MAX_FINDING_ROWS} more (see the report)")
    return out


def since_line(report: AuditReport) -> str | None:
    """One line of what changed since the last run, from the history (None without history)."""
    since: dict[str, Any] | None = report.since_last_run
    if since is None:
        if report.run.run_id is None:
            return None
        return "First run recorded for this cluster: the next run will show what changed."
    base = "the pinned baseline" if since.get("baseline_kind") == "pinned" else "the previous run"
    ref = since.get("baseline_run")
    when = since.get("baseline_finished_at")
    where = f" (run {ref}{', ' + str(when) if when else ''})" if ref is not None else ""
    parts = [f"{len(since.get('new') or [])} new", f"{len(since.get('resolved') or [])} resolved failing finding(s)"]
    for key, label in (("changed", "changed finding(s)"), ("config_changes", "configuration value(s) changed"),
                       ("nodes", "node change(s)")):
        if since.get(key):
            parts.append(f"{len(since[key])} {label}")
    return f"Since {base}{where}: " + ", ".join(parts) + "."


def next_steps(report: AuditReport, written: Sequence[Path]) -> list[str]:
    """What to do now: the fix command when something is fixable, where the rest is explained,
    the nodes to reach, and one line of change since the last run."""
    failing = report.failing_findings
    fixable = [f for f in failing if f.fixable and f.status == Status.FAIL]
    manual = len(failing) - len(fixable)
    html = next((p for p in written if p.suffix == ".html"), None)
    out: list[str] = []
    if fixable:
        out.append(f"  {len(fixable)} finding(s) fixable: auditor fix --inventory {shlex.quote(fix_inventory(report))}")
        out.append("    (shows the plan, changing nothing; add --apply to repair, one node at a time)")
    if manual:
        where = f"see {html}" if html else "see the report"
        out.append(f"  {manual} finding(s) to repair by hand: {where}")
        out.append("    (auditor checks ID explains a check and how to repair it)")
    if report.unreachable_nodes:
        out.append(f"  {len(report.unreachable_nodes)} node(s) not audited: fix access (reasons above), "
                   "then run the audit again")
    model = report.product_model
    if model is not None and model.contradicted:
        where = f"\"Product model\" in {html}" if html else "auditor profile verify"
        out.append(f"  {len(model.contradicted)} product fact(s) of the profile contradicted by this cluster, "
                   f"the checks relying on them may be wrong: see {where} (docs/first-contact.md)")
    if not out:
        out.append("  Nothing to do: every check passed on every node.")
    since = since_line(report)
    return ["", "Next steps:", *out, *([since] if since else [])]


def render_console(report: AuditReport, written: Sequence[Path] = (), *, details: bool = True,
                   width: int | None = 100) -> str:
    """The summary table (always), failing findings (unless ``details`` is False), the
    unreachable nodes, the path of each written file and the next steps. Text wraps to
    ``width`` columns; ``None`` never wraps."""
    s = summary_counts(report)
    out: list[str] = []
    out.append(f"Audit of {s['nodes_audited']}/{s['nodes_total']} node(s), {s['checks_run']} check(s): "
               f"{verdict(report, s)}")
    table = s["by_severity_status"]  # matrix.severity_status_table() as plain dicts
    columns = list(next(iter(table.values())))
    rows = [[sev, *[int(counts[c]) for c in columns]] for sev, counts in table.items()]
    out.append(tabulate(rows, headers=["severity", *columns], tablefmt="simple"))

    for warning in report.run.warnings:
        out.append(f"warning: {_clean(warning)}")

    if report.unreachable_nodes:
        out.append("")
        out.append("NOT AUDITED (could not collect):")
        out.append(wrapped_table([[_clean(n.name), _clean(n.address), _clean(n.status), _clean(n.reason)]
                                 for n in report.unreachable_nodes], ["node", "address", "status", "reason"], width, 3))

    if details and report.failing_findings:
        out.extend(_failing_table(report, width))

    if written:
        out.append("")
        out.append("Reports written:")
        out.extend(f"  {p}" for p in written)
    out.extend(next_steps(report, written))
    return "\n".join(out) + "\n"
