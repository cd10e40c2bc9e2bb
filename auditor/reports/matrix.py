"""pandas views of a report: the node x check matrix and the summary counts.

Kept in one place so HTML, console and JSON agree on what "worst status of a cell" and
"failing by severity" mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from auditor.findings import Severity, Status
from auditor.reports.model import CLUSTER_ROW, SEVERITIES_DESC, STATUS_WORST_FIRST

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

NOT_RUN = "-"
"""Matrix cell with no finding (check not applicable to that node or filtered out)."""
UNREACHABLE = "unreachable"
"""Matrix cell of a node that could not be audited."""

_RANK = {s.value: len(STATUS_WORST_FIRST) - i for i, s in enumerate(STATUS_WORST_FIRST)}
_BY_RANK = {v: k for k, v in _RANK.items()}


def findings_frame(report: AuditReport) -> pd.DataFrame:
    """One row per finding with the columns the views need."""
    rows = [
        {
            "check_id": f.check_id,
            "node": f.node if f.node else CLUSTER_ROW,
            "subject": f.subject,
            "status": f.status.value,
            "severity": f.severity.value,
            "failing": f.failing,
        }
        for f in report.findings
    ]
    return pd.DataFrame(rows, columns=["check_id", "node", "subject", "status", "severity", "failing"])


def status_matrix(report: AuditReport) -> pd.DataFrame:
    """Rows: nodes (report order, cluster row first when present); columns: check ids.

    A cell holds the worst status among that node's subjects for the check, ``unreachable``
    for a node that could not be audited (when it has no finding of its own), or ``-``.
    """
    df = findings_frame(report)
    node_order = [n.name for n in report.nodes if n.in_scope]
    if (df["node"] == CLUSTER_ROW).any():
        node_order = [CLUSTER_ROW, *node_order]
    extra_nodes = [n for n in dict.fromkeys(df["node"]) if n not in node_order]
    node_order += extra_nodes
    check_order = [c.id for c in report.checks if c.id in set(df["check_id"])]
    check_order += [c for c in dict.fromkeys(df["check_id"]) if c not in check_order]

    if df.empty:
        matrix = pd.DataFrame(index=pd.Index(node_order, name="node"),
                              columns=pd.Index(check_order, name="check_id"), dtype=object)
    else:
        ranked = df.assign(rank=df["status"].map(_RANK))
        worst = ranked.groupby(["node", "check_id"])["rank"].max().unstack("check_id")
        matrix = worst.reindex(index=node_order, columns=check_order)
        matrix = matrix.astype(object).map(lambda r: _BY_RANK[int(r)] if pd.notna(r) else None)
        matrix.index.name = "node"
        matrix.columns.name = "check_id"
    unreachable = {n.name for n in report.unreachable_nodes}
    filled = {
        node: [v if isinstance(v, str) else (UNREACHABLE if node in unreachable else NOT_RUN)
               for v in matrix.loc[node].tolist()]
        for node in matrix.index
    }
    out = pd.DataFrame.from_dict(filled, orient="index", columns=list(matrix.columns), dtype=object)
    out.index.name = "node"
    out.columns.name = "check_id"
    return out


def summary_counts(report: AuditReport) -> dict[str, Any]:
    """The summary block of every format (all keys always present, zeros included)."""
    df = findings_frame(report)
    statuses = [s.value for s in Status]
    severities = [s.value for s in SEVERITIES_DESC]
    by_status = df["status"].value_counts().reindex(statuses, fill_value=0)
    failing = df[df["failing"].astype(bool)]
    failing_by_sev = failing["severity"].value_counts().reindex(severities, fill_value=0)
    if df.empty:
        cross = pd.DataFrame(0, index=severities, columns=statuses)
    else:
        cross = pd.crosstab(df["severity"], df["status"]).reindex(index=severities, columns=statuses, fill_value=0)
    in_scope = [n for n in report.nodes if n.in_scope]
    fail_on = report.run.fail_on
    return {
        "findings_total": int(len(df)),
        "by_status": {k: int(v) for k, v in by_status.items()},
        "failing_by_severity": {k: int(v) for k, v in failing_by_sev.items()},
        "by_severity_status": {sev: {st: int(cross.loc[sev, st]) for st in statuses} for sev in severities},
        "failing_total": int(len(failing)),
        "failing_at_or_above_fail_on": len(report.failing_at_or_above(fail_on)),
        "checks_run": int(df["check_id"].nunique()),
        "nodes_total": len(in_scope),
        "nodes_audited": sum(1 for n in in_scope if n.audited),
        "nodes_unreachable": len(report.unreachable_nodes),
    }


def severity_status_table(report: AuditReport) -> pd.DataFrame:
    """Severity rows x status columns, for the console and HTML summary."""
    counts = summary_counts(report)["by_severity_status"]
    frame = pd.DataFrame.from_dict(counts, orient="index")
    frame.index.name = "severity"
    return frame


def verdict(report: AuditReport) -> str:
    """One line a person reads first: what state the cluster is in."""
    s = summary_counts(report)
    parts = []
    if s["nodes_unreachable"]:
        parts.append(f"{s['nodes_unreachable']} node(s) NOT AUDITED")
    if s["failing_total"]:
        worst = next(sev for sev in SEVERITIES_DESC if s["failing_by_severity"][sev.value])
        parts.append(f"{s['failing_total']} failing finding(s), worst {worst.value.upper()}")
    if not parts:
        return "CLEAN: no failing findings"
    return "; ".join(parts)


__all__ = [
    "NOT_RUN",
    "UNREACHABLE",
    "findings_frame",
    "status_matrix",
    "summary_counts",
    "severity_status_table",
    "verdict",
    "Severity",
]
