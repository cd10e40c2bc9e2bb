"""The pandas matrix and summary against a straightforward Python reading of the same findings.

``auditor.reports.matrix`` groups categorical codes in pandas; this oracle walks the findings
one by one with the rule the docs state (a cell shows the worst status of its subjects, fail >
error > waived > pass > skip; ``unreachable`` for a node that could not be audited and has no
finding or only ``skip`` findings; ``-`` otherwise), so any slip in the category order, the reindexing or the unreachable
mask shows up as a mismatch on some generated report.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.findings import Finding, Severity, Status
from auditor.reports.matrix import severity_status_table, status_matrix, summary_counts
from auditor.reports.model import CLUSTER_ROW, STATUS_WORST_FIRST
from tests.reports.report_fixtures import CHECKS, make_report

NODES = ["MGMT1", "MGMT2", "SITE1", "SITE2", "GHOST"]  # GHOST: named by a finding, not a report node
CHECK_IDS = [c.id for c in CHECKS] + ["UNKNOWN-CHECK"]

findings_strategy = st.lists(
    st.builds(lambda check, status, sev, node, subject: Finding(check, status, sev, node, subject, "m"),
              st.sampled_from(CHECK_IDS), st.sampled_from(list(Status)), st.sampled_from(list(Severity)),
              st.sampled_from([*NODES, None]), st.sampled_from(["a", "b", "c"])),
    max_size=40)


def oracle_cell(report, node: str, check_id: str) -> str:
    statuses = [f.status for f in report.findings
                if f.check_id == check_id and (f.node or CLUSTER_ROW) == node]
    unreachable = node in {n.name for n in report.unreachable_nodes}
    if statuses and not (unreachable and set(statuses) == {Status.SKIP}):
        return min(statuses, key=STATUS_WORST_FIRST.index).value
    return "unreachable" if unreachable else "-"


@settings(max_examples=150, deadline=None)
@given(findings=findings_strategy, unreachable=st.booleans(), out_of_scope=st.booleans())
def test_matrix_and_summary_match_the_oracle(findings, unreachable, out_of_scope):
    report = make_report(unreachable=unreachable)
    report.findings = findings
    if out_of_scope:
        report.nodes[0].in_scope = False
    m = status_matrix(report)
    assert isinstance(m, pd.DataFrame)

    named = {f.node or CLUSTER_ROW for f in findings}
    head = ([CLUSTER_ROW] if CLUSTER_ROW in named else []) + [n.name for n in report.nodes if n.in_scope]
    assert list(m.index[: len(head)]) == head  # cluster row, then the report's nodes in order
    assert set(m.index[len(head):]) == named - set(head)  # then nodes only findings name
    assert len(m.index) == len(set(m.index))
    catalogue = [c for c in CHECK_IDS if c != "UNKNOWN-CHECK" and any(f.check_id == c for f in findings)]
    assert list(m.columns[: len(catalogue)]) == catalogue  # catalogue order first
    assert set(m.columns) == {f.check_id for f in findings}
    for node in m.index:
        for check_id in m.columns:
            assert m.loc[node, check_id] == oracle_cell(report, node, check_id), (node, check_id)

    s = summary_counts(report)
    for sev in Severity:
        for status in Status:
            n = sum(1 for f in findings if f.severity == sev and f.status == status)
            assert s["by_severity_status"][sev.value][status.value] == n
    assert s["by_status"] == {st_.value: sum(f.status == st_ for f in findings) for st_ in Status}
    assert s["failing_total"] == sum(f.failing for f in findings)
    assert s["checks_run"] == len({f.check_id for f in findings})
    assert all(type(v) is int for row in s["by_severity_status"].values() for v in row.values())
    table = severity_status_table(report)
    assert list(table.index) == ["critical", "high", "medium", "low", "info"]


def test_cached_frame_follows_changes_to_the_findings():
    """The frame is reused between the views of one report, never after its findings change."""
    import dataclasses

    report = make_report()
    assert status_matrix(report).loc["SITE1", "SPOC-MGMT-LIST"] == "fail"
    i = next(i for i, f in enumerate(report.findings) if f.node == "SITE1" and f.check_id == "SPOC-MGMT-LIST")
    report.findings[i] = dataclasses.replace(report.findings[i], status=Status.WAIVED)  # same length
    assert status_matrix(report).loc["SITE1", "SPOC-MGMT-LIST"] == "waived"
    assert summary_counts(report)["by_status"]["waived"] == 2
    report.findings = []
    assert summary_counts(report)["findings_total"] == 0
    assert status_matrix(report).empty
