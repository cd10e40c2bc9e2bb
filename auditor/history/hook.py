"""The audit pipeline's history hook (``auditor.audit.HistoryHook``).

``run_audit(..., history=HistoryRecorder(path, cluster=..., profile=...))`` records the run
and fills ``report.run.run_id``, ``report.since_last_run`` and ``report.trend``. The report
object is only read through a few attributes (duck typing) so history does not depend on
the report module's internals, and the store itself only ever sees a :class:`RunRecord`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.history.config_values import config_values_from_nodes
from auditor.history.drift import drift_for_report
from auditor.history.node_seconds import previous_collection_seconds
from auditor.history.schema import HistoryError, connect
from auditor.history.store import NodeRecord, RunRecord, record_run
from auditor.history.trend import trend
from auditor.profile import Profile


def run_record_from_report(report: Any, *, nodes: Sequence[Any] = (), exit_code: int | None = None,
                           cluster: str = "", profile: Any = None, keep_config: bool = True,
                           node_seconds: Mapping[str, float] | None = None, model: Any = None) -> RunRecord:
    """Build a :class:`RunRecord` from an ``AuditReport``-like object and the node states.

    Only nodes in scope are recorded (``--node`` narrows the audit), so a narrowed run does
    not look as if the other nodes had vanished. ``node_seconds`` (node name, lower-cased ->
    seconds its collection took) is recorded for a live run. ``model``: the cluster model the
    audit built from ``nodes`` (its parsed files are reused).
    """
    seconds = node_seconds or {}
    run = report.run
    in_scope = [n for n in report.nodes if getattr(n, "in_scope", True)]
    scope = {n.name.lower() for n in in_scope}
    states = [s for s in nodes if s.name.lower() in scope]
    meta: dict[str, Any] = {
        "host": getattr(run, "host", ""),
        "command_line": getattr(run, "command_line", ""),
        "fail_on": getattr(run, "fail_on", ""),
        "source_kind": getattr(run, "source_kind", ""),
    }
    if getattr(run, "only_checks", None):
        meta["only_checks"] = list(run.only_checks)
    if getattr(run, "only_nodes", None):
        meta["only_nodes"] = list(run.only_nodes)
    return RunRecord(
        findings=list(report.findings),
        nodes=[NodeRecord(n.name, n.status or "ok", n.reason or "", seconds.get(n.name.lower())) for n in in_scope],
        config_values=config_values_from_nodes(states, profile, model) if keep_config else [],
        started_at=run.started_at,
        finished_at=run.finished_at,
        tool_version=run.tool_version,
        profile=run.profile,
        source=run.source,
        cluster=cluster,
        exit_code=exit_code,
        meta=meta,
    )


@dataclass
class HistoryRecorder:
    """Callable history hook: record the run, then annotate the report with drift and trend.

    ``cluster`` names the cluster (inventory ``cluster:`` or snapshot manifest ``name``) so
    one history file can hold several clusters without comparing one with another.
    ``profile`` supplies extra secret key patterns (``management_conf.secret_key_patterns``)
    and the spoc.conf key names. ``node_seconds``: how long each node's collection took in
    this run (set by the command after a live collection; recorded for the next run's order).
    """

    path: Path | str
    cluster: str = ""
    profile: Profile | None = None
    trend_limit: int = 30
    keep_config: bool = True
    node_seconds: dict[str, float] = field(default_factory=dict)
    run_id: int | None = field(default=None, init=False)
    exit_code: int | None = field(default=None, init=False)
    # Failing findings new since the comparison run; on a cluster's first run every failing
    # finding counts as new (nothing was known before, and it proves notifications work).
    new_failures: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __call__(self, report: Any, *, nodes: Sequence[Any], exit_code: int, model: Any = None) -> None:
        self.run_id, self.exit_code, self.new_failures = None, None, []  # nothing stale if this fails
        record = run_record_from_report(report, nodes=nodes, exit_code=exit_code, cluster=self.cluster,
                                        profile=self.profile, keep_config=self.keep_config,
                                        node_seconds=self.node_seconds, model=model)
        patterns: list[str] = []
        if self.profile is not None:
            patterns = list(self.profile.management_conf.secret_key_patterns)
        db = connect(self.path)
        try:
            self.run_id = record_run(db, record, secret_patterns=patterns)
            since = drift_for_report(db, self.run_id)
            points = trend(db, limit=self.trend_limit, cluster=self.cluster)
        finally:
            db.close()
        report.run.run_id = self.run_id
        report.since_last_run = since
        report.trend = points
        self.exit_code = exit_code
        if since is not None:
            self.new_failures = list(since["new"])
        else:
            self.new_failures = [f.to_dict() for f in report.findings if f.failing]

    def previous_seconds(self, cluster: str) -> dict[str, float]:
        """How long each node of ``cluster`` took the last time it was collected (lower-cased
        name -> seconds, :func:`previous_collection_seconds`), for the collection order; empty
        when the file does not exist yet (connect's InputError) or cannot be read (recording
        this run reports that problem, as it does without this hint)."""
        try:
            db = connect(self.path, create=False)
        except (HistoryError, InputError):
            return {}
        try:
            return previous_collection_seconds(db, cluster)
        finally:
            db.close()

    def summary(self, report: Any, report_location: str | None = None) -> dict[str, Any]:
        """The ``report_summary`` for :func:`auditor.notify.notify` after this run."""
        failing: dict[str, int] = {}
        for f in report.findings:
            if f.failing:
                failing[f.severity.value] = failing.get(f.severity.value, 0) + 1
        order = ("critical", "high", "medium", "low", "info")
        since = getattr(report, "since_last_run", None) or {}
        return {
            "cluster": self.cluster or getattr(report.run, "source", ""),
            "run_id": self.run_id,
            "finished_at": report.run.finished_at,
            "exit_code": self.exit_code,
            "failing": {s: failing.get(s, 0) for s in order},
            "nodes_unreachable": len(getattr(report, "unreachable_nodes", []) or []),
            "baseline_run": since.get("baseline_run"),
            "report": report_location,
        }
