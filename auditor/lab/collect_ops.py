"""The lab's collect ops: what ``executor.ps1`` reads on a Windows node, read from a node folder.

Each ``op_<name>(node, op, data, env)`` answers one op of a collect request (docs/protocol.md,
section 2) with the same data shape the PowerShell executor produces, so both give
byte-identical answers for identical node data. Paths follow :mod:`auditor.winpath`, the rules
the PowerShell executor mirrors.
"""

from __future__ import annotations

import base64
import re
from dataclasses import asdict
from typing import Any

from auditor import winpath
from auditor.lab.node_data import LabNode, OpFailed
from auditor.nodestate import OsInfo
from auditor.remote.protocol import etcd_secret_pattern, read_java_property, wild_match, wild_regex

Op = dict[str, Any]
Data = dict[str, Any]
Env = dict[str, str]


def _case_insensitive(mapping: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """The entries of ``mapping`` for the ``wanted`` names, matched case-insensitively (as
    Windows matches environment variable and registry key names), keyed as asked."""
    by_lower = {}
    for k, v in mapping.items():
        by_lower.setdefault(k.lower(), v)
    return {name: by_lower[name.lower()] for name in wanted if by_lower.get(name.lower()) is not None}


def op_facts(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    host = node.hostname(data)
    fqdn = str(data.get("fqdn") or "")
    if node.faults.get("wrong_hostname") and fqdn:
        fqdn = host.lower() + ("." + fqdn.split(".", 1)[1] if "." in fqdn else "")
    env_out = {n: str(v) for n, v in _case_insensitive(data.get("environment") or {}, op["env"]).items()}
    return {"hostname": host, "fqdn": fqdn, "os": asdict(OsInfo(**(data.get("os") or {}))),
            "dotnet_release": data.get("dotnet_release"),
            "interfaces": [{"name": i["name"], "ipv4": list(i.get("ipv4") or [])}
                           for i in data.get("interfaces") or []],
            "environment": env_out}


def op_services(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    return {"services": [node.service_out(s) for s in data.get("services") or []
                         if any(wild_match(p, str(s.get("name", ""))) for p in op["patterns"])]}


def op_processes(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    return {"processes": node.match_processes(op["patterns"], data)}


def op_ports(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    ports = sorted(data.get("listening_ports") or [], key=lambda p: (int(p["port"]), str(p.get("address", ""))))
    return {"ports": [{"address": p.get("address", ""), "port": int(p["port"]), "pid": p.get("pid")}
                      for p in ports]}


def op_registry(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    return {"keys": {k: dict(v) for k, v in _case_insensitive(data.get("registry") or {}, op["keys"]).items()}}


def _read_file(node: LabNode, windows_path: str, max_bytes: int, data) -> dict[str, Any]:
    e: dict[str, Any] = {"path": windows_path, "exists": False, "mtime": None, "size": None,
                         "content_b64": None, "truncated": False, "error": None}
    real = node.path(windows_path)
    if real is None or not real.is_file():
        return e
    e["exists"] = True
    e["mtime"] = node.lookup(data.get("file_times"), windows_path)[1]
    _, err = node.lookup(data.get("file_errors"), windows_path)
    content = real.read_bytes()
    if err and not re.match(r"^truncated at \d+ bytes$", str(err)):
        e["error"] = str(err)
        return e
    e["size"] = len(content)
    e["content_b64"] = base64.b64encode(content[:max_bytes]).decode("ascii")
    e["truncated"] = len(content) > max_bytes or bool(err)
    return e


def op_files(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    service, install_dir = node.install(op["install"], data)
    files = []
    if install_dir is not None:
        for spec in op["files"]:
            full = winpath.join(install_dir, spec["path"])
            folder, _, leaf = full.rpartition("\\")
            if "*" in leaf or "?" in leaf:
                real_dir = node.path(folder)
                if real_dir is None or not real_dir.is_dir():
                    continue
                rx = wild_regex(leaf)
                names = sorted((c.name for c in real_dir.iterdir() if c.is_file() and rx.match(c.name)),
                               key=str.upper)
                files += [_read_file(node, f"{folder}\\{n}", spec["max_bytes"], data) for n in names]
            else:
                files.append(_read_file(node, full, spec["max_bytes"], data))
    return {"subsystem": op["subsystem"], "service": service, "install_dir": install_dir, "files": files}


def op_probe(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    service, install_dir = node.install(op["install"], data)
    probes = []
    for p in op["paths"]:
        if winpath.is_absolute(p):
            probes.append(node.probe(winpath.normalize(p), data))
        elif install_dir is not None:
            probes.append(node.probe(winpath.join(install_dir, p), data))
    return {"subsystem": op["subsystem"], "service": service, "install_dir": install_dir, "probes": probes}


def op_probe_property(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    service, install_dir = node.install(op["install"], data)
    d: dict[str, Any] = {"subsystem": op["subsystem"], "service": service, "install_dir": install_dir,
                         "file": None, "key": op["key"], "found": False, "value": None, "probe": None}
    if install_dir is None:
        return d
    d["file"] = winpath.join(install_dir, op["file"])
    real = node.path(d["file"])
    if real is None or not real.is_file():
        return d
    value = read_java_property(real.read_bytes(), op["key"])
    if value is None:
        return d
    d["found"], d["value"] = True, value
    if winpath.is_absolute(value):
        d["probe"] = node.probe(winpath.normalize(value), data)
    return d


ETCD_REFUSED = ("Unable to connect to the remote server (No connection could be made because the target "
                "machine actively refused it)")
"""What .NET says when nothing listens on the etcd port: the lab's answer for a node whose
node.json has no ``etcd`` object although it has the etcd service."""


def op_etcd(node: LabNode, op: Op, data: Data, env: Env) -> Data:
    """The node-local etcd as node.json's ``etcd`` object describes it (docs/node-format.md):
    only allow-listed keys are answered, every other key only by name, and a key matching a
    secret pattern is refused before anything is read, as executor.ps1 does."""
    for key in op["keys"]:
        pattern = etcd_secret_pattern(key, op["secret_patterns"])
        if pattern is not None:
            raise OpFailed(f"refusing to read etcd key {key}: it matches the secret pattern {pattern}")
    service = next((s["name"] for name in op["services"] if (s := node.find_service(data, name)) is not None), None)
    out: Data = {"service": service, "endpoint": op["endpoint"], "error": None, "healthy": None, "values": {},
                 "members": [], "key_names": None}
    if service is None:
        return out
    etcd = data.get("etcd")
    if not isinstance(etcd, dict):
        out["error"] = f"GET {op['endpoint']}/v2/members: {ETCD_REFUSED}"
        return out
    if etcd.get("error"):
        out["error"] = str(etcd["error"])
        return out
    out["members"] = [{"name": str(m.get("name") or ""), "peer_urls": list(m.get("peer_urls") or []),
                       "client_urls": list(m.get("client_urls") or [])} for m in etcd.get("members") or []]
    out["healthy"] = etcd.get("healthy")
    stored = etcd.get("values") or {}
    out["values"] = {k: str(stored[k]) for k in op["keys"] if k in stored}
    if op["list_names"]:
        out["key_names"] = sorted(set(stored) | set(etcd.get("key_names") or []))
    return out


COLLECT_OPS = {"facts": op_facts, "services": op_services, "processes": op_processes, "ports": op_ports,
               "registry": op_registry, "files": op_files, "probe": op_probe, "probe_property": op_probe_property,
               "etcd": op_etcd}
