"""The lab's apply ops: what ``executor.ps1`` changes on a Windows node, changed in a node folder.

The node folder really changes (atomic writes, backups next to the file or in ``backup_dir``,
``node.json`` updated), so a fix applied through the lab can be re-collected and verified,
and the refusals are the executor's (a file changed since it was read, a missing backup, a
service that does not start: fault ``service_start_fail``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.lab.node_data import LabNode, OpFailed, now
from auditor.nodefolder import atomic_write, windows_to_relative
from auditor.remote.protocol import sha256_hex
from auditor.vocab import iso_utc
from auditor.winpath import path_key

Op = dict[str, Any]
Data = dict[str, Any]
Env = dict[str, str]


def _resolve_for_write(node: LabNode, windows_path: str) -> Path:
    """Existing file (any case) or a new file in an existing folder (any case)."""
    real = node.path(windows_path)
    if real is not None:
        if not real.is_file():
            raise OpFailed(f"{windows_path} is not a file")
        return real
    folder, _, name = windows_path.rpartition("\\")
    real_dir = node.path(folder)
    if real_dir is None or not real_dir.is_dir():
        raise OpFailed(f"folder {folder} does not exist")
    try:
        windows_to_relative(windows_path)
    except InputError as exc:
        raise OpFailed(str(exc)) from None
    return real_dir / name


def _refuse_unwritable(node: LabNode, target: Path, windows_path: str) -> None:
    """Refuse to replace a file as Windows would: one another program holds open (fault
    ``locked_files``: a sharing violation), or one with the read-only attribute (``File.Replace``
    refuses it even to an administrator; here: no write permission bit at all)."""
    locked = {path_key(p) for p in node.faults.get("locked_files") or []}
    if path_key(windows_path) in locked:
        raise OpFailed(f"The process cannot access the file '{windows_path}' because it is being used by "
                       "another process.")
    if target.is_file() and not target.stat().st_mode & 0o222:
        raise OpFailed(f"Access to the path '{windows_path}' is denied.")


def _set_time(node: LabNode, data, windows_path: str, mtime: str | None) -> None:
    times = data.setdefault("file_times", {})
    key, _ = node.lookup(times, windows_path)
    if key is not None:
        del times[key]
    if mtime:
        times[key or windows_path] = mtime
    missing = data.get("missing_files") or []
    data["missing_files"] = [m for m in missing if path_key(m) != path_key(windows_path)]
    errors = data.get("file_errors") or {}
    ekey, _ = node.lookup(errors, windows_path)
    if ekey is not None:
        del errors[ekey]


def op_write_file(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    path = op["path"]
    content = base64.b64decode(op["content_b64"])
    current = node.path(path)
    exists = current is not None and current.is_file()
    prev = sha256_hex(current.read_bytes()) if current is not None and exists else None
    expect = op["expect_sha256"]
    if expect is None and exists:
        raise OpFailed(f"refusing to write {path}: the file exists but the plan expected none (sha256 {prev})")
    if expect is not None and not exists:
        raise OpFailed(f"refusing to write {path}: the file does not exist (the plan expected sha256 {expect})")
    if expect is not None and prev != expect:
        raise OpFailed(f"refusing to write {path}: it changed since it was read (sha256 {prev}, expected {expect})")
    target = _resolve_for_write(node, path)
    backup = None
    if exists:
        bdir = op["backup_dir"] or path.rpartition("\\")[0]
        stamp = now().strftime("%Y%m%dT%H%M%S%f")[:-3] + "Z"
        backup = f"{bdir}\\{path.rpartition(chr(92))[2]}.{stamp}.paragon-auditor.bak"
        real_bdir = node.path(bdir)
        if real_bdir is None:
            try:
                real_bdir = node.node_dir / windows_to_relative(bdir)
            except InputError as exc:
                raise OpFailed(str(exc)) from None
            real_bdir.mkdir(parents=True, exist_ok=True)
        atomic_write(real_bdir / backup.rpartition("\\")[2], target.read_bytes())
        _set_time(node, data, backup, node.lookup(data.get("file_times"), path)[1])
    _refuse_unwritable(node, target, path)  # after the backup copy, as executor.ps1 fails in File.Replace
    atomic_write(target, content)
    mtime = iso_utc(now())
    _set_time(node, data, path, mtime)
    node.save(data)
    return {"path": path, "backup_path": backup, "previous_sha256": prev, "sha256": sha256_hex(content),
            "mtime": mtime}


def op_restore_file(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    path, backup = op["path"], op["backup_path"]
    real_backup = node.path(backup)
    if real_backup is None or not real_backup.is_file():
        raise OpFailed(f"backup {backup} not found")
    target = _resolve_for_write(node, path)
    if op["expect_sha256"] is not None and target.is_file():
        cur = sha256_hex(target.read_bytes())
        if cur != op["expect_sha256"]:
            raise OpFailed(f"refusing to restore {path}: it changed since it was written "
                           f"(sha256 {cur}, expected {op['expect_sha256']})")
    content = real_backup.read_bytes()
    _refuse_unwritable(node, target, path)
    atomic_write(target, content)
    mtime = node.lookup(data.get("file_times"), backup)[1] or iso_utc(now())
    _set_time(node, data, path, mtime)
    node.save(data)
    return {"path": path, "backup_path": backup, "sha256": sha256_hex(content), "mtime": mtime}


def op_restart_service(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    name = op["name"]
    svc = node.find_service(data, name)
    if svc is None:
        raise OpFailed(f"service {name} not found")
    failing = [str(n).lower() for n in node.faults.get("service_start_fail") or []]
    if name.lower() in failing:
        svc.update(state="Stopped", start_time=None, pid=None)
        node.save(data)
        raise OpFailed(f"service {name} did not reach Running within {op['timeout_s']} s (state: Stopped)")
    pids = [int(s.get("pid") or 0) for s in data.get("services") or []]
    svc.update(state="Running", start_time=iso_utc(now()), pid=max(pids + [1000]) + 4)
    node.save(data)
    return {"name": svc["name"], "state": "Running", "start_time": svc["start_time"], "pid": svc["pid"]}


def op_set_service_account(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    name = op["name"]
    var = op["password_env"]
    if var is not None and not any(k.lower() == var.lower() for k in env):
        raise OpFailed(f"password variable {var} is not set in the shell")
    svc = node.find_service(data, name)
    if svc is None:
        raise OpFailed(f"service {name} not found")
    svc["account"] = op["account"]  # the password is checked for presence only, never stored
    node.save(data)
    return {"name": svc["name"], "account": svc["account"]}


def op_check_installers(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    running = node.match_processes(op["patterns"], data)
    if running:
        raise OpFailed("installer running: " + ", ".join(f"{p['name']} (pid {p['pid']})" for p in running))
    return {"running": []}


APPLY_OPS = {"write_file": op_write_file, "restore_file": op_restore_file, "restart_service": op_restart_service,
             "set_service_account": op_set_service_account, "check_installers": op_check_installers}
