"""Planning a fix from collected node states: checks, waivers, the fixers' plan, its JSON.

The part of ``auditor fix`` that never changes a node: the dry run, ``--from SNAPSHOT`` and
the first half of ``--apply`` all go through :func:`plan_fix`, so the plan that is shown is
the plan that is applied.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations
from auditor.errors import AuditorError, InputError
from auditor.findings import CheckMeta, Finding, Status
from auditor.fixers import build_plan
from auditor.fixers.plan import FixOptions, FixPlan
from auditor.nodestate import NodeState
from auditor.profile import Profile
from auditor.vocab import NodeStatus, utc_now

PLAN_FORMAT = "paragon-auditor-fix-plan"
PLAN_VERSION = 1

Waive = Callable[[list[Finding]], list[Finding]]
Review = Callable[[Cluster, FixPlan], None]
"""A use case's last word on a plan (e.g. ``auditor precheck add-management --after``: block
everything while the new server is not installed, add notes); it may change the plan in place."""


@dataclass(frozen=True)
class PlannedFix:
    plan: FixPlan
    not_collected: tuple[NodeState, ...]  # nodes whose state is not ok: the plan may be incomplete


def waiver_stage(path: Path | None, tz: str | None) -> Waive | None:
    """A function turning covered failures into ``waived`` (so they are not fixed), or None."""
    if path is None:
        return None
    from auditor.waivers import apply_waivers, load_waivers, local_today

    waivers = load_waivers(path)
    today = local_today(tz)
    return lambda findings: apply_waivers(findings, waivers, today)[0]


def plan_fix(states: list[NodeState], profile: Profile, only: Sequence[str] | None, catalogue: Sequence[CheckMeta],
             options: FixOptions, declared: Declarations, waive: Waive | None = None,
             review: Review | None = None) -> PlannedFix:
    """Run the checks on the whole cluster and plan repairs of what fails (waived findings
    are left alone and said so in the plan's notes); ``review`` has the last word."""
    cluster = Cluster.build(states, profile, declared)
    findings = run_checks(cluster, only=set(only) if only else None)
    if waive is not None:
        findings = waive(findings)
    plan = build_plan(cluster, findings, options, metas={m.id: m for m in catalogue})
    for f in findings:
        if f.status == Status.WAIVED and (f.node is None or options.targets(f.node)):
            w = f.waiver or {}
            plan.notes.append(f"{f.check_id} on {f.node or 'the cluster'} is waived (owner {w.get('owner', '?')}, "
                              f"until {w.get('expires', '?')}): left alone")
    if review is not None:
        review(cluster, plan)
    return PlannedFix(plan, tuple(s for s in states if s.status != NodeStatus.OK))


def load_snapshot(folder: Path, profile: Path | None) -> tuple[list[NodeState], Profile, str, Declarations]:
    """A snapshot or scenario folder to plan from offline: states, profile, cluster name, declarations."""
    from auditor.manifest import load_cluster_folder
    from auditor.profile import load_profile

    prof = load_profile(profile)
    manifest, states = load_cluster_folder(folder)
    if not states:
        raise InputError("the manifest lists no nodes", source=str(folder / "manifest.json"))
    return states, prof, manifest.name or folder.name, manifest.declared


def write_plan_json(path: Path, planned: PlannedFix, cluster: str) -> None:
    """The plan as versioned JSON: diffs (secrets masked), actions, advice, blocked, notes.

    File contents themselves are not included (only their SHA-256 before/after), so the
    document can be attached to a ticket without leaking configuration.
    """
    from auditor.nodefolder import atomic_write

    doc = {"format": PLAN_FORMAT, "version": PLAN_VERSION, "cluster": cluster, "created_at": utc_now(),
           "not_collected": [{"node": s.name, "status": s.status, "reason": s.reason} for s in planned.not_collected],
           **planned.plan.to_dict()}
    try:
        atomic_write(path, (json.dumps(doc, indent=2, ensure_ascii=True) + "\n").encode("ascii"))
    except OSError as exc:
        raise InputError(f"cannot write the plan: {exc.strerror}", source=str(path)) from None


def _why(exc: OSError) -> str:
    return "a file is in the way" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc))


def prepare_plan_json_folder(path: Path) -> None:
    """Create the folder of --plan-json up front: the plan is written after a possibly long
    collection, and a path below a file used to fail only then, as a puzzling 'File exists'."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for the plan: {_why(exc)}", source=str(path)) from None


def check_journal_folder(path: Path) -> None:
    """Early, side-effect-light version of Journal.check_writable (which runs again right
    before the first change): the folder must be creatable and the file writable, but no
    journal file is created for a run that may still be refused."""
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditorError(f"cannot write the fix journal {path}: {_why(exc)}") from None
    if path.is_dir():
        raise AuditorError(f"cannot write the fix journal {path}: it is a folder")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise AuditorError(f"cannot write the fix journal {path}: permission denied")
