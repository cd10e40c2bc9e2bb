"""Read and write a node folder (``node.json`` + ``files/<drive>/...``).

The same format is used by lab scenarios, collected snapshots and test fixtures; see
``docs/node-format.md``. Writing is defensive: paths that come from remote data can never
escape the target folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.jsonfile import read_json_file
from auditor.nodestate import (
    NODE_FORMAT,
    NODE_FORMAT_VERSION,
    ClockSample,
    FileEntry,
    Interface,
    ListeningPort,
    NodeState,
    OsInfo,
    PathProbe,
    Process,
    Service,
    etcd_from_json,
    path_key,
)
from auditor.vocab import UTC_TIME_RE as _UTC_RE

_DRIVE_RE = re.compile(r"^([A-Za-z]):\\(.*)$")
_BAD_SEGMENTS = {"", ".", ".."}
# Windows device names: "CON", "nul.txt" ... open the device instead of a file (any folder,
# any extension). A snapshot may be written or read on Windows, so they are never names here.
_DEVICE_RE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def windows_to_relative(windows_path: str) -> Path:
    """``C:\\SafeQ6\\a.conf`` -> ``files/c/SafeQ6/a.conf``; refuses anything that could escape.

    Only drive-letter absolute paths are stored as files; UNC paths are remote shares and
    are represented as probes instead.
    """
    m = _DRIVE_RE.match(windows_path.replace("/", "\\"))
    if not m:
        raise InputError(f"not a drive-letter absolute Windows path: {windows_path!r}")
    drive, rest = m.group(1).lower(), m.group(2)
    parts = [p for p in rest.split("\\") if p != ""]
    for part in parts:
        if part in _BAD_SEGMENTS or any(c in part for c in '<>:"|?*\x00') or part.endswith((" ", ".")) \
                or _DEVICE_RE.match(part) or len(part.encode("utf-8")) > 255:
            raise InputError(f"unsafe path segment {part[:80]!r} in {windows_path[:300]!r}")
    if not parts:
        raise InputError(f"path names a drive, not a file: {windows_path!r}")
    return Path("files", drive, *parts)


def relative_to_windows(rel: Path) -> str:
    """Inverse of :func:`windows_to_relative` (``rel`` is relative to the node folder)."""
    parts = rel.parts
    if len(parts) < 3 or parts[0] != "files" or len(parts[1]) != 1:
        raise InputError(f"not a files/<drive>/... path: {rel}")
    return parts[1].upper() + ":\\" + "\\".join(parts[2:])


def safe_folder_name(name: str) -> str:
    """A node name usable as one folder name (no separators, no dots-only, bounded)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "node"
    cleaned = cleaned[:100].rstrip(".")
    return "_" + cleaned if _DEVICE_RE.match(cleaned) else cleaned


def _read_json(path: Path) -> dict[str, Any]:
    data = read_json_file(path, not_found="node.json not found")
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", source=str(path), line=1)
    if data.get("format") != NODE_FORMAT:
        raise InputError(f"not a node file (format must be {NODE_FORMAT!r})", source=str(path))
    version = data.get("version")
    if not isinstance(version, int) or version > NODE_FORMAT_VERSION or version < 1:
        raise InputError(
            f"unsupported node format version {version!r} (this auditor reads 1..{NODE_FORMAT_VERSION})",
            source=str(path),
        )
    return data


_FIELD_CHECKS = {  # dataclass field annotations (strings: postponed evaluation) -> validator
    "str": lambda v: isinstance(v, str),
    "str | None": lambda v: v is None or isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "int | None": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "bool": lambda v: isinstance(v, bool),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def _typed(value: Any, check: str, source: str, what: str) -> Any:
    """``value`` if it has the declared type; a hand-edited or hostile node.json must fail
    here with file and key, not later inside a check with a TypeError."""
    if not _FIELD_CHECKS[check](value):
        raise InputError(f"{what}: expected {check}, got {type(value).__name__}", source=source)
    return value


def _mapping(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    v = data.get(key) or {}
    if not isinstance(v, dict):
        raise InputError(f"{key}: expected an object, got {type(v).__name__}", source=source)
    return v


def _build(cls, raw: Any, source: str, what: str):
    if not isinstance(raw, dict):
        raise InputError(f"{what}: expected an object, got {type(raw).__name__}", source=source)
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise InputError(f"{what}: unknown field(s) {sorted(unknown)}", source=source)
    for name, f in cls.__dataclass_fields__.items():
        if name in raw and str(f.type) in _FIELD_CHECKS:
            _typed(raw[name], str(f.type), source, f"{what}.{name}")
    try:
        return cls(**raw)
    except TypeError as exc:
        raise InputError(f"{what}: {exc}", source=source) from None


def _clock(raw: Any, source: str) -> ClockSample | None:
    """node.json ``clock`` (null or absent: not measured): four ISO 8601 UTC times."""
    if raw is None:
        return None
    fields = ("node_started", "node_finished", "sent", "received")
    if not isinstance(raw, dict) or set(raw) != set(fields) or not all(
            isinstance(raw[k], str) and _UTC_RE.match(raw[k]) for k in fields):
        raise InputError(f"clock: expected null or an object of four UTC times ({', '.join(fields)})",
                         source=source)
    return ClockSample.from_dict(raw)


def state_from_facts(name: str, data: dict[str, Any], source: str = "node.json") -> NodeState:
    """Build a NodeState (without file contents) from a node.json dictionary."""

    def lst(key: str) -> list:
        v = data.get(key) or []
        if not isinstance(v, list):
            raise InputError(f"{key}: expected a list", source=source)
        return v

    environment = _mapping(data, "environment", source)
    registry = _mapping(data, "registry", source)
    for k, v in registry.items():
        if not isinstance(v, dict):
            raise InputError(f"registry[{k!r}]: expected an object, got {type(v).__name__}", source=source)
    state = NodeState(
        name=name,
        hostname=str(data.get("hostname") or ""),
        fqdn=str(data.get("fqdn") or ""),
        os=_build(OsInfo, data.get("os") or {}, source, "os"),
        dotnet_release=_typed(data.get("dotnet_release"), "int | None", source, "dotnet_release"),
        interfaces=[_build(Interface, i, source, "interfaces[]") for i in lst("interfaces")],
        services=[_build(Service, s, source, "services[]") for s in lst("services")],
        processes=[_build(Process, p, source, "processes[]") for p in lst("processes")],
        listening_ports=[_build(ListeningPort, p, source, "listening_ports[]") for p in lst("listening_ports")],
        environment={str(k): str(v) for k, v in environment.items()},
        registry={str(k): dict(v) for k, v in registry.items()},
        collected_at=_typed(data.get("collected_at"), "str | None", source, "collected_at"),
        clock=_clock(data.get("clock"), source),
    )
    for p, probe in _mapping(data, "probes", source).items():
        if not isinstance(probe, dict):
            raise InputError(f"probes[{p!r}]: expected an object", source=source)
        state.probes[path_key(p)] = PathProbe(
            path=p, exists=bool(probe.get("exists")), is_dir=bool(probe.get("is_dir")),
            error=_typed(probe.get("error"), "str | None", source, f"probes[{p!r}].error"))
    for p in _typed(lst("missing_files"), "list[str]", source, "missing_files"):
        state.files[path_key(p)] = FileEntry(path=p, content=None, exists=False)
    if data.get("etcd") is not None:
        try:
            state.etcd = etcd_from_json(data["etcd"], complete=False)
        except ValueError as exc:
            raise InputError(f"etcd.{exc}", source=source) from None
    return state


def load_node(folder: Path, name: str | None = None) -> NodeState:
    """Load a node folder. File contents are read as bytes, exactly as stored."""
    folder = Path(folder)
    data = _read_json(folder / "node.json")
    source = str(folder / "node.json")
    state = state_from_facts(name or folder.name, data, source)
    times = {path_key(k): _typed(v, "str | None", source, f"file_times[{k!r}]")
             for k, v in _mapping(data, "file_times", source).items()}
    errors = {path_key(k): _typed(v, "str | None", source, f"file_errors[{k!r}]")
              for k, v in _mapping(data, "file_errors", source).items()}
    files_root = folder / "files"
    if files_root.is_dir():
        for dirpath, _dirs, filenames in os.walk(files_root):
            for fn in filenames:
                full = Path(dirpath) / fn
                rel = full.relative_to(folder)
                try:
                    win = relative_to_windows(rel)
                except InputError as exc:  # a stray file: name it, do not guess a Windows path
                    raise InputError(exc.message, source=str(full)) from None
                key = path_key(win)
                state.files[key] = FileEntry(
                    path=win, content=full.read_bytes(), mtime=times.get(key), exists=True, error=errors.get(key)
                )
    return state


def find_file(folder: Path, windows_path: str) -> Path | None:
    """Case-insensitive lookup of a Windows path inside a node folder (as NTFS would)."""
    rel = windows_to_relative(windows_path)
    current = Path(folder)
    for part in rel.parts:
        if (current / part).exists():
            current = current / part
            continue
        if not current.is_dir():
            return None
        match = next((c for c in current.iterdir() if c.name.lower() == part.lower()), None)
        if match is None:
            return None
        current = match
    return current


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_node(state: NodeState, folder: Path) -> None:
    """Write ``state`` as a node folder (node.json + files/)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    for entry in state.files.values():
        if not entry.exists or entry.content is None:
            continue
        rel = windows_to_relative(entry.path)
        target = (folder / rel).resolve()
        if root not in target.parents:
            raise InputError(f"refusing to write outside the node folder: {entry.path!r}")
        atomic_write(target, entry.content)
    text = json.dumps(state.facts_dict(), indent=2, sort_keys=False, ensure_ascii=True) + "\n"
    atomic_write(folder / "node.json", text.encode("ascii"))
