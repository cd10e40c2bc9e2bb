"""CONFIG-PENDING-RESTART: a config file changed after its service last started."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView, collected_files_of
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.nodestate import FileEntry
from auditor.profile import Profile
from auditor.winpath import join, path_key

META = CheckMeta(
    id="CONFIG-PENDING-RESTART",
    title="No configuration file changed after its service was last started",
    severity=Severity.MEDIUM,
    rationale=(
        "Services read their configuration at start. A file modified after the service started "
        "means the running service does not use what the file says (a forgotten restart, or an "
        "edit waiting for a maintenance window), and the next unplanned restart changes "
        "behaviour. Files map to services through the profile (each subsystem's files belong to "
        "its service; restart_after_change overrides). Stopped services are not considered. When "
        "a file's modification time or the service start time is unknown the node is skipped "
        "with the reason, never passed."
    ),
    remediation=(
        "Review the change, then restart the listed service during a quiet period, one node at a "
        "time (for the Spooler Controller follow the SPOC/SPOC group restart procedure)."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "restart_after_change.spoc_conf",
    "restart_after_change.spoc_ims_properties",
    "restart_after_change.management_ims_properties",
)

# logical file name in restart_after_change -> (subsystem whose folder it is in, profile key of its path)
_LOGICAL: dict[str, tuple[str, Callable[[Profile], str]]] = {
    "spoc_conf": ("spooler_controller", lambda p: p.spoc_conf.file),
    "spoc_ims_properties": ("spooler_controller", lambda p: p.spoc_ims.file),
    "management_ims_properties": ("management", lambda p: p.management_ims.file),
}


def _ts(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None  # a naive time cannot be compared safely with a UTC one
    return dt


def file_service_map(cluster: Cluster, node: NodeView) -> dict[str, tuple[FileEntry, str]]:
    """path_key -> (file, service name) for every collected config file with an owning service."""
    prof = cluster.profile
    out: dict[str, tuple[FileEntry, str]] = {}
    for key, sub in prof.subsystems.items():
        folder = node.install_dirs.get(key)
        svc = node.subsystem_service(key)
        if not folder or svc is None:
            continue
        for f in collected_files_of(node.state, folder, [fs.path for fs in sub.files]):
            if f.exists and not f.path.lower().endswith(".log"):
                out[path_key(f.path)] = (f, svc.name)
    for logical, service in prof.restart_after_change.items():
        if logical not in _LOGICAL:
            continue
        sub_key, path_of = _LOGICAL[logical]
        folder, rel = node.install_dirs.get(sub_key), path_of(prof)
        if not folder or not rel:
            continue
        entry = node.state.file(join(folder, rel))
        if entry is not None and entry.exists:
            out[path_key(entry.path)] = (entry, service)
    return out


def run(cluster: Cluster) -> Iterator[Finding]:
    def check_node(node: NodeView) -> Iterator[Finding]:
        mapping = file_service_map(cluster, node)
        if not mapping:
            yield make(META, Status.SKIP, node.name, node.name, "no collected configuration file maps to a service")
            return
        pending, unknown, checked = [], [], 0
        for _k, (f, sname) in sorted(mapping.items()):
            svc = node.state.service(sname)
            if svc is None or not svc.running:
                continue
            checked += 1
            ft, st = _ts(f.mtime), _ts(svc.start_time)
            if ft is None or st is None:
                what = "file time" if ft is None else "service start time"
                unknown.append(f"{f.path} / {sname}: {what} unknown")
            elif ft > st:
                pending.append({"file": f.path, "service": sname, "modified": f.mtime, "service_started": svc.start_time})
        if pending:
            first = pending[0]
            yield make(META, Status.FAIL, node.name, node.name,
                       "changed after the service started: " + ", ".join(f"{p['file']} ({p['service']})" for p in pending),
                       expected="file older than service start", actual=pending, file=first["file"],
                       details={"pending": pending, "unknown": unknown})
        elif unknown:
            yield make(META, Status.SKIP, node.name, node.name, "not evaluated: " + "; ".join(unknown),
                       details={"unknown": unknown})
        elif checked == 0:
            yield make(META, Status.SKIP, node.name, node.name, "no running service with collected configuration files")
        else:
            yield make(META, Status.PASS, node.name, node.name,
                       f"{checked} configuration file(s) older than their service's start")

    yield from per_node(META, cluster, check_node)
