"""The audit pipeline: node states -> cluster model -> findings -> report -> files.

Each stage is a small function so later features plug in without rewriting the flow::

    select_nodes / select_checks   validate --node / --check (usage errors list valid values)
    build_cluster                  auditor.cluster.Cluster.build
    run_check_stage                auditor.checks.run_checks
    product_model_stage            auditor.profile.verify (the profile's uncertain facts held against the nodes)
    apply_waiver_stage             WaiverHook (optional)   -> fail findings become "waived"
    assemble_report                AuditReport with run metadata, nodes, checks
    record_history_stage           HistoryHook (optional)  -> run_id, since_last_run, trend
    write_reports                  every requested format into --out

Exit-code policy (see docs/exit-codes.md) lives in :func:`exit_code_for`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from auditor import __version__
from auditor.declared import Declarations
from auditor.errors import AuditorError, InputError
from auditor.findings import CheckMeta, Finding, Severity
from auditor.forkjobs import Ahead, run_jobs
from auditor.nodestate import NodeState
from auditor.outdir import make_folder
from auditor.profile.verification import Verification
from auditor.reports import DEFAULT_FORMATS, RELATIVE_COST, RENDERERS, prepare_shared
from auditor.reports.model import AuditReport, NodeInfo, RunMeta
from auditor.vocab import ExitStatus, utc_now

if TYPE_CHECKING:
    from auditor.cluster import Cluster

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "never")


# ---- hooks ----------------------------------------------------------------------------------
class WaiverHook(Protocol):
    """Turns covered ``fail`` findings into ``waived`` ones (with ``Finding.waiver`` set) and
    may append findings about the waivers themselves (expired, unused). Must not mutate its
    input list. See auditor/waivers.py for the implementation this is shaped after."""

    def __call__(self, findings: list[Finding], today: date) -> list[Finding]: ...


class HistoryHook(Protocol):
    """Stores the finished report and annotates it in place: ``report.run.run_id``,
    ``report.since_last_run`` (drift vs the previous run or the pinned baseline) and
    ``report.trend``. Receives the node states so it can keep configuration values for
    config drift, and the cluster model built from them (files it already parsed need not be
    parsed again). Runs after the exit code is known (``exit_code``)."""

    def __call__(self, report: AuditReport, *, nodes: Sequence[NodeState], exit_code: int,
                 model: Cluster | None = None) -> None: ...


# ---- small helpers --------------------------------------------------------------------------
@contextlib.contextmanager
def bulk_gc():
    """No cyclic-GC passes while the model, findings and reports are built.

    A 5,000-node audit allocates millions of small objects that all stay alive until the
    reports are written. With the default thresholds (700 allocations) the collector re-scanned
    them over and over (~15 % of the offline audit's CPU); with gen-0 passes every 50,000
    allocations it still spent ~0.5 s of the model and checks and ~0.6 s of the reports in
    passes that found nothing to free: these stages create no reference cycles to speak of (a
    5,000-node audit leaves a few hundred objects for the next pass). So the collector is off
    inside and switched back on afterwards, if it was on (nested stages leave it off).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_catalogue() -> list[CheckMeta]:
    """Metadata of every check the package provides, sorted by id."""
    from auditor.checks import all_checks

    out = []
    for item in all_checks():
        meta = item if isinstance(item, CheckMeta) else getattr(item, "META", None)
        if isinstance(meta, CheckMeta):
            out.append(meta)
    return sorted(out, key=lambda m: m.id)


def select_checks(only_checks: Iterable[str] | None, catalogue: Sequence[CheckMeta]) -> list[str] | None:
    """Canonical ids for ``--check`` values (case-insensitive); unknown ids are usage errors."""
    if not only_checks:
        return None
    if not all(c.strip() for c in only_checks):
        # `--check "$CHECK"` with an unset variable must not quietly mean "every check"
        raise InputError("--check needs a check id, got an empty value (see 'auditor checks')")
    known = {m.id.upper(): m.id for m in catalogue}
    wanted = list(dict.fromkeys(c.strip().upper() for c in only_checks))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InputError(f"unknown check id(s): {', '.join(unknown)}; valid ids: {', '.join(sorted(known.values()))}")
    return [known[c] for c in wanted]


def select_nodes(only_nodes: Iterable[str] | None, names: Sequence[str]) -> list[str] | None:
    """Canonical node names for ``--node`` values (case-insensitive, like Windows host
    names); unknown names are usage errors listing the valid ones."""
    if not only_nodes:
        return None
    if not all(n.strip() for n in only_nodes):
        # `--node "$NODE"` with an unset variable: audit meant every node, fix meant none
        raise InputError(f"--node needs a node name, got an empty value; nodes in this cluster: {', '.join(names)}")
    known = {n.lower(): n for n in names}
    wanted = list(dict.fromkeys(n.strip() for n in only_nodes))
    unknown = [n for n in wanted if n.lower() not in known]
    if unknown:
        raise InputError(f"unknown node(s): {', '.join(unknown)}; nodes in this cluster: {', '.join(names)}")
    return [known[n.lower()] for n in wanted]


def parse_formats(text: str | Iterable[str] | None) -> list[str]:
    """``"html,json"`` (or repeated values) -> validated, de-duplicated format names."""
    if text is None:
        return list(DEFAULT_FORMATS)
    items = [text] if isinstance(text, str) else list(text)
    names = [p.strip().lower() for item in items for p in item.split(",") if p.strip()]
    if not names:
        raise InputError(f"--format needs at least one of: {', '.join(RENDERERS)}")
    unknown = [n for n in names if n not in RENDERERS]
    if unknown:
        raise InputError(f"unknown report format(s): {', '.join(unknown)}; valid formats: {', '.join(RENDERERS)}")
    return list(dict.fromkeys(names))


# ---- stages ---------------------------------------------------------------------------------
def build_cluster(nodes: Sequence[NodeState], profile: Any, declared: Declarations | None = None) -> Any:
    from auditor.cluster import Cluster

    return Cluster.build(list(nodes), profile, declared)


def run_check_stage(cluster: Any, only_checks: Sequence[str] | None, only_nodes: Sequence[str] | None) -> list[Finding]:
    from auditor.checks import run_checks

    return run_checks(
        cluster,
        only=set(only_checks) if only_checks else None,
        nodes=set(only_nodes) if only_nodes else None,
    )


def product_model_stage(cluster: Any, only_nodes: Sequence[str] | None) -> Verification:
    """The profile's assumed and inferred facts held against the audited nodes (the report's
    "Product model"; ``auditor profile verify`` says the same in the terminal)."""
    from auditor.profile.verify import verify_profile

    return verify_profile(cluster, only_nodes=only_nodes)


def apply_waiver_stage(findings: list[Finding], waivers: WaiverHook | None, today: date | None = None) -> list[Finding]:
    """Hook point for waivers; without a hook findings pass through unchanged."""
    if waivers is None:
        return findings
    return list(waivers(list(findings), today or datetime.now(UTC).date()))


def assemble_report(
    nodes: Sequence[NodeState],
    findings: list[Finding],
    catalogue: Sequence[CheckMeta],
    *,
    only_checks: Sequence[str] | None,
    only_nodes: Sequence[str] | None,
    profile_label: str,
    source_kind: str,
    source_label: str,
    command_line: str,
    fail_on: str,
    started_at: str,
    finished_at: str | None = None,
    collection_cpu_seconds: float | None = None,
) -> AuditReport:
    scope = {n.lower() for n in only_nodes} if only_nodes else None
    infos = [NodeInfo.from_state(n, in_scope=scope is None or n.name.lower() in scope) for n in nodes]
    ran = set(only_checks) if only_checks else None
    checks = [m for m in catalogue if ran is None or m.id in ran]
    known = {m.id for m in checks}
    # Findings from outside the check catalogue: the waiver file's own (WAIVER-EXPIRED,
    # WAIVER-UNUSED) carry real metadata; anything else still gets a title and severity.
    from auditor.waivers import WAIVER_CHECK_META

    extra = {m.id: m for m in WAIVER_CHECK_META}
    for f in findings:
        if f.check_id not in known:
            checks.append(extra.get(f.check_id) or CheckMeta(
                id=f.check_id, title=f.check_id, severity=f.severity, rationale="", remediation=""))
            known.add(f.check_id)
    run = RunMeta(
        tool_version=__version__,
        started_at=started_at,
        finished_at=finished_at or utc_now(),
        profile=profile_label,
        source_kind=source_kind,
        source=source_label,
        command_line=command_line,
        host=socket.gethostname(),
        fail_on=fail_on,
        only_checks=list(only_checks or []),
        only_nodes=list(only_nodes or []),
        collection_cpu_seconds=collection_cpu_seconds,
    )
    return AuditReport(run=run, nodes=infos, findings=list(findings), checks=checks)


def record_history_stage(report: AuditReport, history: HistoryHook | None, nodes: Sequence[NodeState],
                         cluster: Cluster | None = None) -> None:
    """Hook point for the history store; it annotates the report in place.

    A history failure (locked or corrupt database, full disk) must not cost the admin the
    report of a run that already collected the whole cluster: it becomes a warning in the
    report and on the console instead, and the report is written without drift/trend.
    """
    if history is None:
        return
    try:
        history(report, nodes=nodes, exit_code=exit_code_for(report, report.run.fail_on), model=cluster)
    except (AuditorError, sqlite3.Error, OSError) as exc:
        report.run.warnings.append(f"history not recorded: {exc}")


def run_audit(
    nodes: Sequence[NodeState],
    profile: Any,
    *,
    only_checks: Iterable[str] | None = None,
    only_nodes: Iterable[str] | None = None,
    source_label: str = "",
    source_kind: str = "snapshot",
    command_line: str = "",
    fail_on: str = "high",
    started_at: str | None = None,
    waivers: WaiverHook | None = None,
    history: HistoryHook | None = None,
    today: date | None = None,
    catalogue: Sequence[CheckMeta] | None = None,
    declared: Declarations | None = None,
    collection_cpu_seconds: float | None = None,
) -> AuditReport:
    """Audit already-collected node states and return the report (nothing is written).

    The cluster model is built from *all* nodes even when ``only_nodes`` narrows the
    audit, because cross-node checks (is every management server listed on this SPOC?)
    need the whole cluster; ``only_nodes`` only filters which findings are reported.
    ``started_at`` is when collection started (live audits), so the run covers it.
    ``declared``: what the inventory (or the snapshot's manifest) declares (auditor.declared).
    ``collection_cpu_seconds``: the live collection's CPU on this host (report.json ``run``).
    """
    started = started_at or utc_now()
    catalogue = list(catalogue) if catalogue is not None else check_catalogue()
    checks = select_checks(only_checks, catalogue)
    node_names = select_nodes(only_nodes, [n.name for n in nodes])
    with bulk_gc():
        cluster = build_cluster(nodes, profile, declared)
        # the product model needs the model, not the findings: on a multi-core host a forked
        # child computes it while the checks run here (auditor.forkjobs.Ahead)
        with Ahead(lambda: product_model_stage(cluster, node_names)) as product_model:
            findings = run_check_stage(cluster, checks, node_names)
            findings = apply_waiver_stage(findings, waivers, today)
            report = assemble_report(
                nodes, findings, catalogue,
                only_checks=checks, only_nodes=node_names,
                profile_label=getattr(profile, "label", str(profile)),
                source_kind=source_kind, source_label=source_label, command_line=command_line,
                fail_on=fail_on, started_at=started, collection_cpu_seconds=collection_cpu_seconds,
            )
            report.product_model = product_model.result()
        record_history_stage(report, history, nodes, cluster)
    return report


# ---- exit code ------------------------------------------------------------------------------
def exit_code_for(report: AuditReport, fail_on: str | Severity | None) -> ExitStatus:
    """3 if a node in scope could not be audited, else 1 if a fail/error finding is at or
    above ``fail_on``, else 0.

    3 wins over 1: an audit that could not see every node is incomplete, and "1" would let
    a pipeline treat it as an ordinary findings day. The findings of the nodes that were
    audited are in the report either way. ``--fail-on never`` silences findings, not
    unreachable nodes.
    """
    if report.unreachable_nodes:
        return ExitStatus.UNREACHABLE
    if report.failing_at_or_above(fail_on):
        return ExitStatus.FINDINGS
    return ExitStatus.OK


# ---- output ---------------------------------------------------------------------------------
def _atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file + rename so a reader (a web server, CI) never sees half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_reports(report: AuditReport, out_dir: str | Path, formats: Iterable[str] = DEFAULT_FORMATS,
                  *, workers: int | None = None) -> list[Path]:
    """Render every format into ``out_dir`` (created if needed); returns the written paths
    in the order of ``formats``. File names are fixed (see RENDERERS) so links stay stable.

    Several formats are written in parallel by forked worker processes where that is safe
    (auditor.forkjobs: ``os.fork`` exists and this process runs one thread; ``workers``
    caps the processes, default the usable cores), else one after the other. The files and
    the errors are the same either way: each file is written whole or not at all, and a
    failure raises the error of the first failing format in ``formats`` order."""
    names = parse_formats(list(formats))
    out = Path(out_dir)
    make_folder(out, "report folder")
    paths = [out / RENDERERS[name][0] for name in names]
    jobs = [lambda name=name, path=path: _write_one(report, name, path) for name, path in zip(names, paths, strict=True)]
    with bulk_gc():
        if len(names) > 1:
            prepare_shared(report)
        run_jobs(jobs, [RELATIVE_COST.get(name, 1.0) for name in names], workers)
    return paths


def _write_one(report: AuditReport, name: str, path: Path) -> None:
    """One format, rendered and written (inside write_reports' bulk_gc, which a forked worker
    inherits: the collector is off in either process)."""
    text = RENDERERS[name][1](report)
    try:
        _atomic_write_text(path, text)
    except OSError as exc:
        raise AuditorError(f"cannot write {path}: {exc.strerror or exc}") from None


__all__ = [
    "FAIL_ON_CHOICES",
    "HistoryHook",
    "WaiverHook",
    "apply_waiver_stage",
    "assemble_report",
    "build_cluster",
    "check_catalogue",
    "exit_code_for",
    "parse_formats",
    "product_model_stage",
    "record_history_stage",
    "run_audit",
    "run_check_stage",
    "select_checks",
    "select_nodes",
    "write_reports",
]
