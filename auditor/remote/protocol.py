"""The remote request protocol (version 1): what the auditor asks a node, and how it answers.

One collection is ONE remote command per node: the request lists every operation ("op") the
checks need, the node runs them all (``executor.ps1`` on Windows, ``auditor.lab.executor`` in
the lab) and answers with one ASCII line ``PARAGON-AUDITOR/1 <base64 of UTF-8 JSON>``.
The request is plain data generated from the product profile, so the PowerShell side stays
fixed and small, and both implementations of the protocol read the same definitions here.

This module is the single source of truth for:

* the request builders (:func:`build_collect_request`, :func:`build_apply_request` and the
  ``*_op`` helpers for fixes),
* request validation (:func:`validate_request`), used by the client before sending and by the
  lab executor before running anything (so neither side ever guesses),
* the shared semantics both executors must implement identically: wildcard matching
  (:func:`wild_match`), Java ``.properties`` reading (:func:`read_java_property`, the rules of
  :mod:`auditor.parsers.properties`), the output line (:func:`encode_output` / :func:`parse_output`). The Windows path rules both
  executors apply (install folder from a service ImagePath, joins, UNC and ``\\?\\``
  spellings) live in :mod:`auditor.winpath`.

See ``docs/protocol.md`` for the JSON schema of requests and responses.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from auditor.errors import InputError
from auditor.jsonfile import JsonError, JsonLimits, parse_json
from auditor.parsers.properties import read_java_property as java_property
from auditor.profile import Profile
from auditor.vocab import OpStatus
from auditor.winpath import is_absolute

PROTOCOL_VERSION = 1
OUTPUT_TAG = "PARAGON-AUDITOR"
OUTPUT_PREFIX = f"{OUTPUT_TAG}/{PROTOCOL_VERSION} "

COLLECT_OPS = ("facts", "services", "processes", "ports", "registry", "files", "probe", "probe_property", "etcd")
APPLY_OPS = ("write_file", "restore_file", "restart_service", "set_service_account", "check_installers")
KINDS = {"collect": COLLECT_OPS, "apply": APPLY_OPS}

SECRET_ENV_RE = re.compile(r"^PA_S_[A-Z0-9_]{1,40}\Z")
"""Names allowed for shell variables that carry secrets (passwords) to ``set_service_account``."""
_SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")

ETCD_SECRET_FLOOR = ("encrypted*", "*pass*", "*pwd*", "*secret*")
"""etcd key patterns refused whatever the profile says (executor.ps1 has the same list,
``$script:PAEtcdSecretFloor``): the Management etcd keeps passwords in ``encrypted*`` keys."""
ETCD_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\Z")
"""An etcd key the auditor may name: a plain name at the root (no ``/``, no ``..``)."""
ETCD_ENDPOINT_RE = re.compile(r"^http://(?:127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}\Z")
"""The etcd client endpoint: plain HTTP on the loopback interface of the node, nothing else."""
ETCD_TIMEOUT_MS = (100, 30000)


class ProtocolError(ValueError):
    """A request or response does not follow protocol 1 (the message says what is wrong)."""


# ---------------------------------------------------------------------------------------------
# Shared semantics (the PowerShell executor implements exactly the same rules)
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def wild_regex(pattern: str) -> re.Pattern[str]:
    """``*`` = any run of characters, ``?`` = one character, everything else literal,
    case-insensitive. Deliberately *not* PowerShell ``-like`` (which treats ``[`` specially)
    nor Win32 ``FindFirstFile`` (8.3 quirks): both executors build the same regex.
    Cached: the profile's few patterns are matched against every node's answer."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{rx}\\Z", re.IGNORECASE | re.DOTALL)


def wild_match(pattern: str, text: str) -> bool:
    return wild_regex(pattern).match(text) is not None


def etcd_secret_pattern(key: str, patterns: Sequence[str] = ()) -> str | None:
    """The secret pattern (:data:`ETCD_SECRET_FLOOR` first, then ``patterns``) that the etcd key
    ``key`` matches, None when it may be read. Wildcards as :func:`wild_match`."""
    return next((p for p in (*ETCD_SECRET_FLOOR, *patterns) if wild_match(p, key)), None)


def decode_text(data: bytes) -> str:
    """Text of a config file: UTF-8 (BOM dropped) when valid, else ISO-8859-1 (Java's default
    for .properties). Same rule in executor.ps1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_java_property(data: bytes, key: str) -> str | None:
    """Value of ``key`` in a .properties file as the Java service reads it (last occurrence wins),
    None when absent or when the file cannot be loaded (malformed ``\\uXXXX``). The rules are
    :mod:`auditor.parsers.properties`'; executor.ps1 mirrors them (PA-ReadProperty)."""
    return java_property(decode_text(data), key)


# ---------------------------------------------------------------------------------------------
# Request builders
# ---------------------------------------------------------------------------------------------

def _install_spec(profile: Profile, subsystem_key: str) -> dict[str, Any]:
    sub = profile.subsystem(subsystem_key)
    if not sub.service_names:
        raise InputError(f"profile {profile.source}: subsystems.{subsystem_key} lists files or probes but no "
                         "service to find its install folder from")
    return {"services": list(sub.service_names), "strip": list(sub.install_dir_strip)}


def _byte_limit(profile: Profile, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"profile {profile.source}: {what} must be a whole number of bytes >= 0, not {value!r}")
    return value


def build_collect_request(profile: Profile, request_id: str | None = None) -> dict[str, Any]:
    """The collection request for one node, generated from the product profile.

    Every subsystem with files gets a ``files`` op, every subsystem with ``probe_dirs`` a
    ``probe`` op; ``management_ims.repository_key`` becomes a ``probe_property`` op (the IMS
    repository is tested *from the node*, in the same command); the ``etcd`` section an
    ``etcd`` op (read on nodes with the etcd service).

    A profile override that yields no valid request (wrong value types, an empty path ...) is
    the admin's input error: :class:`~auditor.errors.InputError` naming the profile, raised
    before any node is contacted, never a traceback.
    """
    try:
        return _build_collect_request(profile, request_id)
    except (ProtocolError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"the product profile does not give a valid collect request: {exc}"[:300],
                         source=profile.source) from None


def _build_collect_request(profile: Profile, request_id: str | None = None) -> dict[str, Any]:
    """See :func:`build_collect_request` (known bad values get their own precise message)."""
    max_bytes = _byte_limit(profile, profile.max_file_bytes, "max_file_bytes")
    ops: list[dict[str, Any]] = [
        {"op": "facts", "id": "facts", "env": list(profile.environment_variables)},
        {"op": "services", "id": "services", "patterns": list(profile.service_patterns)},
        {"op": "processes", "id": "processes", "patterns": list(profile.installer_processes)},
        {"op": "ports", "id": "ports"},
        {"op": "registry", "id": "registry", "keys": list(profile.registry_keys)},
    ]
    for key, sub in profile.subsystems.items():
        if sub.files:
            files = []
            for f in sub.files:
                limit = max_bytes if f.max_bytes is None else _byte_limit(
                    profile, f.max_bytes, f"subsystems.{key}.files[{f.path}].max_bytes")
                files.append({"path": f.path, "max_bytes": limit})
            ops.append({"op": "files", "id": f"files:{key}", "subsystem": key,
                        "install": _install_spec(profile, key), "files": files})
    for key, sub in profile.subsystems.items():
        if sub.probe_dirs:
            ops.append({"op": "probe", "id": f"probe:{key}", "subsystem": key,
                        "install": _install_spec(profile, key), "paths": list(sub.probe_dirs)})
    ims = profile.management_ims
    if ims.repository_key and ims.file:
        ops.append({"op": "probe_property", "id": f"probe_property:{ims.subsystem}:{ims.repository_key}",
                    "subsystem": ims.subsystem, "install": _install_spec(profile, ims.subsystem),
                    "file": ims.file, "key": ims.repository_key})
    etcd_services = profile.subsystem("etcd").service_names if "etcd" in profile.subsystems else []
    if etcd_services:
        etcd = profile.etcd
        ops.append(etcd_op(etcd_services, etcd.endpoint, etcd.keys, etcd.secret_key_patterns,
                           etcd.collect_key_names, etcd.timeout_ms))
    req = {"protocol": PROTOCOL_VERSION, "kind": "collect", "request_id": request_id or str(uuid.uuid4()),
           "ops": ops}
    try:
        validate_request(req)
    except ProtocolError as exc:
        raise InputError(f"profile {profile.source}: cannot build the collect request: {exc}") from None
    ids = [op["id"] for op in ops]
    if len(set(ids)) != len(ids):  # pragma: no cover - subsystem keys are unique mapping keys
        raise InputError(f"profile {profile.source}: duplicate op ids in the collect request")
    return req


def etcd_op(services: Sequence[str], endpoint: str, keys: Sequence[str], secret_patterns: Sequence[str],
            list_names: bool, timeout_ms: int) -> dict[str, Any]:
    """Read the node-local Management etcd (v2 HTTP API): ``keys`` (an allow-list), the member
    list, ``/health`` and, with ``list_names``, the names of the keys at the root (their values
    are dropped on the node). Only on a node that has one of ``services``; ``secret_patterns``
    always include :data:`ETCD_SECRET_FLOOR`."""
    return {"op": "etcd", "id": "etcd", "services": list(services), "endpoint": endpoint, "keys": list(keys),
            "secret_patterns": list(dict.fromkeys((*ETCD_SECRET_FLOOR, *secret_patterns))),
            "list_names": bool(list_names), "timeout_ms": int(timeout_ms)}


def build_probe_request(profile: Profile, paths: list[str], request_id: str | None = None) -> dict[str, Any]:
    """A collect request that only tests absolute ``paths`` from the node (``probe`` op), e.g.
    whether a server about to join the cluster reaches the repository share the others use.
    It works on a node with nothing of the product installed: absolute paths need no install
    folder (the op's ``install`` is the Management Service's, as for the repository's probe)."""
    if not paths or not all(is_absolute(p) for p in paths):
        raise InputError(f"paths to probe must be absolute Windows paths: {paths!r}"[:300])
    ims = profile.management_ims
    req = {"protocol": PROTOCOL_VERSION, "kind": "collect", "request_id": request_id or str(uuid.uuid4()),
           "ops": [{"op": "probe", "id": "probe:paths", "subsystem": ims.subsystem,
                    "install": _install_spec(profile, ims.subsystem), "paths": list(paths)}]}
    validate_request(req)
    return req


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_file_op(path: str, content: bytes, expect_sha256: str | None,
                  backup_dir: str | None = None) -> dict[str, Any]:
    """Replace ``path`` atomically with ``content``.

    ``expect_sha256``: SHA-256 (hex) of the content the fix was planned against; the node
    refuses when the file differs (someone changed it meanwhile). ``None`` means the file must
    not exist yet. A backup copy with a timestamped name goes next to the file or into
    ``backup_dir``.
    """
    return {"op": "write_file", "path": path, "content_b64": base64.b64encode(content).decode("ascii"),
            "expect_sha256": expect_sha256, "backup_dir": backup_dir}


def restore_file_op(path: str, backup_path: str, expect_sha256: str | None = None) -> dict[str, Any]:
    """Put a backup back (atomically). ``expect_sha256``: current content must still be what we wrote."""
    return {"op": "restore_file", "path": path, "backup_path": backup_path, "expect_sha256": expect_sha256}


def restart_service_op(name: str, timeout_s: int = 120) -> dict[str, Any]:
    return {"op": "restart_service", "name": name, "timeout_s": int(timeout_s)}


def set_service_account_op(name: str, account: str, password_env: str | None) -> dict[str, Any]:
    """Change a service's logon account. The password is NEVER in the request: ``password_env``
    names a shell environment variable (``PA_S_...``) that ``execute(..., secrets=...)`` sets."""
    return {"op": "set_service_account", "name": name, "account": account, "password_env": password_env}


def check_installers_op(patterns: list[str]) -> dict[str, Any]:
    return {"op": "check_installers", "patterns": list(patterns)}


def build_apply_request(ops: list[dict[str, Any]], request_id: str | None = None) -> dict[str, Any]:
    """An apply request: ops run in order, the node stops at the first failure."""
    req = {"protocol": PROTOCOL_VERSION, "kind": "apply", "request_id": request_id or str(uuid.uuid4()),
           "ops": [dict(op, id=op.get("id") or f"{i}:{op.get('op')}") for i, op in enumerate(ops)]}
    validate_request(req)
    return req


# ---------------------------------------------------------------------------------------------
# Validation (client before sending, lab before executing)
# ---------------------------------------------------------------------------------------------

def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ProtocolError(msg)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _install_ok(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"services", "strip"} and _str_list(v["services"]) \
        and _str_list(v["strip"]) and bool(v["services"])


_OP_FIELDS: dict[str, dict[str, Any]] = {
    "facts": {"env": _str_list},
    "services": {"patterns": _str_list},
    "processes": {"patterns": _str_list},
    "ports": {},
    "registry": {"keys": _str_list},
    "files": {"subsystem": _str, "install": _install_ok,
              "files": lambda v: isinstance(v, list) and all(
                  isinstance(f, dict) and set(f) == {"path", "max_bytes"} and _str(f["path"]) and f["path"]
                  and isinstance(f["max_bytes"], int) and not isinstance(f["max_bytes"], bool)
                  and f["max_bytes"] >= 0 and "*" not in f["path"].rsplit("\\", 1)[0] for f in v)},
    "probe": {"subsystem": _str, "install": _install_ok, "paths": _str_list},
    "probe_property": {"subsystem": _str, "install": _install_ok, "file": _str, "key": _str},
    "write_file": {"path": lambda v: _str(v) and is_absolute(v),
                   "content_b64": _str,
                   "expect_sha256": lambda v: v is None or (_str(v) and bool(_SHA256_RE.match(v))),
                   "backup_dir": lambda v: v is None or (_str(v) and is_absolute(v))},
    "restore_file": {"path": lambda v: _str(v) and is_absolute(v),
                     "backup_path": lambda v: _str(v) and is_absolute(v),
                     "expect_sha256": lambda v: v is None or (_str(v) and bool(_SHA256_RE.match(v)))},
    "restart_service": {"name": lambda v: _str(v) and bool(v),
                        "timeout_s": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 3600},
    "set_service_account": {"name": lambda v: _str(v) and bool(v), "account": lambda v: _str(v) and bool(v),
                            "password_env": lambda v: v is None or (_str(v) and bool(SECRET_ENV_RE.match(v)))},
    "check_installers": {"patterns": _str_list},
    "etcd": {"services": lambda v: _str_list(v) and bool(v),
             "endpoint": lambda v: _str(v) and bool(ETCD_ENDPOINT_RE.match(v)),
             "keys": lambda v: _str_list(v) and all(ETCD_KEY_RE.match(k) for k in v),
             "secret_patterns": lambda v: _str_list(v) and set(ETCD_SECRET_FLOOR) <= set(v),
             "list_names": lambda v: isinstance(v, bool),
             "timeout_ms": lambda v: isinstance(v, int) and not isinstance(v, bool)
             and ETCD_TIMEOUT_MS[0] <= v <= ETCD_TIMEOUT_MS[1]},
}


def validate_request(req: Any) -> None:
    """Raise :class:`ProtocolError` naming the first thing that is not protocol 1."""
    _need(isinstance(req, dict), "request: expected a JSON object")
    _need(req.get("protocol") == PROTOCOL_VERSION,
          f"request: unsupported protocol version {req.get('protocol')!r} (this executor speaks {PROTOCOL_VERSION})")
    kind = req.get("kind")
    _need(isinstance(kind, str) and kind in KINDS, f"request: unknown kind {kind!r} (expected collect or apply)"[:200])
    _need(_str(req.get("request_id")) and bool(req.get("request_id")), "request: request_id missing")
    _need(set(req) == {"protocol", "kind", "request_id", "ops"},
          f"request: unexpected field(s) {sorted(set(req) - {'protocol', 'kind', 'request_id', 'ops'})}")
    ops = req.get("ops")
    _need(isinstance(ops, list) and bool(ops), "request: ops must be a non-empty list")
    for i, op in enumerate(ops):
        _need(isinstance(op, dict), f"ops[{i}]: expected an object")
        name = op.get("op")
        _need(isinstance(name, str) and name in KINDS[kind], f"ops[{i}]: unknown op {name!r} for a {kind} request"[:200])
        _need(_str(op.get("id")) and bool(op.get("id")), f"ops[{i}] ({name}): id missing")
        fields = _OP_FIELDS[name]
        extra = set(op) - set(fields) - {"op", "id"}
        _need(not extra, f"ops[{i}] ({name}): unexpected field(s) {sorted(extra)}")
        for fname, check in fields.items():
            _need(fname in op, f"ops[{i}] ({name}): missing field {fname!r}")
            _need(bool(check(op[fname])), f"ops[{i}] ({name}): invalid value for {fname!r}")
        if name == "etcd":
            for key in op["keys"]:
                pattern = etcd_secret_pattern(key, op["secret_patterns"])
                _need(pattern is None, f"ops[{i}] (etcd): refusing to read etcd key {key!r}: it matches the secret "
                                       f"pattern {pattern!r}")
        if name == "write_file":
            try:
                base64.b64decode(op["content_b64"], validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError(f"ops[{i}] (write_file): content_b64 is not base64") from None


# ---------------------------------------------------------------------------------------------
# Output line
# ---------------------------------------------------------------------------------------------

def response_json(response: dict[str, Any]) -> str:
    """Compact ASCII JSON exactly as executor.ps1 writes it (non-ASCII as \\uXXXX)."""
    return json.dumps(response, ensure_ascii=True, separators=(",", ":"))


def encode_output(response: dict[str, Any]) -> str:
    """The executor's stdout: one line ``PARAGON-AUDITOR/1 <base64>`` (plus CRLF on Windows)."""
    b64 = base64.b64encode(response_json(response).encode("utf-8")).decode("ascii")
    return f"{OUTPUT_PREFIX}{b64}\r\n"


def parse_output(stdout: bytes, max_bytes: int | None = None) -> dict[str, Any]:
    """Find and decode the single protocol line; :class:`ProtocolError` says what is wrong.

    The JSON is read by the bounded reader (:mod:`auditor.jsonfile`): nesting, number length
    and, with ``max_bytes``, size are limited, and its text is valid Unicode."""
    text = stdout.decode("ascii", errors="replace")
    lines = [ln.strip() for ln in text.splitlines()]
    tagged = [ln for ln in lines if ln.startswith(OUTPUT_TAG + "/")]
    if not tagged:
        sample = text.strip()[:120].replace("\r", " ").replace("\n", " ")
        raise ProtocolError(
            f"no '{OUTPUT_PREFIX.strip()}' line in the output ({len(stdout)} bytes"
            + (f", starts with: {sample!r})" if sample else ", empty)"))
    if len(tagged) > 1:
        raise ProtocolError(f"{len(tagged)} '{OUTPUT_TAG}' lines in the output, expected exactly one")
    line = tagged[0]
    head, _, payload = line.partition(" ")
    version = head.split("/", 1)[1]
    if version != str(PROTOCOL_VERSION):
        raise ProtocolError(f"node answered with protocol {version!r}; this auditor speaks {PROTOCOL_VERSION}")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"response line is not valid base64 ({len(payload)} characters; truncated output?)") \
            from None
    limits = JsonLimits() if max_bytes is None else JsonLimits(max_bytes=max_bytes)
    try:
        data = parse_json(raw, limits)
    except JsonError as exc:
        if exc.message.startswith(("invalid JSON", "not UTF-8")):
            raise ProtocolError(f"response is not valid JSON ({exc.message}); truncated output?") from None
        raise ProtocolError(f"response refused: {exc.message}") from None
    if not isinstance(data, dict):
        raise ProtocolError("response: expected a JSON object")
    return data


class CheckedResponse(dict):
    """A response whose envelope :func:`validate_response` accepted against its request (what
    :func:`auditor.remote.execute` returns): the decoders do not check the envelope again."""


def validate_response(resp: dict[str, Any], request: dict[str, Any] | None = None) -> None:
    """Envelope checks shared by the client and the decoder (op data is checked by decode)."""
    _need(resp.get("protocol") == PROTOCOL_VERSION,
          f"response: protocol {resp.get('protocol')!r}, expected {PROTOCOL_VERSION}")
    _need(isinstance(resp.get("kind"), str) and resp.get("kind") in KINDS,
          f"response: unknown kind {resp.get('kind')!r}"[:200])
    _need(_str(resp.get("hostname")), "response: hostname missing")
    results = resp.get("results")
    _need(isinstance(results, list), "response: results must be a list")
    for i, r in enumerate(results):
        _need(isinstance(r, dict), f"results[{i}]: expected an object")
        _need(set(r) == {"op", "id", "status", "error", "data"},
              f"results[{i}]: fields must be op, id, status, error, data (got {sorted(r)})")
        _need(r["status"] in tuple(OpStatus), f"results[{i}]: bad status {r['status']!r}"[:200])
        _need(_str(r["op"]) and _str(r["id"]), f"results[{i}]: op and id must be strings")
        _need(r["status"] == OpStatus.OK or _str(r["error"]), f"results[{i}]: a failed op must carry an error text")
    if request is not None:
        _need(resp.get("kind") == request.get("kind"),
              f"response kind {resp.get('kind')!r} does not answer a {request.get('kind')!r} request")
        _need(resp.get("request_id") == request.get("request_id"),
              "response request_id does not match the request (stale or foreign answer)")
        ops = request["ops"]
        _need(len(results) == len(ops), f"response has {len(results)} results for {len(ops)} ops")
        for i, (r, op) in enumerate(zip(results, ops, strict=True)):
            _need(r["op"] == op["op"] and r["id"] == op["id"],
                  f"results[{i}] answers {r['op']}/{r['id']}, expected {op['op']}/{op['id']}")
