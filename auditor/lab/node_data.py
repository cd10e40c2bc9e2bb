"""One simulated node's data as the lab executor reads and changes it: ``node.json`` and the
``files/`` tree of a node folder (docs/node-format.md), plus the executor-level faults of its
manifest entry.

Shared by the op implementations (``auditor.lab.collect_ops``, ``auditor.lab.apply_ops``) and
the naive one-liners (``auditor.lab.naive``); every lookup of a Windows path goes through
:mod:`auditor.winpath`, the rules the PowerShell executor mirrors.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor import winpath
from auditor.errors import InputError
from auditor.manifest import NodeEntry
from auditor.nodefolder import atomic_write, find_file
from auditor.nodestate import Service
from auditor.remote.protocol import wild_match
from auditor.vocab import iso_utc

FAULTS = {
    "garbage_output": "stdout is text without a protocol line (exit 0)",
    "truncated_output": "the protocol line is cut in half (exit 0)",
    "huge_output": "int bytes (true = 20 MB) of junk lines before the real answer",
    "wrong_hostname": "string (true = 'IMPOSTOR'): the node answers as another host",
    "service_start_fail": "list of service names that stay Stopped when restarted (the op fails)",
    "installer_running": "true or a process name: an installer process is running",
    "op_errors": "{op name: error text}: that op fails on this node (e.g. access denied)",
    "locked_files": "list of Windows paths another program holds open: writing or restoring them fails",
    "clock_skew": "seconds (may be negative or fractional) the node's clock is ahead of the real time",
}
"""Executor-level faults understood in ``NodeEntry.lab["faults"]``; other keys belong to the
server layer and are ignored here."""

DEFAULT_INSTALLER = "ysq-management-server-install-6.0.113.exe"

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


class OpFailed(Exception):
    """One op failed the way it would on Windows (reported in the response, not fatal)."""


def now() -> datetime:
    return datetime.now(UTC)


def _node_lock(node_dir: Path) -> threading.RLock:
    """One lock per node folder (by real path), shared by every handler in this process."""
    key = str(Path(node_dir).resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


def check_faults(node: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Normalise this executor's fault values; an unknown kind is a typo and fails loudly.

    Kinds of the server layer (``LabFaults``) pass through untouched. Values may come from
    YAML/JSON or from ``--fault NODE:KIND=VALUE`` (strings: comma-separated lists,
    ``op:text`` for ``op_errors``).
    """
    from auditor.lab.winrm.server import LabFaults

    server_kinds = set(LabFaults.__dataclass_fields__)
    unknown = set(raw) - set(FAULTS) - server_kinds
    if unknown:
        raise InputError(f"node {node}: unknown fault kind(s) {sorted(unknown)}; executor faults: "
                         f"{', '.join(sorted(FAULTS))}; server faults: {', '.join(sorted(server_kinds))}")
    out = dict(raw)
    fails = out.get("service_start_fail")
    if isinstance(fails, str):
        out["service_start_fail"] = [x.strip() for x in fails.split(",") if x.strip()]
    elif fails is not None and not (isinstance(fails, list) and all(isinstance(x, str) for x in fails)):
        raise InputError(f"node {node}: service_start_fail must be a list of service names")
    errs = out.get("op_errors")
    if isinstance(errs, str):
        op, sep, text = errs.partition(":")
        if not sep:
            raise InputError(f"node {node}: op_errors as text must be OP:ERROR TEXT")
        out["op_errors"] = {op.strip(): text.strip()}
    elif errs is not None and not isinstance(errs, dict):
        raise InputError(f"node {node}: op_errors must map op names to error texts")
    skew = out.get("clock_skew")
    if skew is not None and (isinstance(skew, bool) or not isinstance(skew, (int, float))):
        raise InputError(f"node {node}: clock_skew must be a number of seconds")
    huge = out.get("huge_output")
    if huge is not None and not isinstance(huge, bool) and (not isinstance(huge, int) or huge < 0):
        raise InputError(f"node {node}: huge_output must be true or a byte count")
    return out


class LabNode:
    """A node folder and its faults (thread-safe through :attr:`lock`)."""

    def __init__(self, node_entry: NodeEntry, node_dir: Path):
        self.entry = node_entry
        self.node_dir = Path(node_dir)
        if not (self.node_dir / "node.json").is_file():
            raise InputError("node.json not found", source=str(self.node_dir))
        raw = (node_entry.lab or {}).get("faults") or {}
        if isinstance(raw, list):
            raw = {str(k): True for k in raw}
        if not isinstance(raw, dict):
            raise InputError(f"{node_entry.name}: lab.faults must be a mapping or a list")
        self.faults: dict[str, Any] = check_faults(node_entry.name, raw)
        self.lock = _node_lock(self.node_dir)

    def load(self) -> dict[str, Any]:
        return json.loads((self.node_dir / "node.json").read_text(encoding="utf-8-sig"))

    def save(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
        atomic_write(self.node_dir / "node.json", text.encode("ascii"))

    def clock(self) -> datetime:
        """What the node's clock reads now (the real time plus its ``clock_skew`` fault)."""
        return now() + timedelta(seconds=float(self.faults.get("clock_skew") or 0))

    def hostname(self, data: dict[str, Any]) -> str:
        wrong = self.faults.get("wrong_hostname")
        if wrong:
            return wrong if isinstance(wrong, str) else "IMPOSTOR"
        return str(data.get("hostname") or "")

    def processes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        procs = [dict(p) for p in data.get("processes") or []]
        inst = self.faults.get("installer_running")
        if inst:
            name = inst if isinstance(inst, str) else DEFAULT_INSTALLER
            procs.append({"name": name, "pid": 4242, "path": f"C:\\Users\\admin\\Downloads\\{name}",
                          "start_time": iso_utc(now() - timedelta(minutes=3)),
                          "command_line": f'"C:\\Users\\admin\\Downloads\\{name}" /S'})
        return sorted(procs, key=lambda p: int(p.get("pid") or 0))

    def match_processes(self, patterns: list[str], data: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for p in self.processes(data):
            if any(wild_match(pat, str(p.get("name", ""))) for pat in patterns):
                out.append({"name": p.get("name", ""), "pid": int(p.get("pid") or 0), "path": p.get("path", ""),
                            "start_time": p.get("start_time"), "command_line": p.get("command_line", "")})
        return out

    @staticmethod
    def service_out(s: dict[str, Any]) -> dict[str, Any]:
        return asdict(Service(**s))

    @staticmethod
    def find_service(data: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((s for s in data.get("services") or [] if str(s.get("name", "")).lower() == name.lower()), None)

    def path(self, windows_path: str) -> Path | None:
        """The file or folder of the node folder a Windows path names (any case), or None."""
        try:
            return find_file(self.node_dir, windows_path)
        except InputError:
            return None

    @staticmethod
    def lookup(mapping: dict[str, Any], windows_path: str) -> tuple[str | None, Any]:
        """(key as written, value) of the entry of ``mapping`` for ``windows_path``."""
        key = winpath.path_key(windows_path)
        for k, v in (mapping or {}).items():
            if winpath.path_key(k) == key:
                return k, v
        return None, None

    def probe(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        """Test-Path as the node would answer: a probe declared in node.json, else the folder
        tree (a share not declared is unreachable)."""
        _, declared = self.lookup(data.get("probes"), path)
        if isinstance(declared, dict):
            return {"path": path, "exists": bool(declared.get("exists")), "is_dir": bool(declared.get("is_dir")),
                    "error": declared.get("error")}
        if path.startswith("\\\\"):
            return {"path": path, "exists": False, "is_dir": False, "error": "The network path was not found."}
        real = self.path(path)
        return {"path": path, "exists": real is not None, "is_dir": bool(real is not None and real.is_dir()),
                "error": None}

    def install(self, install: dict[str, Any], data: dict[str, Any]) -> tuple[str | None, str | None]:
        """(service, install folder) of the first listed service the node has."""
        for name in install["services"]:
            s = self.find_service(data, name)
            if s is not None:
                return s["name"], winpath.install_dir(str(s.get("image_path") or ""), install["strip"])
        return None, None
