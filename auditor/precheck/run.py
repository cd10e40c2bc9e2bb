"""The ``auditor precheck`` use case: collect, evaluate the preconditions, record, report.

:func:`run_precheck` owns the whole flow and returns the :class:`PrecheckReport` (its exit
code is the command's); the command (``auditor/commands/precheck.py``) only parses options and
prints. In order, cheapest first:

1. validate every input before anything is contacted: the inventory and profile, the new
   server (in the inventory, ``roles: [management]``, not the only Management server) or the
   target version, the history database, the output folder;
2. collect every node (a new server with nothing installed is collected like any other);
3. add-management: probe the repository share the existing servers agree on *from the new
   server* (a second, one-op request to that node only);
4. evaluate the change's preconditions (``auditor.precheck.conditions``);
5. record the run in the history (every check's findings and configuration values, as an
   audit records them) and, unless the verdict is no-go, pin it as the cluster's baseline, so
   ``auditor drift --baseline`` after the change shows exactly what changed;
6. write ``precheck.html`` / ``precheck.json`` into ``--out`` when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.audit import select_nodes
from auditor.collect.runner import SILENT, CollectionEvents
from auditor.declared import declared_value
from auditor.errors import InputError
from auditor.expectations import ExpectationSource, Expected
from auditor.nodestate import NodeState, PathProbe
from auditor.precheck.evaluate import evaluate
from auditor.precheck.model import Change, NodeCollection, PrecheckReport, Verdict
from auditor.precheck.needs import repository_needed
from auditor.precheck.next_steps import next_steps
from auditor.precheck.order import update_order
from auditor.precheck.situation import Scope, Situation
from auditor.vocab import NodeStatus, utc_now


@dataclass(frozen=True)
class PrecheckRequest:
    """What the admin asked for, as the command parsed it."""

    change: Change
    inventory: Path
    profile: Path | None = None
    new: str | None = None  # add-management: the Management server to add
    to: str | None = None  # update: the target version
    history: str | None = None  # --history (None: the default path)
    record: bool = True  # False: --no-history (nothing recorded, nothing pinned)
    out: Path | None = None
    formats: tuple[str, ...] = ("html", "json")
    command_line: str = ""
    collect_options: Mapping[str, Any] = field(default_factory=dict)


def check_new(inv: Any, name: str | None) -> str:
    """The canonical name of the new Management server; InputError when it cannot be one."""
    if not name:
        raise InputError("give --node NAME: the new Management server (in the inventory with roles: [management])")
    canonical = select_nodes([name], [n.name for n in inv.nodes])[0]  # type: ignore[index]
    node = inv.node(canonical)
    where = {"source": str(inv.path) if inv.path else None, "line": node.line}
    if "management" not in node.roles:
        raise InputError(f"{canonical} must be in the inventory with roles: [management] (it has "
                         f"[{', '.join(node.roles)}])", **where)
    if not any("management" in n.roles for n in inv.nodes if n.name != canonical):
        raise InputError(f"{canonical} is the inventory's only Management server: there is no cluster to add it to",
                         **where)
    return canonical


def _check_target(to: str | None) -> Expected | None:
    if to is None:
        return None
    try:
        value = declared_value("expected_version", to)
    except ValueError as exc:
        raise InputError(f"--to: {exc}".replace("expected_version: ", "")) from None
    return Expected(value, ExpectationSource.DECLARED, "--to on the command line")


def _probe_new(inv: Any, profile: Any, security: Any, credentials: Any, new: str, situation: Situation,
               events: CollectionEvents) -> dict[str, PathProbe]:
    """The repository share probed from the new server; empty when there is nothing agreed to
    probe or the node did not answer (the precondition then says which)."""
    from auditor.collect.inventory import Inventory
    from auditor.collect.runner import collect_cluster
    from auditor.remote.protocol import build_probe_request

    needed = repository_needed(situation)
    node = situation.new
    if needed is None or node is None or not node.reachable:
        return {}
    one = Inventory(inv.cluster, [inv.node(new)], 1, inv.path)
    result = collect_cluster(one, profile, security=security, credentials=credentials,
                             request=build_probe_request(profile, [str(needed.value)]),
                             events=CollectionEvents(warning=events.warning))
    state = result.nodes[0]
    return dict(state.probes) if state.status == NodeStatus.OK else {}


def run_precheck(request: PrecheckRequest, events: CollectionEvents = SILENT) -> PrecheckReport:
    """The precheck of ``request``; see the module docstring for the order of its steps."""
    from auditor.collect.cli_options import setup_from_options
    from auditor.collect.credentials import resolve_credentials
    from auditor.collect.runner import collect_cluster
    from auditor.history.store import connect, resolve_history_path
    from auditor.outdir import make_folder, remove_if_empty
    from auditor.precheck.output import parse_precheck_formats

    formats = parse_precheck_formats(request.formats)
    inv, prof, security = setup_from_options(request.inventory, request.profile, **request.collect_options)
    new = check_new(inv, request.new) if request.change is Change.ADD_MANAGEMENT else None
    target = _check_target(request.to) if request.change is Change.UPDATE else None
    history_path = None
    if request.record:
        history_path = resolve_history_path(request.history)
        connect(history_path).close()  # a history that cannot be written fails now, not after collecting
    created = make_folder(request.out, "report folder") if request.out is not None else []
    try:
        started = utc_now()
        creds = resolve_credentials(inv)
        result = collect_cluster(inv, prof, security=security, events=events, credentials=creds)
        situation = Situation(request.change, list(result.nodes), prof, inv.declared, new_name=new, target=target)
        if new is not None:
            situation.new_probes = _probe_new(inv, prof, security, creds, new, situation, events)
        report = PrecheckReport(
            change=request.change, cluster=inv.cluster, subject=new or (str(target.value) if target else ""),
            results=evaluate(situation), nodes=[_collection(s) for s in result.nodes], started_at=started,
            finished_at=utc_now(), tool_version=__version__, inventory=str(request.inventory))
        if new is not None:
            from auditor.precheck.needs import installer_inputs

            report.inputs = installer_inputs(situation)
        else:
            report.order = update_order(situation.cluster(Scope.ALL), target)
        report.notes = next_steps(report)
    except BaseException:
        remove_if_empty(created)
        raise
    if history_path is not None:
        _record(report, result.nodes, prof, inv, history_path, request.command_line)
    else:
        report.history_note = "not recorded (--no-history): no baseline pinned"
    if request.out is not None:
        from auditor.precheck.output import write_outputs

        write_outputs(report, request.out, formats)
    return report


def _collection(state: NodeState) -> NodeCollection:
    return NodeCollection(state.name, tuple(state.roles), state.status, state.reason)


def _record(report: PrecheckReport, states: list[NodeState], profile: Any, inv: Any, path: Path,
            command_line: str) -> None:
    """Record the whole cluster as an audit run and pin it as the baseline unless no-go.

    A history failure does not cost the admin the precheck (it is said in the report)."""
    import sqlite3

    from auditor.audit import run_audit
    from auditor.errors import AuditorError
    from auditor.history.hook import HistoryRecorder
    from auditor.history.store import connect, set_baseline

    recorder = HistoryRecorder(path, cluster=inv.cluster, profile=profile)
    audit = run_audit(states, profile, source_label=str(inv.path or ""), source_kind="inventory",
                      command_line=command_line, started_at=report.started_at, history=recorder,
                      declared=inv.declared)
    if recorder.run_id is None:
        report.history_note = "; ".join(audit.run.warnings) or "history not recorded"
        return
    report.run_id = recorder.run_id
    if report.verdict is Verdict.NO_GO:
        report.history_note = (f"recorded as run {recorder.run_id}; not pinned as the baseline (no-go): the "
                               "baseline stays as it was")
        return
    what = f"precheck {report.change.value}" + (f" {report.subject}" if report.subject else "")
    try:
        db = connect(path)
        try:
            set_baseline(db, recorder.run_id, note=f"{what}: {report.verdict.value}")
        finally:
            db.close()
    except (AuditorError, sqlite3.Error, OSError) as exc:
        report.history_note = f"recorded as run {recorder.run_id}; baseline not pinned: {exc}"
        return
    report.baseline_pinned = True
    report.history_note = f"recorded as run {recorder.run_id} and pinned as the baseline of cluster {inv.cluster!r}"


__all__ = ["PrecheckRequest", "run_precheck"]
