"""The inventory file: which nodes make up the cluster and how to reach them (docs/inventory.md).

Validation is strict and every error names the file and the line, because an admin edits
this file by hand at 7 a.m. and must be able to fix it without reading a traceback. Unknown
keys are rejected (a typo such as ``concurrancy`` would otherwise be silently ignored), and
a literal password anywhere is refused: the file holds credential *references* only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.addresses import is_ip
from auditor.collect.credentials import CredentialRef, EnvRef, KeyringRef, PromptRef
from auditor.declared import CLUSTER_KEYS, NODE_KEYS, Declarations, NodeDeclarations, declared_value
from auditor.errors import InputError
from auditor.manifest import VALID_ROLES
from auditor.nodenames import look_alike_message, skeleton
from auditor.safetext import one_line
from auditor.yamlfile import LineList, LineMap, line_of, load_yaml, read_hand_written

INVENTORY_VERSION = 1
TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic")
SCHEMES = ("https", "http")
DEFAULT_PORTS = {"https": 5986, "http": 5985}

# Settings that can appear under ``defaults:`` and (except the run-wide ones) on each node.
_DEFAULTS: dict[str, Any] = {
    "transport": "ntlm",
    "scheme": "https",
    "port": None,  # 5986 for https, 5985 for http
    "ca_file": None,
    "verify": True,
    "connect_timeout": 10.0,
    "read_timeout": 60.0,
    "deadline": 120.0,
    "max_output_mb": 64.0,
    "retries": 1,
    "concurrency": None,  # None: adaptive (auditor.collect.concurrency)
    "max_concurrency": None,  # None: auditor.collect.concurrency.DEFAULT_MAX_CONCURRENCY
    "username": "",
    "credential": None,
    "check_hostname": True,
    "kerberos_hostname_override": None,  # Kerberos: the host name of the node's SPN (HTTP/<name>)
}
_NODE_ONLY = ("name", "address", "roles", "hostname") + NODE_KEYS
_TOP_KEYS = ("version", "cluster", "defaults", "nodes") + CLUSTER_KEYS
_DEFAULT_KEYS = tuple(_DEFAULTS)
_RUN_WIDE = ("concurrency", "max_concurrency")
_NODE_KEYS = _NODE_ONLY + tuple(k for k in _DEFAULTS if k not in _RUN_WIDE)
_PASSWORD_KEYS = {"password", "passwd", "pwd", "pass", "secret"}
_CREDENTIAL_HELP = (
    "the inventory holds credential references only: use credential: {env: VAR}, "
    "credential: {keyring: {service: NAME, username: USER}} or credential: {prompt: true} "
    "(see docs/inventory.md)"
)
_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


@dataclass(frozen=True)
class NodeTarget:
    """One node and its fully resolved connection settings (defaults applied)."""

    name: str
    address: str
    roles: tuple[str, ...]
    transport: str = "ntlm"
    scheme: str = "https"
    port: int = 5986
    ca_file: Path | None = None
    verify: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    deadline: float = 120.0
    max_output_mb: float = 64.0  # the client stops reading a node's answer past this size
    retries: int = 1
    username: str = ""
    credential: CredentialRef | None = None
    hostname: str | None = None  # expected host name when the name is only a label
    check_hostname: bool = True
    kerberos_hostname_override: str | None = None  # ask for HTTP/<this> instead of HTTP/<address>
    line: int | None = None  # where the node is declared in the inventory

    @property
    def max_output_bytes(self) -> int:
        """``max_output_mb`` as the byte limit the remote client enforces."""
        return int(self.max_output_mb * 1024 * 1024)

    @property
    def url(self) -> str:
        host = self.address
        if ":" in host and not host.startswith("["):  # IPv6 literal
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}/wsman"


@dataclass
class Inventory:
    """A parsed inventory. ``path`` is None for an inventory built in memory (discovery)."""

    cluster: str
    nodes: list[NodeTarget]
    concurrency: int | None = None  # None: adaptive, up to the safe ceiling
    path: Path | None = None
    max_concurrency: int | None = None  # the admin's cap on the adaptive limit (None: the default cap)
    declared: Declarations = field(default_factory=Declarations)  # what the admin states (docs/inventory.md)

    def node(self, name: str) -> NodeTarget:
        for n in self.nodes:
            if n.name.lower() == name.lower():
                return n
        raise KeyError(name)

    def with_overrides(self, *, concurrency: int | None = None, deadline: float | None = None) -> Inventory:
        """A copy with command-line overrides applied (``--concurrency``, ``--deadline``)."""
        nodes = [replace(n, deadline=float(deadline)) for n in self.nodes] if deadline else list(self.nodes)
        return Inventory(self.cluster, nodes, concurrency or self.concurrency, self.path, self.max_concurrency,
                         self.declared)


def looks_like_hostname(text: str) -> bool:
    """True for ``MGMT1`` or ``mgmt1.corp.example``; False for IP literals and labels with spaces."""
    if not text or is_ip(text):
        return False
    return bool(_HOST_RE.match(text))


# ---- validation ------------------------------------------------------------------------


class _Ctx:
    def __init__(self, source: str):
        self.source = source

    def err(self, message: str, line: int | None) -> InputError:
        return InputError(message, source=self.source, line=line)


def _reject_passwords(value: Any, ctx: _Ctx, where: str) -> None:
    """A literal password anywhere in the file is an error (the value is never echoed)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and k.lower() in _PASSWORD_KEYS:
                raise ctx.err(f"{where}{k}: a password may not be written in the inventory; "
                              + _CREDENTIAL_HELP, line_of(value, k))
            _reject_passwords(v, ctx, f"{where}{k}.")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _reject_passwords(v, ctx, f"{where.rstrip('.')}[{i}].")


def _check_keys(mapping: LineMap, valid: tuple[str, ...], ctx: _Ctx, what: str) -> None:
    for key in mapping:
        if key not in valid:
            raise ctx.err(f"{what}: unknown key {key!r}; valid keys are: {', '.join(valid)}",
                          line_of(mapping, str(key)))


def _positive_number(value: Any, key: str, ctx: _Ctx, line: int | None, *, integer: bool = False,
                     minimum: float = 0, allow_zero: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.err(f"{key}: expected a number, got {type(value).__name__}", line)
    if integer and not isinstance(value, int):
        raise ctx.err(f"{key}: expected a whole number", line)
    if value < minimum or (value == 0 and not allow_zero):
        raise ctx.err(f"{key}: must be {'>= 0' if allow_zero else '> 0'}", line)
    return value


def _credential(value: Any, username: str, ctx: _Ctx, line: int | None) -> CredentialRef | None:
    """Parse a credential reference. Error messages never echo the value (it may be a secret)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ctx.err("credential: must be a reference, not a value; " + _CREDENTIAL_HELP, line)
    if len(value) != 1:
        raise ctx.err("credential: give exactly one of env, keyring, prompt", line)
    kind, arg = next(iter(value.items()))
    kline = line_of(value, kind) or line
    if kind == "env":
        if not isinstance(arg, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", arg):
            raise ctx.err("credential.env: expected an environment variable name such as PARAGON_AUDIT_PASSWORD",
                          kline)
        return EnvRef(arg)
    if kind == "keyring":
        if not isinstance(arg, dict):
            raise ctx.err("credential.keyring: expected {service: ..., username: ...}", kline)
        _check_keys(arg, ("service", "username"), ctx, "credential.keyring")
        service = arg.get("service")
        user = arg.get("username", username)
        if not isinstance(service, str) or not service:
            raise ctx.err("credential.keyring.service: required (a text)", kline)
        if not isinstance(user, str) or not user:
            raise ctx.err("credential.keyring.username: required (a text), or set username", kline)
        return KeyringRef(service, user)
    if kind == "prompt":
        if arg is not True:
            raise ctx.err("credential.prompt: expected true", kline)
        return PromptRef(username)
    raise ctx.err(f"credential: unknown reference kind {kind!r}; valid kinds are: env, keyring, prompt", kline)


def _setting(key: str, value: Any, ctx: _Ctx, line: int | None) -> Any:
    """Validate one setting from ``defaults:`` or a node (credential handled separately)."""
    if key == "transport":
        if value not in TRANSPORTS:
            raise ctx.err(f"transport: expected one of {', '.join(TRANSPORTS)}, got {value!r}", line)
        return value
    if key == "scheme":
        if value not in SCHEMES:
            raise ctx.err(f"scheme: expected https or http, got {value!r}", line)
        return value
    if key == "port":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise ctx.err("port: expected a whole number between 1 and 65535", line)
        return value
    if key in ("connect_timeout", "read_timeout", "deadline", "max_output_mb"):
        return float(_positive_number(value, key, ctx, line))
    if key == "retries":
        return int(_positive_number(value, key, ctx, line, integer=True, allow_zero=True))
    if key in _RUN_WIDE:
        return int(_positive_number(value, key, ctx, line, integer=True, minimum=1))
    if key in ("verify", "check_hostname"):
        if not isinstance(value, bool):
            raise ctx.err(f"{key}: expected true or false", line)
        return value
    if key == "kerberos_hostname_override":
        if not isinstance(value, str) or not looks_like_hostname(value.strip()):
            raise ctx.err("kerberos_hostname_override: expected the host name the node's SPN is registered under "
                          "(HTTP/<name>), e.g. mgmt1.corp.example; not an IP address", line)
        return value.strip()
    if key in ("username", "ca_file", "hostname", "address", "cluster"):
        if not isinstance(value, str) or not value.strip():
            raise ctx.err(f"{key}: expected a non-empty text", line)
        return value.strip()
    raise ctx.err(f"unknown setting {key!r}", line)  # pragma: no cover


def _parse_settings(mapping: LineMap, keys: tuple[str, ...], ctx: _Ctx) -> tuple[dict[str, Any], Any]:
    """Validated settings from a mapping (credential returned raw, parsed later with the username)."""
    out: dict[str, Any] = {}
    raw_cred: Any = None
    for key in keys:
        if key not in mapping or key in _NODE_ONLY:
            continue
        if key == "credential":
            raw_cred = (mapping[key], line_of(mapping, key))
            continue
        out[key] = _setting(key, mapping[key], ctx, line_of(mapping, key))
    return out, raw_cred


def _check_kerberos_node(what: str, username: str, username_line: int | None, own_cred: Any,
                         defaults: dict[str, Any], default_cred: Any, ctx: _Ctx) -> None:
    """A Kerberos node authenticates with the ticket of whoever runs the auditor.

    So ``username`` is that ticket's principal (``user@REALM``, to pick one of several tickets)
    or nothing, never NTLM's ``DOMAIN\\user``; and a credential written for it would be
    resolved (or prompted for) and then never used, so one given for Kerberos is an error.
    """
    if "\\" in username:
        raise ctx.err(f"{what}: username {username!r} is NTLM's DOMAIN\\user form; transport kerberos uses the "
                      "ticket of whoever runs the auditor: leave username out, or give the ticket's principal "
                      "as user@REALM", username_line)
    if own_cred is not None or (default_cred is not None and defaults.get("transport") == "kerberos"):
        where = own_cred[1] if own_cred is not None else default_cred[1]
        raise ctx.err(f"{what}: credential is not used with transport kerberos (the Kerberos ticket is): remove "
                      "it, and run kinit user@REALM before the run (see docs/inventory.md)", where)


def parse_inventory(text: str, source: str = "<inventory>", base_dir: Path | None = None) -> Inventory:
    """Parse and validate inventory text (``source`` names it in errors)."""
    ctx = _Ctx(source)
    data = load_yaml(text, source)
    if data is None:
        raise ctx.err("the inventory is empty; see docs/inventory.md for the format", 1)
    if not isinstance(data, LineMap):
        raise ctx.err("the inventory must be a YAML mapping with version, cluster, defaults, nodes", 1)
    _reject_passwords(data, ctx, "")
    _check_keys(data, _TOP_KEYS, ctx, "top level")
    if data.get("version") != INVENTORY_VERSION:
        raise ctx.err(f"version: expected {INVENTORY_VERSION}, got {data.get('version')!r}",
                      line_of(data, "version") or 1)
    cluster = _setting("cluster", data["cluster"], ctx, line_of(data, "cluster")) if "cluster" in data else ""

    defaults_raw = data.get("defaults") or LineMap()
    if not isinstance(defaults_raw, LineMap):
        raise ctx.err("defaults: expected a mapping", line_of(data, "defaults"))
    _check_keys(defaults_raw, _DEFAULT_KEYS, ctx, "defaults")
    defaults, default_cred = _parse_settings(defaults_raw, _DEFAULT_KEYS, ctx)

    nodes_raw = data.get("nodes")
    if not isinstance(nodes_raw, LineList) or not nodes_raw:
        raise ctx.err("nodes: expected a non-empty list of nodes", line_of(data, "nodes") or data.line or 1)

    top = _Top(ctx=ctx, defaults=defaults, defaults_raw=defaults_raw, default_cred=default_cred,
               base=base_dir or Path("."))
    cluster_declared = _cluster_declarations(data, ctx, top.decl_lines)
    nodes = [_parse_node(top, i, raw, nodes_raw.item_lines[i]) for i, raw in enumerate(nodes_raw)]
    declared = Declarations(source=source, nodes={n: d for n, d in top.node_declared.items() if not d.empty},
                            lines=top.decl_lines, **cluster_declared)
    clash = declared.clash()
    if clash:
        raise ctx.err(clash[0], top.decl_lines.get(clash[1]))
    return Inventory(cluster=cluster, nodes=nodes, concurrency=defaults.get("concurrency"), path=None,
                     max_concurrency=defaults.get("max_concurrency"), declared=declared)


@dataclass
class _Top:
    """What every node entry is read against: the defaults, and what earlier nodes declared."""

    ctx: _Ctx
    defaults: dict[str, Any]
    defaults_raw: LineMap
    default_cred: Any
    base: Path
    seen: dict[str, tuple[str, int | None, str]] = field(default_factory=dict)  # skeleton -> (lower, line, name)
    node_declared: dict[str, NodeDeclarations] = field(default_factory=dict)
    decl_lines: dict[str, int] = field(default_factory=dict)


def _node_identity(top: _Top, i: int, raw: Any, nline: int) -> tuple[str, str, str, list[Any]]:
    """(name, how errors name the node, address, roles) of ``nodes[i]``."""
    ctx = top.ctx
    if not isinstance(raw, LineMap):
        raise ctx.err(f"nodes[{i}]: expected a mapping with name, address, roles", nline)
    what = f"nodes[{i}]"
    for key in _RUN_WIDE:
        if key in raw:
            raise ctx.err(f"{what}: {key} applies to the whole run; set it under defaults", line_of(raw, key))
    _check_keys(raw, _NODE_KEYS, ctx, what)
    if "name" not in raw:
        raise ctx.err(f"{what}: name is required", raw.line)
    name = raw["name"].strip() if isinstance(raw["name"], str) else ""
    if not name:
        raise ctx.err(f"{what}: name: expected a non-empty text", line_of(raw, "name"))
    what = f"node {one_line(name)!r}"
    first = top.seen.get(skeleton(name))
    if first is not None:
        if first[0] == name.lower():
            raise ctx.err(f"{what}: duplicate node name (first declared on line {first[1]})", line_of(raw, "name"))
        raise ctx.err(look_alike_message(first[2], name, f" (first declared on line {first[1]})"),
                      line_of(raw, "name"))
    top.seen[skeleton(name)] = (name.lower(), line_of(raw, "name"), name)
    address = _setting("address", raw["address"], ctx, line_of(raw, "address")) if "address" in raw else name
    if not is_ip(address) and (re.search(r"[\s/@:\\]", address) or address.startswith("-")):
        raise ctx.err(f"{what}: address {address!r} is not a host name or IP address "
                      "(no scheme, path or port here: use scheme: and port:)",
                      line_of(raw, "address") or raw.line)
    roles_raw = raw.get("roles")
    if not isinstance(roles_raw, list) or not roles_raw:
        raise ctx.err(f"{what}: roles: expected a list such as [management] or [site]",
                      line_of(raw, "roles") or raw.line)
    bad = [r for r in roles_raw if r not in VALID_ROLES]
    if bad:
        raise ctx.err(f"{what}: roles: unknown role(s) {bad}; valid roles are: {', '.join(VALID_ROLES)}",
                      line_of(raw, "roles"))
    return name, what, address, roles_raw


def _parse_node(top: _Top, i: int, raw: Any, nline: int) -> NodeTarget:
    """``nodes[i]`` with the defaults applied, every setting and credential validated."""
    ctx, defaults, defaults_raw = top.ctx, top.defaults, top.defaults_raw
    name, what, address, roles_raw = _node_identity(top, i, raw, nline)
    own, own_cred = _parse_settings(raw, _NODE_KEYS, ctx)
    top.node_declared[name] = _node_declarations(raw, roles_raw, name, ctx, top.decl_lines)
    hostname = _setting("hostname", raw["hostname"], ctx, line_of(raw, "hostname")) if "hostname" in raw else None
    merged = dict(_DEFAULTS)
    merged.update(defaults)
    merged.update(own)
    scheme = merged["scheme"]
    port = merged["port"] or DEFAULT_PORTS[scheme]
    ca_file = None
    if merged["ca_file"]:
        ca_file = Path(merged["ca_file"]).expanduser()
        if not ca_file.is_absolute():
            ca_file = (top.base / ca_file).resolve()
        if not ca_file.is_file():
            where = line_of(raw, "ca_file") if "ca_file" in own else line_of(defaults_raw, "ca_file")
            raise ctx.err(f"{what}: ca_file {str(ca_file)!r} does not exist", where)
    username = merged["username"]
    cred_raw, cred_line = own_cred or top.default_cred or (None, None)
    credential = _credential(cred_raw, username, ctx, cred_line)
    if merged["transport"] == "kerberos":
        if "username" not in raw and defaults.get("transport") != "kerberos":
            username = ""  # the NTLM nodes' account, inherited from defaults: the ticket's user is used
        username_line = line_of(raw, "username") if "username" in raw else line_of(defaults_raw, "username")
        _check_kerberos_node(what, username, username_line or raw.line, own_cred, defaults, top.default_cred, ctx)
        credential = None  # a credential inherited for NTLM nodes is not used: the ticket is
    else:
        if not username:
            raise ctx.err(f"{what}: username is required for transport {merged['transport']} "
                          "(set it under defaults or on the node)", raw.line)
        if credential is None:
            raise ctx.err(f"{what}: credential is required for transport {merged['transport']}; "
                          + _CREDENTIAL_HELP, raw.line)
    if merged["read_timeout"] <= 1:
        raise ctx.err(f"{what}: read_timeout must be more than 1 second", raw.line)
    return NodeTarget(
        name=name, address=address, roles=tuple(dict.fromkeys(roles_raw)), transport=merged["transport"],
        scheme=scheme, port=port, ca_file=ca_file, verify=merged["verify"],
        connect_timeout=merged["connect_timeout"], read_timeout=merged["read_timeout"], deadline=merged["deadline"],
        max_output_mb=merged["max_output_mb"], retries=merged["retries"], username=username, credential=credential,
        hostname=hostname, check_hostname=merged["check_hostname"],
        kerberos_hostname_override=merged["kerberos_hostname_override"], line=nline,
    )


def _cluster_declarations(data: LineMap, ctx: _Ctx, lines: dict[str, int]) -> dict[str, Any]:
    """The top-level declarations (database, ims_repository, ...), validated; see auditor.declared."""
    out: dict[str, Any] = {}
    for key in CLUSTER_KEYS:
        if key not in data or data[key] is None:
            continue
        line = line_of(data, key)
        try:
            out[key] = declared_value(key, data[key])
        except ValueError as exc:
            # a sub-key's error (database.port, shared_config.<file>.<key>) points at its line
            raise ctx.err(str(exc), _sub_line(key, data[key], str(exc)) or line) from None
        if line:
            lines[key] = line
        if key == "shared_config":
            for file, keys in data[key].items():
                for k in keys:
                    sub_line = line_of(keys, k)
                    if sub_line:
                        lines[f"shared_config.{file.strip()}.{k}"] = sub_line
    return out


def _sub_line(key: str, raw: Any, message: str) -> int | None:
    """The line of the sub-key (one or two levels down) a declaration error names."""
    if not isinstance(raw, LineMap):
        return None
    for k, value in raw.items():
        if message.startswith((f"{key}.{k}:", f"{key}: unknown key {k!r}")):
            return line_of(raw, k)
        if message.startswith(f"{key}.{k}.") and isinstance(value, LineMap):
            inner = next((x for x in value if message.startswith(f"{key}.{k}.{x}:")), None)
            return line_of(value, inner) if inner is not None else line_of(raw, k)
    return None


def _node_declarations(raw: LineMap, roles: list[str], name: str, ctx: _Ctx, lines: dict[str, int]
                       ) -> NodeDeclarations:
    """``guid``/``cml_port``/``bound_ip`` of one node: only a Management server has them."""
    values: dict[str, Any] = {}
    for key in NODE_KEYS:
        if key not in raw or raw[key] is None:
            continue
        line = line_of(raw, key)
        if "management" not in roles:
            raise ctx.err(f"node {name!r}: {key} describes a Management server, and this node's roles are "
                          f"{list(roles)}", line)
        try:
            values[key] = declared_value(key, raw[key])
        except ValueError as exc:
            raise ctx.err(f"node {name!r}: {exc}", line) from None
        if line:
            lines[f"nodes.{name.lower()}.{key}"] = line
    return NodeDeclarations(**values)


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory file; InputError (file:line: message) on any problem."""
    p = Path(path)
    try:
        text = read_hand_written(p)
    except FileNotFoundError:
        raise InputError("inventory file not found", source=str(p)) from None
    except IsADirectoryError:
        raise InputError("expected an inventory file, got a folder", source=str(p)) from None
    except UnicodeDecodeError as exc:
        if exc.encoding.startswith("utf-16"):
            raise InputError("the inventory starts like UTF-16 but is not valid UTF-16 text", source=str(p)) from None
        raise InputError("the inventory must be UTF-8 text", source=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read inventory: {exc.strerror}", source=str(p)) from None
    inv = parse_inventory(text, str(p), base_dir=p.resolve().parent)
    inv.path = p
    return inv
