"""What the admin declares about the cluster in the inventory: the truth only an admin knows.

Some facts have no reliable source on the servers: a Management server's GUID is shown in
the Management interface (Dashboard > System info), not in a documented file; the IPv4
address its services bind to was chosen in the installer (``/CFG:usedLocalIp``); which
database, repository share, product version and service account the cluster is meant to
use is a decision, not a measurement. The inventory may state them (docs/inventory.md):

* per Management node: ``guid``, ``cml_port``, ``bound_ip``;
* for the cluster: ``database: {class, host, port}``, ``ims_repository``,
  ``expected_version``, ``ims_service_account``, and ``shared_config`` (the intended value of
  keys of the configuration files the Management servers share, by file and key).

A declared value is the expectation checks compare against (source ``declared``, see
:mod:`auditor.expectations`), and a collected value that disagrees with it is a finding.

Declarations travel with the data: ``auditor collect`` records them in the snapshot
manifest, so ``auditor audit --from SNAPSHOT`` judges against the same truth, and they reach
the cluster model as one :class:`Declarations` object (``cluster.declared``).

This module is the one home of the declaration rules (which keys, which types); the
inventory parser and the manifest loader both call :func:`declared_value`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.expectations import ExpectationSource, Expected
from auditor.winpath import path_key

CLUSTER_KEYS = ("database", "ims_repository", "expected_version", "ims_service_account", "shared_config")
NODE_KEYS = ("guid", "cml_port", "bound_ip")
DATABASE_KEYS = ("class", "host", "port")


def normalize_guid(guid: str) -> str:
    """GUIDs are opaque strings (the installer accepts ``/CFG:localGUID=mgmt201``), but braces
    and case are presentation only."""
    g = guid.strip()
    if g.startswith("{") and g.endswith("}"):
        g = g[1:-1].strip()
    return g.lower()


# ---- values --------------------------------------------------------------------------------
def _text(key: str, value: Any, example: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
        kind = "a number" if isinstance(value, (int, float)) and not isinstance(value, bool) else "not a text"
        hint = f" (write it in quotes: {key}: '{value}')" if kind == "a number" else ""
        raise ValueError(f"{key}: expected a text such as {example}, got {kind}{hint}")
    return value.strip()


def _port(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"{key}: expected a whole number between 1 and 65535")
    return value


def _ipv4(key: str, value: Any) -> str:
    text = _text(key, value, "10.0.10.11")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{key}: expected the IPv4 address the product services bind to (the installer's "
                         f"'used local IP'), e.g. 10.0.10.11; got {text!r}") from None
    if ip.version != 4 or ip.is_loopback or ip.is_unspecified:
        raise ValueError(f"{key}: expected a real IPv4 address of the node (not IPv6, loopback or 0.0.0.0), "
                         f"got {text}")
    return text


def declared_value(key: str, value: Any) -> Any:
    """A validated declaration value for ``key`` (a node or cluster key); ``ValueError`` with
    a one-line message (without the file/line, which the caller adds) when it is wrong."""
    if key == "guid":
        return _text(key, value, "6f1c2a01-3b7e-4c1d-9a55-000000000001")
    if key == "cml_port":
        return _port(key, value)
    if key == "bound_ip":
        return _ipv4(key, value)
    if key == "ims_repository":
        return _text(key, value, "\\\\fs01.corp.example\\paragon\\ims-repository")
    if key == "expected_version":
        return _text(key, value, "'6.0.112.4'")
    if key == "ims_service_account":
        return _text(key, value, "CORP\\svc-paragon")
    if key == "database":
        return _database(value)
    if key == "shared_config":
        return _shared_config(value)
    raise ValueError(f"unknown declaration {key!r}")  # pragma: no cover - callers pass known keys


@dataclass(frozen=True)
class DatabaseDeclaration:
    """The database the cluster is meant to use (``database: {class, host, port}``)."""

    db_class: str | None = None  # e.g. MSSQL, PGSQL
    host: str | None = None
    port: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("class", self.db_class), ("host", self.host), ("port", self.port))
                if v is not None}

    def setting(self, attr: str) -> str | int | None:
        """The declared value of one database setting by its model name (``db_class``, ``host``,
        ``port``; any other: None), for every check that compares database settings."""
        return {"db_class": self.db_class, "host": self.host, "port": self.port}.get(attr)


def _database(value: Any) -> DatabaseDeclaration:
    if not isinstance(value, Mapping) or not value:
        raise ValueError("database: expected a mapping such as {class: MSSQL, host: sql01.corp.example, port: 1433}")
    unknown = [k for k in value if k not in DATABASE_KEYS]
    if unknown:
        raise ValueError(f"database: unknown key {unknown[0]!r}; valid keys are: {', '.join(DATABASE_KEYS)}")
    return DatabaseDeclaration(
        db_class=_text("database.class", value["class"], "MSSQL") if "class" in value else None,
        host=_text("database.host", value["host"], "sql01.corp.example") if "host" in value else None,
        port=_port("database.port", value["port"]) if "port" in value else None,
    )


def _config_value(where: str, value: Any) -> str:
    """A .properties value as the admin declares it: a text (a whole number is taken as written)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{where}: expected a text; write the value in quotes as it appears in the file "
                         f"(e.g. {where.rsplit('.', 1)[-1]}: '30')")
    return str(value)


def _shared_config(value: Any) -> dict[str, dict[str, str]]:
    example = "{'ims\\application.properties': {server.port: '5111'}}"
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"shared_config: expected a mapping of file -> key -> value, such as {example}")
    out: dict[str, dict[str, str]] = {}
    for file, keys in value.items():
        if not isinstance(file, str) or not file.strip():
            raise ValueError("shared_config: a file must be a path relative to the Management folder, "
                             "e.g. conf\\management.properties")
        if not isinstance(keys, Mapping) or not keys:
            raise ValueError(f"shared_config.{file}: expected a mapping of key -> value")
        out[file.strip()] = {str(k): _config_value(f"shared_config.{file}.{k}", v) for k, v in keys.items()}
    return out


def shared_file_key(file: str) -> str:
    """How a declared file is matched with a collected one: the Windows path key (case and
    separators do not matter: ``conf/Management.properties`` is ``conf\\management.properties``)."""
    return path_key(file.strip())


# ---- the declarations ----------------------------------------------------------------------
@dataclass(frozen=True)
class NodeDeclarations:
    """What the inventory declares about one Management server (None: not declared)."""

    guid: str | None = None
    cml_port: int | None = None
    bound_ip: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in NODE_KEYS if getattr(self, k) is not None}

    @property
    def empty(self) -> bool:
        return not self.to_dict()


_NOTHING = NodeDeclarations()


@dataclass(frozen=True)
class Declarations:
    """Everything the inventory declares, with where each value was written.

    ``source`` is the inventory file as given; ``lines`` maps ``database``,
    ``expected_version`` ... and ``nodes.<name>.guid`` (name in lower case) to the line it
    was declared on, so every expectation can point the admin at it.
    """

    source: str = ""
    nodes: Mapping[str, NodeDeclarations] = field(default_factory=dict)  # inventory name -> declarations
    database: DatabaseDeclaration | None = None
    ims_repository: str | None = None
    expected_version: str | None = None
    ims_service_account: str | None = None
    shared_config: Mapping[str, Mapping[str, str]] | None = None  # file -> key -> value
    lines: Mapping[str, int] = field(default_factory=dict)

    # ---- lookups -------------------------------------------------------------------------
    def node(self, name: str) -> NodeDeclarations:
        """The declarations of node ``name`` (case-insensitive); empty when none."""
        low = name.lower()
        return next((d for n, d in self.nodes.items() if n.lower() == low), _NOTHING)

    @property
    def empty(self) -> bool:
        return not self.to_dict(with_lines=False)

    def where(self, key: str, node: str | None = None) -> str:
        """``cluster.yaml line 14``: where a declaration was written."""
        path = f"nodes.{node.lower()}.{key}" if node else key
        line = self.lines.get(path)
        src = self.source or "the inventory"
        return f"{src} line {line}" if line else src

    def expected(self, key: str, node: str | None = None) -> Expected | None:
        """The declared value of ``key`` (of ``node`` for node keys) as an expectation, or None."""
        value = getattr(self.node(node), key) if node else getattr(self, key)
        if value is None:
            return None
        if isinstance(value, DatabaseDeclaration):
            value = value.to_dict()
        return Expected(value, ExpectationSource.DECLARED, self.where(key, node))

    def expected_shared(self, file: str, key: str) -> Expected | None:
        """The declared value of ``key`` in the shared configuration file ``file`` (relative to
        the Management folder, any case or separator), or None."""
        want = shared_file_key(file)
        for declared_file, keys in (self.shared_config or {}).items():
            if shared_file_key(declared_file) == want and key in keys:
                at = f"shared_config.{declared_file}.{key}"
                where = self.where(at if at in self.lines else "shared_config")
                return Expected(keys[key], ExpectationSource.DECLARED, where)
        return None

    # ---- serialisation (snapshot manifest) -------------------------------------------------
    def to_dict(self, *, with_lines: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.database is not None:
            out["database"] = self.database.to_dict()
        for key in CLUSTER_KEYS[1:]:
            if getattr(self, key) is not None:
                value = getattr(self, key)
                out[key] = {f: dict(k) for f, k in value.items()} if isinstance(value, Mapping) else value
        nodes = {name: d.to_dict() for name, d in self.nodes.items() if not d.empty}
        if nodes:
            out["nodes"] = nodes
        if with_lines and out:
            out["source"] = self.source
            out["lines"] = dict(self.lines)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Declarations:
        """Read :meth:`to_dict` output (a manifest's ``declared``); ``ValueError`` when malformed."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError("declared: expected an object")
        known = (*CLUSTER_KEYS, "nodes", "source", "lines")
        unknown = [k for k in data if k not in known]
        if unknown:
            raise ValueError(f"declared: unknown key {unknown[0]!r}; valid keys are: {', '.join(known)}")
        values = {k: declared_value(k, data[k]) for k in CLUSTER_KEYS if data.get(k) is not None}
        nodes_raw = data.get("nodes") or {}
        if not isinstance(nodes_raw, Mapping):
            raise ValueError("declared.nodes: expected an object of node name -> declarations")
        nodes: dict[str, NodeDeclarations] = {}
        for name, raw in nodes_raw.items():
            if not isinstance(raw, Mapping):
                raise ValueError(f"declared.nodes.{name}: expected an object")
            bad = [k for k in raw if k not in NODE_KEYS]
            if bad:
                raise ValueError(f"declared.nodes.{name}: unknown key {bad[0]!r}; valid keys are: {', '.join(NODE_KEYS)}")
            nodes[str(name)] = NodeDeclarations(**{k: declared_value(k, v) for k, v in raw.items()})
        lines = data.get("lines") or {}
        if not isinstance(lines, Mapping) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                     for v in lines.values()):
            raise ValueError("declared.lines: expected an object of key -> line number")
        source = data.get("source") or ""
        if not isinstance(source, str):
            raise ValueError("declared.source: expected a text")
        decl = cls(source=source, nodes=nodes, lines=dict(lines), **values)
        clash = decl.clash()
        if clash:
            raise ValueError(f"declared: {clash[0]}")
        return decl

    def clash(self) -> tuple[str, str] | None:
        """(message, key path) of a declaration that contradicts another: the same GUID or
        bound address declared for two Management servers."""
        for key in ("guid", "bound_ip"):
            seen: dict[str, str] = {}
            for name, d in self.nodes.items():
                value = getattr(d, key)
                if value is None:
                    continue
                norm = normalize_guid(value) if key == "guid" else value
                if norm in seen:
                    return (f"{key} {value} is declared for both {seen[norm]} and {name}; each Management server "
                            f"has its own", f"nodes.{name.lower()}.{key}")
                seen[norm] = name
        return None


__all__ = [
    "CLUSTER_KEYS",
    "DATABASE_KEYS",
    "NODE_KEYS",
    "DatabaseDeclaration",
    "Declarations",
    "NodeDeclarations",
    "declared_value",
    "normalize_guid",
    "shared_file_key",
]
