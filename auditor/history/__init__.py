"""Run history: a SQLite store of every audit run, drift between runs, and trends.

Public API (what the audit pipeline and the report call)::

    from auditor.history import connect, record_run, RunRecord, NodeRecord, ConfigValue
    from auditor.history import drift_for_report, trend, render_trend_svg

See the module docstrings of :mod:`.store`, :mod:`.drift` and :mod:`.trend` for the why.
"""

from auditor.history.drift import (
    ConfigChange,
    Drift,
    FindingChange,
    NodeChange,
    compare_runs,
    default_drift,
    drift_for_report,
)
from auditor.history.schema import HistoryError, connect
from auditor.history.store import (
    ENV_HISTORY,
    ConfigValue,
    NodeRecord,
    RunInfo,
    RunRecord,
    clear_baseline,
    default_history_path,
    get_baseline,
    get_run,
    latest_run_id,
    list_runs,
    record_run,
    resolve_history_path,
    resolve_run_ref,
    set_baseline,
)
from auditor.history.trend import render_trend_svg, trend
from auditor.secretkeys import MASKED

__all__ = [
    "ENV_HISTORY",
    "MASKED",
    "ConfigChange",
    "ConfigValue",
    "Drift",
    "FindingChange",
    "HistoryError",
    "NodeChange",
    "NodeRecord",
    "RunInfo",
    "RunRecord",
    "clear_baseline",
    "compare_runs",
    "connect",
    "default_drift",
    "default_history_path",
    "drift_for_report",
    "get_baseline",
    "get_run",
    "latest_run_id",
    "list_runs",
    "record_run",
    "render_trend_svg",
    "resolve_history_path",
    "resolve_run_ref",
    "set_baseline",
    "trend",
]
