"""The cluster manifest: ``manifest.json`` at the root of a scenario or snapshot folder.

It lists the nodes (inventory name, node folder, address, roles), and for snapshots how
collection went for each. Lab scenarios use the same file with an extra ``lab`` block per
node (fault injection), so a scenario, a snapshot and a test fixture are one format and
``auditor audit --from DIR`` reads any of them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from auditor.addresses import is_ip
from auditor.declared import Declarations
from auditor.errors import InputError
from auditor.jsonfile import read_json_file
from auditor.nodefolder import atomic_write, load_node, safe_folder_name
from auditor.nodenames import look_alike_message, skeleton
from auditor.nodestate import NodeState
from auditor.vocab import NodeStatus

MANIFEST_FORMAT = "paragon-auditor-cluster"
MANIFEST_VERSION = 1
VALID_ROLES = ("management", "site")


@dataclass
class NodeEntry:
    name: str
    folder: str = ""
    address: str = ""
    roles: list[str] = field(default_factory=list)
    status: NodeStatus = NodeStatus.OK
    reason: str = ""
    lab: dict[str, Any] = field(default_factory=dict)  # lab only: faults, see docs/lab.md
    # the IPv4 addresses ``address`` (a host name) resolved to on the admin host when collected
    resolved: list[str] = field(default_factory=list)


@dataclass
class ClusterManifest:
    kind: str = "scenario"  # "scenario" or "snapshot"
    name: str = ""
    description: str = ""
    tool_version: str = ""
    created_at: str = ""
    profile: str = ""
    nodes: list[NodeEntry] = field(default_factory=list)
    # scenario only: the problems planted on purpose, as [{"check_id":..., "node":...}]
    planted: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # what the inventory declared (auditor.declared), so an offline audit judges against it too
    declared: Declarations = field(default_factory=Declarations)

    def to_dict(self) -> dict[str, Any]:
        d = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION}
        d.update(asdict(self))
        for n in d["nodes"]:
            for optional in ("lab", "resolved"):
                if not n[optional]:
                    del n[optional]
        d["declared"] = self.declared.to_dict()
        if not d["declared"]:
            del d["declared"]
        return d


def load_manifest(folder: Path) -> ClusterManifest:
    path = Path(folder) / "manifest.json"
    src = str(path)
    if not path.exists() and not path.is_symlink():
        raise InputError("manifest.json not found: not a scenario or snapshot folder", source=str(folder))
    data = read_json_file(path)
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise InputError(f"not a cluster manifest (format must be {MANIFEST_FORMAT!r})", source=src)
    if data.get("version") != MANIFEST_VERSION:
        raise InputError(f"unsupported manifest version {data.get('version')!r}", source=src)
    nodes = []
    seen: dict[str, str] = {}  # skeleton -> the name that had it first
    for i, raw in enumerate(data.get("nodes") or []):
        if not isinstance(raw, dict) or not raw.get("name"):
            raise InputError(f"nodes[{i}]: needs at least a name", source=src)
        unknown = set(raw) - set(NodeEntry.__dataclass_fields__)
        if unknown:
            raise InputError(f"nodes[{i}]: unknown field(s) {sorted(unknown)}", source=src)
        _check_entry_types(raw, f"nodes[{i}]", src)
        entry = NodeEntry(**dict(raw, status=NodeStatus(raw.get("status", NodeStatus.OK))))
        first = seen.get(skeleton(entry.name))
        if first is not None and first.lower() == entry.name.lower():
            raise InputError(f"nodes[{i}]: duplicate node name {entry.name!r}", source=src)
        if first is not None:
            raise InputError(f"nodes[{i}]: {look_alike_message(first, entry.name)}", source=src)
        seen[skeleton(entry.name)] = entry.name
        bad_roles = [r for r in entry.roles if r not in VALID_ROLES]
        if bad_roles:
            raise InputError(f"nodes[{i}] ({entry.name}): unknown role(s) {bad_roles}", source=src)
        entry.folder = entry.folder or safe_folder_name(entry.name)
        if safe_folder_name(entry.folder) != entry.folder:
            raise InputError(f"nodes[{i}]: unsafe folder name {entry.folder!r}", source=src)
        nodes.append(entry)
    for key in ("kind", "name", "description", "tool_version", "created_at", "profile"):
        if not isinstance(data.get(key, ""), str):
            raise InputError(f"{key}: expected a text", source=src)
    if not isinstance(data.get("planted") or [], list):
        raise InputError("planted: expected a list", source=src)
    try:
        declared = Declarations.from_dict(data.get("declared"))
    except ValueError as exc:
        raise InputError(str(exc), source=src) from None
    known = set(ClusterManifest.__dataclass_fields__)
    # ``to_dict`` writes ``extra`` as its own key; unknown top-level keys are kept there too.
    extra = dict(data["extra"]) if isinstance(data.get("extra"), dict) else {}
    extra.update({k: v for k, v in data.items() if k not in known and k not in ("format", "version")})
    return ClusterManifest(
        kind=data.get("kind", "scenario"),
        name=data.get("name", ""),
        description=data.get("description", ""),
        tool_version=data.get("tool_version", ""),
        created_at=data.get("created_at", ""),
        profile=data.get("profile", ""),
        nodes=nodes,
        planted=list(data.get("planted") or []),
        extra=extra,
        declared=declared,
    )


def _check_entry_types(raw: dict[str, Any], what: str, src: str) -> None:
    """Field types of one ``nodes[]`` entry: a hand-edited manifest fails here, with the
    entry named, instead of with a TypeError deep in the audit."""
    for key in ("name", "folder", "address", "reason"):
        if key in raw and not isinstance(raw[key], str):
            raise InputError(f"{what}.{key}: expected a text, got {type(raw[key]).__name__}", source=src)
    roles = raw.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InputError(f"{what}.roles: expected a list such as [management] or [site]", source=src)
    if raw.get("status", NodeStatus.OK) not in tuple(NodeStatus):
        raise InputError(f"{what}.status: expected one of {', '.join(NodeStatus)}", source=src)
    if not isinstance(raw.get("lab", {}), dict):
        raise InputError(f"{what}.lab: expected an object", source=src)
    resolved = raw.get("resolved", [])
    if not isinstance(resolved, list) or not all(isinstance(a, str) and is_ip(a) for a in resolved):
        raise InputError(f"{what}.resolved: expected a list of IP addresses", source=src)


def save_manifest(manifest: ClusterManifest, folder: Path) -> None:
    text = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=True) + "\n"
    atomic_write(Path(folder) / "manifest.json", text.encode("ascii"))


def node_state_for(entry: NodeEntry, folder: Path) -> NodeState:
    """Load one node of a cluster folder, carrying the manifest's roles/address/status."""
    node_dir = Path(folder) / entry.folder
    if entry.status != NodeStatus.OK and not (node_dir / "node.json").exists():
        state = NodeState(name=entry.name)
    else:
        state = load_node(node_dir, name=entry.name)
    state.roles = list(entry.roles)
    state.address = entry.address
    state.status = entry.status
    state.reason = entry.reason
    state.resolved_addresses = list(entry.resolved)
    return state


def load_cluster_folder(folder: Path) -> tuple[ClusterManifest, list[NodeState]]:
    """Load a scenario or snapshot folder: the manifest and every node's state."""
    manifest = load_manifest(folder)
    return manifest, [node_state_for(e, folder) for e in manifest.nodes]
