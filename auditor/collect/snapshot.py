"""Write a collection result as a snapshot folder (node folders + ``manifest.json``).

A snapshot is the same format as a lab scenario (``auditor.manifest``), so ``auditor audit
--from DIR`` audits it offline and the lab can serve it back as a simulated cluster.

Safety rules, because the target folder is given by a person and the data by remote hosts:

* a non-empty folder that is not a previous snapshot is refused unless ``force`` (a typo in
  ``--out`` must not scatter node folders into someone's home directory);
* when re-using a previous snapshot folder, the node folders it listed are removed first, so
  a file that disappeared from a node does not linger from the old run;
* node folder names come from :func:`auditor.nodefolder.safe_folder_name` of the inventory
  name (never from remote data), de-duplicated; file paths inside a node folder are
  checked by ``save_node`` so remote paths can never escape it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from auditor import __version__
from auditor.errors import InputError
from auditor.jsonfile import read_json_file
from auditor.manifest import MANIFEST_FORMAT, ClusterManifest, NodeEntry, save_manifest
from auditor.nodefolder import safe_folder_name, save_node
from auditor.nodestate import NodeState
from auditor.vocab import NodeStatus

if TYPE_CHECKING:  # pragma: no cover
    from auditor.collect.inventory import Inventory
    from auditor.collect.runner import CollectionResult
    from auditor.profile import Profile


def _previous_snapshot_folders(out: Path) -> list[str] | None:
    """Node folders of a previous snapshot in ``out``, or None if ``out`` holds no snapshot."""
    path = out / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = read_json_file(path)
    except InputError:
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or data.get("kind") != "snapshot":
        return None
    folders = []
    for n in data.get("nodes") or []:
        folder = n.get("folder") if isinstance(n, dict) else None
        if isinstance(folder, str) and folder and safe_folder_name(folder) == folder:
            folders.append(folder)
    return folders


def prepare_out_dir(out: Path, force: bool = False) -> list[str]:
    """Check ``out`` may be written; return old snapshot node folders to clear."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder, but a file of that name exists", source=str(out))
    if not out.exists() or not any(out.iterdir()):
        return []
    previous = _previous_snapshot_folders(out)
    if previous is not None:
        return previous
    if not force:
        raise InputError("folder is not empty and is not a previous snapshot; choose an empty folder "
                         "or pass --force to write into it", source=str(out))
    return []


def _has_data(state: NodeState) -> bool:
    """Successful nodes, and failed ones that still returned data (identity mismatch)."""
    return state.status == NodeStatus.OK or bool(state.hostname or state.services or state.files)


def folder_names(names: list[str]) -> dict[str, str]:
    """Inventory name -> unique safe folder name (case-insensitive unique, as on Windows/macOS)."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for name in names:
        base = safe_folder_name(name.lower())
        candidate, i = base, 2
        while candidate in used or candidate in ("manifest.json",):
            candidate = f"{base[:95]}-{i}"
            i += 1
        used.add(candidate)
        out[name] = candidate
    return out


def write_snapshot(result: CollectionResult, inventory: Inventory, profile: Profile, out: Path,
                   *, force: bool = False) -> ClusterManifest:
    """Write ``result`` to ``out`` (see module doc); returns the manifest written."""
    out = Path(out)
    old = prepare_out_dir(out, force=force)
    out.mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    stale = out / "manifest.json"
    if old and stale.exists():
        stale.unlink()  # a half-rewritten snapshot must not look complete
    folders = folder_names([n.name for n in result.nodes])
    for folder in set(old) | set(folders.values()):
        target = (out / folder).resolve()
        if target.parent == root and target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)

    stats = {s.name: s for s in result.stats}
    entries: list[NodeEntry] = []
    per_node: dict[str, dict] = {}
    for state in result.nodes:
        folder = folders[state.name]
        status, reason = state.status, state.reason
        if _has_data(state):
            try:
                save_node(state, out / folder)
            except InputError as exc:
                # A path from the node that would escape its folder (or is not a drive path):
                # nothing of this node is kept, and the node is reported, not silently trimmed.
                shutil.rmtree(out / folder, ignore_errors=True)
                status, reason = NodeStatus.PROTOCOL, f"unsafe data from the node, not saved: {exc.message}"
        entries.append(NodeEntry(name=state.name, folder=folder, address=state.address,
                                 roles=list(state.roles), status=status, reason=reason,
                                 resolved=list(state.resolved_addresses)))
        s = stats.get(state.name)
        if s is not None:
            per_node[state.name] = {"attempts": s.attempts, "seconds": s.seconds, "error_kind": s.error_kind}

    manifest = ClusterManifest(
        kind="snapshot",
        name=inventory.cluster,
        description=f"collected from {len(result.nodes)} node(s), {len(result.failed)} failed",
        tool_version=__version__,
        created_at=result.finished_at,
        profile=profile.label,
        nodes=entries,
        extra={"collection": {
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "seconds": result.seconds,
            "cpu_seconds": result.cpu_seconds,
            "inventory": str(inventory.path) if inventory.path else "",
            "nodes": per_node,
        }},
        declared=inventory.declared,
    )
    save_manifest(manifest, out)
    return manifest
