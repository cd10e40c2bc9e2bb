"""Drift between two recorded runs: what an admin needs to read at 7 a.m. is what *changed*.

Categories are exclusive, so a finding is counted once:

* **new** – failing (fail/error) in B, and absent or not failing in A. A waived finding
  whose waiver expired shows up here again, which is the point of an expiry.
* **resolved** – failing in A, and passing, skipped or absent in B. A failing finding that
  became *waived* is not resolved (nothing was fixed): it is listed under *changed*. Nor is
  one that is skipped because its node could not be collected in B: the node is listed
  under *nodes* as unreachable, and its pass -> skip moves are not listed as *changed*.
* **changed** – present in both, still failing or status moved between non-failing states,
  with a different status, severity, expected or actual value. Two passing (or two
  skipped) findings whose evidence differs are not drift of compliance and are ignored;
  real configuration changes are caught by the config value comparison instead.
* **config_changes** – per node/file/key: added, removed, changed. Nodes that could not be
  collected in either run are left out, otherwise an unreachable node would look as if
  every key had been deleted.
* **nodes** – nodes that became unreachable or reachable, changed failure kind, or
  appeared/disappeared from the inventory.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from auditor.findings import Finding, Status
from auditor.history.changed_rows import changed_config_nodes, fill_changed_finding_keys
from auditor.history.store import (
    RunInfo,
    get_baseline,
    get_run,
    latest_run_id,
    load_config_values,
    load_findings,
    load_nodes,
    previous_run_id,
)
from auditor.nodestate import path_key

_COMPARED_FIELDS = ("status", "severity", "expected", "actual")


@dataclass
class FindingChange:
    check_id: str
    subject: str
    node: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    fields: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "subject": self.subject,
            "node": self.node,
            "fields": list(self.fields),
            "before": self.before,
            "after": self.after,
        }


@dataclass
class ConfigChange:
    node: str
    file: str
    key: str
    change: str  # added | removed | changed
    before: str | None
    after: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "file": self.file, "key": self.key, "change": self.change,
                "before": self.before, "after": self.after}


@dataclass
class NodeChange:
    node: str
    change: str  # unreachable | reachable | status-changed | added | removed
    before: str | None  # node status in A (None when absent)
    after: str | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "change": self.change, "before": self.before, "after": self.after,
                "reason": self.reason}


@dataclass
class Drift:
    """What changed from run A (older, or the baseline) to run B."""

    run_a: RunInfo
    run_b: RunInfo
    new: list[Finding] = field(default_factory=list)
    resolved: list[tuple[Finding, str]] = field(default_factory=list)  # (finding in A, status in B or "absent")
    changed: list[FindingChange] = field(default_factory=list)
    config_changes: list[ConfigChange] = field(default_factory=list)
    nodes: list[NodeChange] = field(default_factory=list)
    baseline_kind: str = "explicit"  # explicit | previous | pinned

    @property
    def empty(self) -> bool:
        return not (self.new or self.resolved or self.changed or self.config_changes or self.nodes)

    def to_dict(self) -> dict[str, Any]:
        """The ``since_last_run`` shape used by reports and ``auditor drift --json``."""
        return {
            "baseline_run": self.run_a.id,
            "baseline_kind": self.baseline_kind,
            "baseline_finished_at": self.run_a.finished_at,
            "run": self.run_b.id,
            "run_finished_at": self.run_b.finished_at,
            "new": [f.to_dict() for f in self.new],
            "resolved": [dict(f.to_dict(), now_status=now) for f, now in self.resolved],
            "changed": [c.to_dict() for c in self.changed],
            "config_changes": [c.to_dict() for c in self.config_changes],
            "nodes": [n.to_dict() for n in self.nodes],
        }


def _by_key(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    # A check that (wrongly) yields a subject twice: the worst one counts, so drift never
    # hides a failure behind a duplicate pass.
    out: dict[tuple[str, str], Finding] = {}
    for f in findings:
        k = f.key()
        if k not in out or (f.failing and not out[k].failing):
            out[k] = f
    return out


def _sort_key(f: Finding) -> tuple[int, str, str]:
    return (-f.severity.rank, f.check_id, f.subject)


def diff_findings(
    before: list[Finding], after: list[Finding]
) -> tuple[list[Finding], list[tuple[Finding, str]], list[FindingChange]]:
    """``(new, resolved, changed)`` between two finding lists (see module docstring)."""
    a, b = _by_key(before), _by_key(after)
    new: list[Finding] = []
    resolved: list[tuple[Finding, str]] = []
    changed: list[FindingChange] = []
    for k, fb in b.items():
        fa = a.get(k)
        if fb.failing and (fa is None or not fa.failing):
            new.append(fb)
    for k, fa in a.items():
        fb = b.get(k)
        if not fa.failing:
            continue
        if fb is None:
            resolved.append((fa, "absent"))
        elif fb.status in (Status.PASS, Status.SKIP):
            resolved.append((fa, fb.status.value))
    for k, fa in a.items():
        fb = b.get(k)
        if fb is None:
            continue
        if fb.failing and not fa.failing:
            continue  # new
        if fa.failing and fb.status in (Status.PASS, Status.SKIP):
            continue  # resolved
        # Compare the attributes first: Finding.to_dict() deep-copies every finding
        # (dataclasses.asdict), which took ~4 s for the 90,000 findings of a 5,000-node run
        # although almost none of them changed. Enum members compare like their values.
        fields = [name for name in _COMPARED_FIELDS if getattr(fa, name) != getattr(fb, name)]
        if not fields:
            continue
        da, db_ = fa.to_dict(), fb.to_dict()
        fields = [name for name in _COMPARED_FIELDS if da[name] != db_[name]]
        if not fields:
            continue
        if fields != ["status"] and fa.status == fb.status and fa.status in (Status.PASS, Status.SKIP):
            continue  # evidence of a passing check moved: not compliance drift
        changed.append(FindingChange(fb.check_id, fb.subject, fb.node,
                                     {n: da[n] for n in (*_COMPARED_FIELDS, "message")},
                                     {n: db_[n] for n in (*_COMPARED_FIELDS, "message")}, fields))
    new.sort(key=_sort_key)
    resolved.sort(key=lambda t: _sort_key(t[0]))
    changed.sort(key=lambda c: (c.check_id, c.subject))
    return new, resolved, changed


def _node_changes(db: sqlite3.Connection, a: int, b: int) -> tuple[list[NodeChange], set[str]]:
    """Node changes, and the (lower-cased) names reachable in both runs."""
    na = {n.name.lower(): n for n in load_nodes(db, a)}
    nb = {n.name.lower(): n for n in load_nodes(db, b)}
    changes: list[NodeChange] = []
    for k in sorted(set(na) | set(nb)):
        x, y = na.get(k), nb.get(k)
        if x is None and y is not None:
            changes.append(NodeChange(y.name, "added", None, y.status, y.reason))
        elif y is None and x is not None:
            changes.append(NodeChange(x.name, "removed", x.status, None, ""))
        elif x is not None and y is not None and x.status != y.status:
            if x.reachable and not y.reachable:
                kind = "unreachable"
            elif not x.reachable and y.reachable:
                kind = "reachable"
            else:
                kind = "status-changed"
            changes.append(NodeChange(y.name, kind, x.status, y.status, y.reason))
    both = {k for k in set(na) & set(nb) if na[k].reachable and nb[k].reachable}
    # Runs recorded without node rows: compare config of every node rather than none.
    if not na or not nb:
        both = {"*"}
    return changes, both


def _config_changes(db: sqlite3.Connection, a: int, b: int, comparable: set[str]) -> list[ConfigChange]:
    nodes = changed_config_nodes(db, a, b)  # the other nodes' values are identical in both runs

    def index(run_id: int) -> dict[tuple[str, str, str], tuple[str, str, str, str | None]]:
        out = {}
        for c in load_config_values(db, run_id, nodes):
            if "*" not in comparable and c.node.lower() not in comparable:
                continue
            out[(c.node.lower(), path_key(c.file), c.key)] = (c.node, c.file, c.key, c.value)
        return out

    ia, ib = index(a), index(b)
    changes: list[ConfigChange] = []
    for k in sorted(set(ia) | set(ib)):
        x, y = ia.get(k), ib.get(k)
        if x is None and y is not None:
            changes.append(ConfigChange(y[0], y[1], y[2], "added", None, y[3]))
        elif y is None and x is not None:
            changes.append(ConfigChange(x[0], x[1], x[2], "removed", x[3], None))
        elif x is not None and y is not None and x[3] != y[3]:
            changes.append(ConfigChange(y[0], y[1], y[2], "changed", x[3], y[3]))
    return changes


def compare_runs(db: sqlite3.Connection, run_a: int, run_b: int, *, baseline_kind: str = "explicit") -> Drift:
    """Drift from ``run_a`` to ``run_b`` (unknown ids raise InputError, exit 2)."""
    ra, rb = get_run(db, run_a), get_run(db, run_b)
    keys = fill_changed_finding_keys(db, ra.id, rb.id)  # findings identical in both runs cannot drift
    new, resolved, changed = diff_findings(load_findings(db, ra.id, keys), load_findings(db, rb.id, keys))
    nodes, comparable = _node_changes(db, ra.id, rb.id)
    config = _config_changes(db, ra.id, rb.id, comparable)
    # A node that went dark had its checks skipped, not fixed: its failures are not
    # "resolved" and its pass -> skip moves are not compliance drift. The node is listed
    # under nodes (unreachable), which is what the admin has to act on.
    dark = {n.node.lower() for n in nodes if n.change == "unreachable"}
    if dark:
        resolved = [(fa, now) for fa, now in resolved if not (now == "skip" and (fa.node or "").lower() in dark)]
        changed = [c for c in changed if not ((c.node or "").lower() in dark and c.after.get("status") == "skip")]
    return Drift(ra, rb, new, resolved, changed, config, nodes, baseline_kind)


def comparison_base(db: sqlite3.Connection, run_id: int) -> tuple[int | None, str]:
    """What ``run_id`` is compared with by default: ``(run id, "pinned"|"previous")``.

    The pinned baseline of the run's cluster wins when it is older than the run; otherwise
    the previous run of the same cluster. ``(None, "none")`` for a cluster's first run.
    """
    run = get_run(db, run_id)
    pin = get_baseline(db, run.cluster)
    if pin is not None and int(pin["run_id"]) < run.id:
        return int(pin["run_id"]), "pinned"
    prev = previous_run_id(db, run.id)
    if prev is None:
        return None, "none"
    return prev, "previous"


def default_drift(db: sqlite3.Connection, run_id: int | None = None, cluster: str | None = None) -> Drift | None:
    """``auditor drift`` without two ids: ``run_id`` (default: latest) vs its comparison base."""
    if run_id is None:
        run_id = latest_run_id(db, cluster)
        if run_id is None:
            return None
    base, kind = comparison_base(db, run_id)
    if base is None:
        return None
    return compare_runs(db, base, run_id, baseline_kind=kind)


def drift_for_report(db: sqlite3.Connection, run_id: int) -> dict[str, Any] | None:
    """The report's ``since_last_run`` for a just-recorded run (None for a first run).

    Shape: ``{"baseline_run": id, "baseline_kind": "pinned"|"previous", "run": id,
    "new": [finding dicts], "resolved": [finding dicts + "now_status"], "changed":
    [{check_id, subject, node, fields, before, after}], "config_changes": [{node, file, key,
    change, before, after}], "nodes": [{node, change, before, after, reason}]}``.
    """
    drift = default_drift(db, run_id)
    return None if drift is None else drift.to_dict()
