"""pandas views of a report: the node x check matrix and the summary counts.

Kept in one place so HTML, console and JSON agree on what "worst status of a cell" and
"failing by severity" mean. Both views come from one findings frame with categorical
columns, so a 5,000-node audit (90,000 findings) is grouped in C, not in a Python loop:
status and severity are ordered categoricals whose codes rank them, the matrix is a
``groupby(...).max().unstack()`` of status codes and the summary a ``groupby(...).size()``
over severity x status.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# These views do no linear algebra, and numpy's OpenBLAS would otherwise start a pool of
# idle threads at import: a process with threads alive must not fork, which would make the
# report formats be written one by one (auditor.forkjobs). Only effective when numpy is not
# loaded yet; an admin's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from auditor.findings import Severity, Status
from auditor.reports.model import CLUSTER_ROW, SEVERITIES_DESC, STATUS_WORST_FIRST

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

NOT_RUN = "-"
"""Matrix cell with no finding (check not applicable to that node or filtered out)."""
UNREACHABLE = "unreachable"
"""Matrix cell of a node that could not be audited."""

# Ordered best -> worst, so the largest category code of a cell is its worst status.
STATUS_DTYPE = pd.CategoricalDtype([s.value for s in reversed(STATUS_WORST_FIRST)], ordered=True)
SEVERITY_DTYPE = pd.CategoricalDtype([s.value for s in reversed(SEVERITIES_DESC)], ordered=True)
_STATUS_CODE = {Status(v): i for i, v in enumerate(STATUS_DTYPE.categories)}
_SEVERITY_CODE = {Severity(v): i for i, v in enumerate(SEVERITY_DTYPE.categories)}
# cell label per (status code + 1); code -1 (no finding) -> NOT_RUN
_CELL_LABELS = np.array([NOT_RUN, *STATUS_DTYPE.categories], dtype=object)


def findings_frame(report: AuditReport) -> pd.DataFrame:
    """One row per finding: check_id, node (``(cluster)`` for cluster-wide findings), status
    and severity as ordered categoricals.

    Built once per report and reused while ``report.findings`` holds the same findings in the
    same order (the matrix, the summary of each format and the console all ask; at 90,000
    findings a build costs ~70 ms, the comparison ~1 ms). The frame depends only on the
    findings' values, so equal lists may share it.
    """
    fs = report.findings
    cached = report.__dict__.get("_findings_frame")
    if cached is not None and cached[0] == fs:  # C-speed: identical objects compare without __eq__
        return cached[1]
    frame = _build_frame(report)
    report.__dict__["_findings_frame"] = (list(fs), frame)
    return frame


def _build_frame(report: AuditReport) -> pd.DataFrame:
    fs = report.findings
    # codes from a dict lookup, then from_codes: no per-value string parsing by pandas
    return pd.DataFrame({
        "check_id": pd.Categorical([f.check_id for f in fs]),
        "node": pd.Categorical([f.node if f.node else CLUSTER_ROW for f in fs]),
        "status": pd.Categorical.from_codes(np.fromiter((_STATUS_CODE[f.status] for f in fs),
                                                        dtype=np.int8, count=len(fs)), dtype=STATUS_DTYPE),
        "severity": pd.Categorical.from_codes(np.fromiter((_SEVERITY_CODE[f.severity] for f in fs),
                                                          dtype=np.int8, count=len(fs)), dtype=SEVERITY_DTYPE),
    })


def _row_and_column_order(report: AuditReport, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Rows: the cluster row (when it has findings), then the report's nodes in scope, then any
    other node a finding names. Columns: the check catalogue order, then unknown check ids."""
    seen_nodes = list(frame["node"].cat.categories[frame["node"].cat.codes.unique()]) if len(frame) else []
    nodes = [CLUSTER_ROW] if CLUSTER_ROW in seen_nodes else []
    nodes += [n.name for n in report.nodes if n.in_scope]
    nodes = list(dict.fromkeys(nodes))
    known = set(nodes)
    nodes += [n for n in seen_nodes if n not in known]
    seen_checks = list(frame["check_id"].cat.categories[frame["check_id"].cat.codes.unique()]) if len(frame) else []
    seen = set(seen_checks)
    checks = list(dict.fromkeys(c.id for c in report.checks if c.id in seen))
    known = set(checks)
    checks += [c for c in seen_checks if c not in known]
    return nodes, checks


def status_matrix(report: AuditReport) -> pd.DataFrame:
    """Node x check matrix: index ``node``, columns ``check_id``.

    A cell holds the worst status among that node's subjects for the check, ``unreachable``
    for a node that could not be audited (where it has no finding of its own, or only the
    ``skip`` every check gives a node it could not see: one word for one fact), or ``-``.
    """
    frame = findings_frame(report)
    nodes, checks = _row_and_column_order(report, frame)
    codes = pd.DataFrame({"node": frame["node"], "check_id": frame["check_id"],
                          "code": frame["status"].cat.codes})
    worst = (codes.groupby(["node", "check_id"], observed=True, sort=False)["code"].max()
             .unstack("check_id")
             .reindex(index=pd.Index(nodes, dtype=object), columns=pd.Index(checks, dtype=object)))
    ranks = worst.fillna(-1).to_numpy(dtype=np.int16) + 1
    cells = _CELL_LABELS[ranks]  # fancy indexing keeps the shape, empty matrices included
    unreachable = np.isin(np.array(nodes, dtype=object), [n.name for n in report.unreachable_nodes])
    skipped = ranks == _STATUS_CODE[Status.SKIP] + 1
    cells[unreachable[:, None] & ((ranks == 0) | skipped)] = UNREACHABLE
    return pd.DataFrame(cells, index=pd.Index(nodes, name="node", dtype=object),
                        columns=pd.Index(checks, name="check_id", dtype=object))


def severity_status_table(report: AuditReport) -> pd.DataFrame:
    """Severity rows (worst first) x status columns (``Status`` order): finding counts, zeros
    included. The console prints it as is; the summary block is derived from it."""
    frame = findings_frame(report)
    counts = frame.groupby(["severity", "status"], observed=False).size().unstack("status")
    table = counts.reindex(index=[s.value for s in SEVERITIES_DESC],
                           columns=[s.value for s in Status], fill_value=0).astype(int)
    table.index.name, table.columns.name = "severity", None
    return table


def status_by_check(report: AuditReport) -> dict[str, dict[str, int]]:
    """Finding counts per check id and status (every status present, zeros included): the
    passes table of the HTML report."""
    frame = findings_frame(report)
    if not len(frame):
        return {}
    counts = (frame.groupby(["check_id", "status"], observed=True).size().unstack("status", fill_value=0)
              .reindex(columns=[s.value for s in Status], fill_value=0))
    return {str(cid): dict(zip(counts.columns, map(int, row), strict=True))
            for cid, row in zip(counts.index, counts.to_numpy().tolist(), strict=True)}


def summary_counts(report: AuditReport) -> dict[str, Any]:
    """The summary block of every format (all keys always present, zeros included)."""
    table = severity_status_table(report)
    fail, error = Status.FAIL.value, Status.ERROR.value
    statuses, severities = list(table.columns), list(table.index)
    cross = {sev: dict(zip(statuses, row, strict=True)) for sev, row in zip(severities, table.to_numpy().tolist(), strict=True)}
    by_status = dict(zip(statuses, table.sum(axis=0).tolist(), strict=True))
    failing_by_sev = dict(zip(severities, (table[fail] + table[error]).tolist(), strict=True))
    in_scope = [n for n in report.nodes if n.in_scope]
    return {
        "findings_total": len(report.findings),
        "by_status": by_status,
        "failing_by_severity": failing_by_sev,
        "by_severity_status": cross,
        "failing_total": sum(failing_by_sev.values()),
        "failing_at_or_above_fail_on": len(report.failing_at_or_above(report.run.fail_on)),
        "checks_run": len({f.check_id for f in report.findings}),
        "nodes_total": len(in_scope),
        "nodes_audited": sum(1 for n in in_scope if n.audited),
        "nodes_unreachable": len(report.unreachable_nodes),
    }


def verdict(report: AuditReport, summary: dict[str, Any] | None = None) -> str:
    """One line a person reads first: what state the cluster is in (pass the summary when
    the caller already has it)."""
    s = summary if summary is not None else summary_counts(report)
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
    "status_by_check",
    "verdict",
]
