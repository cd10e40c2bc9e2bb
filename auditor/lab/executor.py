"""The lab's interpreter of the remote request protocol, run against a node folder.

The lab WinRM endpoint (``auditor.lab.winrm``) hands every command to a ``CommandHandler``;
:func:`make_handler` gives one per simulated node. It plays the part of
``powershell -EncodedCommand <bootstrap>`` + ``executor.ps1`` on a Windows node:

* it accepts only the exact auditor bootstrap, with exactly the shipped ``executor.ps1`` in the
  shell variables (compared by SHA-256), and a request that passes
  :func:`auditor.remote.protocol.validate_request`;
* it executes every op against the node folder (``node.json`` + ``files/``) with the same
  rules as ``executor.ps1`` (shared helpers in ``auditor.remote.protocol``) and answers with
  the same bytes the PowerShell side would write for the same data;
* apply ops really change the node folder (atomic writes, ``node.json`` updated), so a fix
  can be re-collected and verified;
* a short, explicit list of "naive admin" one-liners (:data:`NAIVE_COMMANDS`) is understood
  so the benchmark can compare against ``Session.run_ps`` usage.

Anything else fails loudly (error text, exit code 1): the lab never makes up a plausible
answer for something it does not simulate. Faults come from the manifest entry's
``lab.faults`` (see :data:`FAULTS`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.lab.winrm.handler import CommandHandler, CommandResult, ShellContext
from auditor.manifest import NodeEntry
from auditor.nodefolder import atomic_write, find_file, windows_to_relative
from auditor.nodestate import OsInfo, Service, path_key
from auditor.remote import bootstrap
from auditor.remote.protocol import (
    ProtocolError,
    encode_output,
    install_dir_from_image_path,
    is_absolute_windows,
    join_windows,
    read_java_property,
    sha256_hex,
    validate_request,
    wild_match,
    wild_regex,
)
from auditor.vocab import OpStatus, iso_utc

FAULTS = {
    "garbage_output": "stdout is text without a protocol line (exit 0)",
    "truncated_output": "the protocol line is cut in half (exit 0)",
    "huge_output": "int bytes (true = 20 MB) of junk lines before the real answer",
    "wrong_hostname": "string (true = 'IMPOSTOR'): the node answers as another host",
    "service_start_fail": "list of service names that stay Stopped when restarted (the op fails)",
    "installer_running": "true or a process name: an installer process is running",
    "op_errors": "{op name: error text}: that op fails on this node (e.g. access denied)",
}
"""Executor-level faults understood in ``NodeEntry.lab["faults"]``; other keys belong to the
server layer and are ignored here."""

DEFAULT_INSTALLER = "ysq-management-server-install-6.0.113.exe"
HUGE_DEFAULT = 20 * 1024 * 1024

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _node_lock(node_dir: Path) -> threading.RLock:
    """One lock per node folder (by real path), shared by every handler in this process."""
    key = str(Path(node_dir).resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


def _now() -> datetime:
    return datetime.now(UTC)


class LabFailure(Exception):
    """The lab cannot interpret a command: becomes error text + exit code 1."""


class OpFailed(Exception):
    """One op failed the way it would on Windows (reported in the response, not fatal)."""


# ---------------------------------------------------------------------------------------------
# Command line parsing
# ---------------------------------------------------------------------------------------------

_PS_LINE = re.compile(
    r"^\s*powershell(?:\.exe)?((?:\s+-(?:NoProfile|NonInteractive))*)\s+-(?:EncodedCommand|enc|ec|e)\s+"
    r"([A-Za-z0-9+/=]+)\s*$", re.IGNORECASE)


def decode_command_line(command_line: str) -> str:
    """The PowerShell script of ``powershell ... -EncodedCommand <b64 UTF-16LE>``."""
    m = _PS_LINE.match(command_line)
    if not m:
        raise LabFailure(f"lab: cannot interpret command line (not powershell -EncodedCommand): {command_line[:80]!r}")
    try:
        return base64.b64decode(m.group(2), validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise LabFailure("lab: -EncodedCommand argument is not base64 of UTF-16LE text") from None


# ---------------------------------------------------------------------------------------------
# Naive admin one-liners (benchmark baseline)
# ---------------------------------------------------------------------------------------------

_Q = r"'((?:[^']|'')*)'"
_STATUS = {"running": 4, "stopped": 1, "startpending": 2, "stoppending": 3, "continuepending": 5,
           "pausepending": 6, "paused": 7}
_START_TYPE = {"boot": 0, "system": 1, "auto": 2, "manual": 3, "disabled": 4}


def _unq(s: str) -> str:
    return s.replace("''", "'")


def _ps51_text(data: bytes) -> str:
    """Windows PowerShell 5.1 Get-Content without -Encoding: BOM if present, else ANSI (1252)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("cp1252", errors="replace")


NAIVE_COMMANDS: list[tuple[str, str]] = [
    (rf"^Get-Content -Raw -LiteralPath {_Q}$", "file text (PS 5.1 default encoding: BOM, else ANSI 1252)"),
    (rf"^Get-Service -Name {_Q} \| Select-Object Name,Status,StartType \| ConvertTo-Json$",
     "service as PS 5.1 ConvertTo-Json (Status/StartType as numbers)"),
    (rf"^Test-Path -LiteralPath {_Q}$", "True/False (files, folders, declared probes)"),
    (r"^hostname$", "the node's hostname"),
    (rf"^Get-ItemPropertyValue -LiteralPath {_Q} -Name {_Q}$", "one registry value (HKLM:\\... path)"),
    (r"^\(Get-CimInstance Win32_Service -Filter \"Name='([^'\"]*)'\"\)\.StartName$", "a service's account"),
]
"""The exact one-liners the lab understands besides the auditor bootstrap (regex, meaning)."""


def _check_faults(node: str, raw: dict[str, Any]) -> dict[str, Any]:
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
    huge = out.get("huge_output")
    if huge is not None and not isinstance(huge, bool) and (not isinstance(huge, int) or huge < 0):
        raise InputError(f"node {node}: huge_output must be true or a byte count")
    return out


# ---------------------------------------------------------------------------------------------
# The handler
# ---------------------------------------------------------------------------------------------

class LabExecutor:
    """A :class:`CommandHandler` for one simulated node (thread-safe; see module docstring)."""

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
        self.faults: dict[str, Any] = _check_faults(node_entry.name, raw)
        self.lock = _node_lock(self.node_dir)

    # -- CommandHandler ------------------------------------------------------------------------
    def run(self, shell: ShellContext, command_line: str, arguments: list[str],
            skip_cmd_shell: bool) -> CommandResult:
        try:
            if arguments:
                raise LabFailure(f"lab: unexpected command arguments {arguments!r}")
            script = decode_command_line(command_line)
            if script == bootstrap.bootstrap_script():
                return self._run_protocol(shell)
            return self._run_naive(script.strip())
        except LabFailure as exc:
            return CommandResult(stdout="", error=str(exc), exit_code=1)
        except Exception as exc:  # noqa: BLE001 - e.g. a hand-edited node.json: fail loudly, never hang
            return CommandResult(stdout="", error=f"lab: cannot simulate {self.entry.name}: "
                                                   f"{type(exc).__name__}: {exc}", exit_code=1)

    # -- node data -----------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        return json.loads((self.node_dir / "node.json").read_text(encoding="utf-8-sig"))

    def _save(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
        atomic_write(self.node_dir / "node.json", text.encode("ascii"))

    def _hostname(self, data: dict[str, Any]) -> str:
        wrong = self.faults.get("wrong_hostname")
        if wrong:
            return wrong if isinstance(wrong, str) else "IMPOSTOR"
        return str(data.get("hostname") or "")

    def _processes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        procs = [dict(p) for p in data.get("processes") or []]
        inst = self.faults.get("installer_running")
        if inst:
            name = inst if isinstance(inst, str) else DEFAULT_INSTALLER
            procs.append({"name": name, "pid": 4242, "path": f"C:\\Users\\admin\\Downloads\\{name}",
                          "start_time": iso_utc(_now() - timedelta(minutes=3)),
                          "command_line": f'"C:\\Users\\admin\\Downloads\\{name}" /S'})
        return sorted(procs, key=lambda p: int(p.get("pid") or 0))

    @staticmethod
    def _service_out(s: dict[str, Any]) -> dict[str, Any]:
        return asdict(Service(**s))

    @staticmethod
    def _find_service(data: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((s for s in data.get("services") or [] if str(s.get("name", "")).lower() == name.lower()), None)

    def _path(self, windows_path: str) -> Path | None:
        try:
            return find_file(self.node_dir, windows_path)
        except InputError:
            return None

    @staticmethod
    def _lookup(mapping: dict[str, Any], windows_path: str) -> tuple[str | None, Any]:
        key = path_key(windows_path)
        for k, v in (mapping or {}).items():
            if path_key(k) == key:
                return k, v
        return None, None

    # -- protocol path -------------------------------------------------------------------------
    def _run_protocol(self, shell: ShellContext) -> CommandResult:
        env = shell.env or {}
        xb64 = bootstrap.read_env_chunks(env, bootstrap.EXECUTOR_VAR)
        if xb64 is None:
            raise LabFailure("paragon-auditor bootstrap: shell variable PA_X0 is missing")
        try:
            executor = bootstrap.unpack(xb64)
        except (OSError, EOFError, ValueError, binascii.Error):
            raise LabFailure("lab: PA_X* does not hold gzip+base64 text") from None
        got = hashlib.sha256(executor.encode("utf-8")).hexdigest()
        if got != bootstrap.executor_sha256():
            raise LabFailure(f"lab: the executor sent (sha256 {got[:16]}...) is not the shipped executor.ps1 "
                             f"(sha256 {bootstrap.executor_sha256()[:16]}...)")
        rb64 = bootstrap.read_env_chunks(env, bootstrap.REQUEST_VAR)
        if rb64 is None:
            raise LabFailure("paragon-auditor bootstrap: shell variable PA_R0 is missing")
        try:
            request_text = bootstrap.unpack(rb64)
        except (OSError, EOFError, ValueError, binascii.Error):
            raise LabFailure("lab: PA_R* does not hold gzip+base64 text") from None
        try:
            request = json.loads(request_text)
        except json.JSONDecodeError as exc:
            raise LabFailure(f"paragon-auditor executor: request is not valid JSON: {exc}") from None
        try:
            validate_request(request)
        except ProtocolError as exc:
            raise LabFailure(f"paragon-auditor executor: {exc}") from None
        with self.lock:
            response = self._execute(request, env)
        out = encode_output(response).replace("\r\n", "\n")
        return self._apply_output_faults(out)

    def _apply_output_faults(self, out: str) -> CommandResult:
        if self.faults.get("garbage_output"):
            return CommandResult(stdout="Get-CimInstance : Zugriff verweigert\n\x1b[2J#< junk ~~~ 0xDEADBEEF\n")
        if self.faults.get("truncated_output"):
            return CommandResult(stdout=out[: len(out) // 2])
        huge = self.faults.get("huge_output")
        if huge:
            size = HUGE_DEFAULT if huge is True else int(huge)
            line = "WARNING: " + "x" * 1014 + "\n"
            return CommandResult(stdout=line * (size // len(line) + 1) + out)
        return CommandResult(stdout=out)

    def _execute(self, request: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
        started = iso_utc(_now())
        data = self._load()
        results = []
        stop = False
        kind = request["kind"]
        op_errors = self.faults.get("op_errors") or {}
        for op in request["ops"]:
            r: dict[str, Any] = {"op": op["op"], "id": op["id"], "status": OpStatus.OK, "error": None, "data": None}
            if stop:
                r["status"], r["error"] = OpStatus.SKIPPED, "not run: an earlier op failed"
            else:
                try:
                    if op["op"] in op_errors:
                        raise OpFailed(str(op_errors[op["op"]]))
                    r["data"] = getattr(self, "_op_" + op["op"])(op, data, env)
                except OpFailed as exc:
                    r["status"], r["error"] = OpStatus.FAILED, str(exc)
                    stop = kind == "apply"
            results.append(r)
        return {"protocol": 1, "kind": kind, "request_id": request["request_id"], "hostname": self._hostname(data),
                "started": started, "finished": iso_utc(_now()), "results": results}

    # -- collect ops ---------------------------------------------------------------------------
    def _op_facts(self, op, data, env):
        host = self._hostname(data)
        fqdn = str(data.get("fqdn") or "")
        if self.faults.get("wrong_hostname") and fqdn:
            fqdn = host.lower() + ("." + fqdn.split(".", 1)[1] if "." in fqdn else "")
        node_env = data.get("environment") or {}
        env_out = {}
        for n in op["env"]:
            hit = next((v for k, v in node_env.items() if k.lower() == n.lower()), None)
            if hit is not None:
                env_out[n] = str(hit)
        return {"hostname": host, "fqdn": fqdn, "os": asdict(OsInfo(**(data.get("os") or {}))),
                "dotnet_release": data.get("dotnet_release"),
                "interfaces": [{"name": i["name"], "ipv4": list(i.get("ipv4") or [])}
                               for i in data.get("interfaces") or []],
                "environment": env_out}

    def _op_services(self, op, data, env):
        return {"services": [self._service_out(s) for s in data.get("services") or []
                             if any(wild_match(p, str(s.get("name", ""))) for p in op["patterns"])]}

    def _match_processes(self, patterns, data):
        out = []
        for p in self._processes(data):
            if any(wild_match(pat, str(p.get("name", ""))) for pat in patterns):
                out.append({"name": p.get("name", ""), "pid": int(p.get("pid") or 0), "path": p.get("path", ""),
                            "start_time": p.get("start_time"), "command_line": p.get("command_line", "")})
        return out

    def _op_processes(self, op, data, env):
        return {"processes": self._match_processes(op["patterns"], data)}

    def _op_ports(self, op, data, env):
        ports = sorted(data.get("listening_ports") or [], key=lambda p: (int(p["port"]), str(p.get("address", ""))))
        return {"ports": [{"address": p.get("address", ""), "port": int(p["port"]), "pid": p.get("pid")}
                          for p in ports]}

    def _op_registry(self, op, data, env):
        reg = data.get("registry") or {}
        out = {}
        for key in op["keys"]:
            hit = next((v for k, v in reg.items() if k.lower() == key.lower()), None)
            if hit is not None:
                out[key] = dict(hit)
        return {"keys": out}

    def _install(self, install, data) -> tuple[str | None, str | None]:
        for name in install["services"]:
            s = self._find_service(data, name)
            if s is not None:
                return s["name"], install_dir_from_image_path(str(s.get("image_path") or ""), install["strip"])
        return None, None

    def _read_file(self, windows_path: str, max_bytes: int, data) -> dict[str, Any]:
        e: dict[str, Any] = {"path": windows_path, "exists": False, "mtime": None, "size": None,
                             "content_b64": None, "truncated": False, "error": None}
        real = self._path(windows_path)
        if real is None or not real.is_file():
            return e
        e["exists"] = True
        e["mtime"] = self._lookup(data.get("file_times"), windows_path)[1]
        _, err = self._lookup(data.get("file_errors"), windows_path)
        content = real.read_bytes()
        if err and not re.match(r"^truncated at \d+ bytes$", str(err)):
            e["error"] = str(err)
            return e
        e["size"] = len(content)
        e["content_b64"] = base64.b64encode(content[:max_bytes]).decode("ascii")
        e["truncated"] = len(content) > max_bytes or bool(err)
        return e

    def _op_files(self, op, data, env):
        service, install_dir = self._install(op["install"], data)
        files = []
        if install_dir is not None:
            for spec in op["files"]:
                full = join_windows(install_dir, spec["path"])
                folder, _, leaf = full.rpartition("\\")
                if "*" in leaf or "?" in leaf:
                    real_dir = self._path(folder)
                    if real_dir is None or not real_dir.is_dir():
                        continue
                    rx = wild_regex(leaf)
                    names = sorted((c.name for c in real_dir.iterdir() if c.is_file() and rx.match(c.name)),
                                   key=str.upper)
                    files += [self._read_file(f"{folder}\\{n}", spec["max_bytes"], data) for n in names]
                else:
                    files.append(self._read_file(full, spec["max_bytes"], data))
        return {"subsystem": op["subsystem"], "service": service, "install_dir": install_dir, "files": files}

    def _probe(self, path: str, data) -> dict[str, Any]:
        _, declared = self._lookup(data.get("probes"), path)
        if isinstance(declared, dict):
            return {"path": path, "exists": bool(declared.get("exists")), "is_dir": bool(declared.get("is_dir")),
                    "error": declared.get("error")}
        if path.startswith("\\\\"):
            return {"path": path, "exists": False, "is_dir": False, "error": "The network path was not found."}
        real = self._path(path)
        return {"path": path, "exists": real is not None, "is_dir": bool(real is not None and real.is_dir()),
                "error": None}

    def _op_probe(self, op, data, env):
        service, install_dir = self._install(op["install"], data)
        probes = []
        for p in op["paths"]:
            if is_absolute_windows(p):
                probes.append(self._probe(p, data))
            elif install_dir is not None:
                probes.append(self._probe(join_windows(install_dir, p), data))
        return {"subsystem": op["subsystem"], "service": service, "install_dir": install_dir, "probes": probes}

    def _op_probe_property(self, op, data, env):
        service, install_dir = self._install(op["install"], data)
        d: dict[str, Any] = {"subsystem": op["subsystem"], "service": service, "install_dir": install_dir,
                             "file": None, "key": op["key"], "found": False, "value": None, "probe": None}
        if install_dir is None:
            return d
        d["file"] = join_windows(install_dir, op["file"])
        real = self._path(d["file"])
        if real is None or not real.is_file():
            return d
        value = read_java_property(real.read_bytes(), op["key"])
        if value is None:
            return d
        d["found"], d["value"] = True, value
        if is_absolute_windows(value):
            d["probe"] = self._probe(value, data)
        return d

    # -- apply ops -----------------------------------------------------------------------------
    def _resolve_for_write(self, windows_path: str) -> Path:
        """Existing file (any case) or a new file in an existing folder (any case)."""
        real = self._path(windows_path)
        if real is not None:
            if not real.is_file():
                raise OpFailed(f"{windows_path} is not a file")
            return real
        folder, _, name = windows_path.rpartition("\\")
        real_dir = self._path(folder)
        if real_dir is None or not real_dir.is_dir():
            raise OpFailed(f"folder {folder} does not exist")
        try:
            windows_to_relative(windows_path)
        except InputError as exc:
            raise OpFailed(str(exc)) from None
        return real_dir / name

    def _set_time(self, data, windows_path: str, mtime: str | None) -> None:
        times = data.setdefault("file_times", {})
        key, _ = self._lookup(times, windows_path)
        if key is not None:
            del times[key]
        if mtime:
            times[key or windows_path] = mtime
        missing = data.get("missing_files") or []
        data["missing_files"] = [m for m in missing if path_key(m) != path_key(windows_path)]
        errors = data.get("file_errors") or {}
        ekey, _ = self._lookup(errors, windows_path)
        if ekey is not None:
            del errors[ekey]

    def _op_write_file(self, op, data, env):
        path = op["path"]
        content = base64.b64decode(op["content_b64"])
        current = self._path(path)
        exists = current is not None and current.is_file()
        prev = sha256_hex(current.read_bytes()) if current is not None and exists else None
        expect = op["expect_sha256"]
        if expect is None and exists:
            raise OpFailed(f"refusing to write {path}: the file exists but the plan expected none (sha256 {prev})")
        if expect is not None and not exists:
            raise OpFailed(f"refusing to write {path}: the file does not exist (the plan expected sha256 {expect})")
        if expect is not None and prev != expect:
            raise OpFailed(f"refusing to write {path}: it changed since it was read (sha256 {prev}, expected {expect})")
        target = self._resolve_for_write(path)
        backup = None
        if exists:
            bdir = op["backup_dir"] or path.rpartition("\\")[0]
            stamp = _now().strftime("%Y%m%dT%H%M%S%f")[:-3] + "Z"
            backup = f"{bdir}\\{path.rpartition(chr(92))[2]}.{stamp}.paragon-auditor.bak"
            real_bdir = self._path(bdir)
            if real_bdir is None:
                try:
                    real_bdir = self.node_dir / windows_to_relative(bdir)
                except InputError as exc:
                    raise OpFailed(str(exc)) from None
                real_bdir.mkdir(parents=True, exist_ok=True)
            atomic_write(real_bdir / backup.rpartition("\\")[2], target.read_bytes())
            self._set_time(data, backup, self._lookup(data.get("file_times"), path)[1])
        atomic_write(target, content)
        mtime = iso_utc(_now())
        self._set_time(data, path, mtime)
        self._save(data)
        return {"path": path, "backup_path": backup, "previous_sha256": prev, "sha256": sha256_hex(content),
                "mtime": mtime}

    def _op_restore_file(self, op, data, env):
        path, backup = op["path"], op["backup_path"]
        real_backup = self._path(backup)
        if real_backup is None or not real_backup.is_file():
            raise OpFailed(f"backup {backup} not found")
        target = self._resolve_for_write(path)
        if op["expect_sha256"] is not None and target.is_file():
            cur = sha256_hex(target.read_bytes())
            if cur != op["expect_sha256"]:
                raise OpFailed(f"refusing to restore {path}: it changed since it was written "
                               f"(sha256 {cur}, expected {op['expect_sha256']})")
        content = real_backup.read_bytes()
        atomic_write(target, content)
        mtime = self._lookup(data.get("file_times"), backup)[1] or iso_utc(_now())
        self._set_time(data, path, mtime)
        self._save(data)
        return {"path": path, "backup_path": backup, "sha256": sha256_hex(content), "mtime": mtime}

    def _op_restart_service(self, op, data, env):
        name = op["name"]
        svc = self._find_service(data, name)
        if svc is None:
            raise OpFailed(f"service {name} not found")
        failing = [str(n).lower() for n in self.faults.get("service_start_fail") or []]
        if name.lower() in failing:
            svc.update(state="Stopped", start_time=None, pid=None)
            self._save(data)
            raise OpFailed(f"service {name} did not reach Running within {op['timeout_s']} s (state: Stopped)")
        pids = [int(s.get("pid") or 0) for s in data.get("services") or []]
        svc.update(state="Running", start_time=iso_utc(_now()), pid=max(pids + [1000]) + 4)
        self._save(data)
        return {"name": svc["name"], "state": "Running", "start_time": svc["start_time"], "pid": svc["pid"]}

    def _op_set_service_account(self, op, data, env):
        name = op["name"]
        var = op["password_env"]
        if var is not None and not any(k.lower() == var.lower() for k in env):
            raise OpFailed(f"password variable {var} is not set in the shell")
        svc = self._find_service(data, name)
        if svc is None:
            raise OpFailed(f"service {name} not found")
        svc["account"] = op["account"]  # the password is checked for presence only, never stored
        self._save(data)
        return {"name": svc["name"], "account": svc["account"]}

    def _op_check_installers(self, op, data, env):
        running = self._match_processes(op["patterns"], data)
        if running:
            raise OpFailed("installer running: " + ", ".join(f"{p['name']} (pid {p['pid']})" for p in running))
        return {"running": []}

    # -- naive one-liners ----------------------------------------------------------------------
    def _run_naive(self, script: str) -> CommandResult:
        for i, (rx, _meaning) in enumerate(NAIVE_COMMANDS):
            m = re.match(rx, script)
            if m:
                with self.lock:
                    return getattr(self, f"_naive_{i}")(*[_unq(g) for g in m.groups()])
        raise LabFailure(f"lab: unrecognised script (neither the paragon-auditor bootstrap nor a supported "
                         f"one-liner, see docs/protocol.md): {script[:100]!r}")

    def _naive_0(self, path: str) -> CommandResult:  # Get-Content -Raw
        real = self._path(path)
        if real is None or not real.is_file():
            return CommandResult("", f"Get-Content : Cannot find path '{path}' because it does not exist.", 1)
        return CommandResult(_ps51_text(real.read_bytes()).replace("\r\n", "\n") + "\n")

    def _naive_1(self, name: str) -> CommandResult:  # Get-Service | Select | ConvertTo-Json
        svc = self._find_service(self._load(), name)
        if svc is None:
            return CommandResult("", f"Get-Service : Cannot find any service with service name '{name}'.", 1)
        status = _STATUS.get(str(svc.get("state", "")).replace(" ", "").lower(), 1)
        start = _START_TYPE.get(str(svc.get("start_mode", "")).lower(), 3)
        name_json = json.dumps(svc["name"])
        return CommandResult(f'{{\n    "Name":  {name_json},\n    "Status":  {status},\n'
                             f'    "StartType":  {start}\n}}\n')

    def _naive_2(self, path: str) -> CommandResult:  # Test-Path
        probe = self._probe(path, self._load())
        return CommandResult("True\n" if probe["exists"] else "False\n")

    def _naive_3(self) -> CommandResult:  # hostname
        return CommandResult(self._hostname(self._load()) + "\n")

    def _naive_4(self, key: str, value: str) -> CommandResult:  # Get-ItemPropertyValue
        reg = self._load().get("registry") or {}
        k = re.sub(r"^HKLM:\\", "HKLM\\\\", key, flags=re.IGNORECASE)
        vals = next((v for kk, v in reg.items() if kk.lower() == k.lower()), None)
        if vals is None or value not in vals:
            what = f"Cannot find path '{key}' because it does not exist." if vals is None else \
                f"Property {value} does not exist at path {key}."
            return CommandResult("", f"Get-ItemPropertyValue : {what}", 1)
        v = vals[value]
        return CommandResult("\n".join(str(x) for x in v) + "\n" if isinstance(v, list) else f"{v}\n")

    def _naive_5(self, name: str) -> CommandResult:  # (Get-CimInstance Win32_Service ...).StartName
        svc = self._find_service(self._load(), name)
        return CommandResult("" if svc is None else f"{svc.get('account', '')}\n")


def make_handler(node_entry: NodeEntry, node_dir: Path) -> CommandHandler:
    """A command handler that runs the auditor protocol against ``node_dir``."""
    return LabExecutor(node_entry, node_dir)


__all__ = ["FAULTS", "NAIVE_COMMANDS", "LabExecutor", "decode_command_line", "make_handler"]
