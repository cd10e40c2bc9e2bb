"""What we know about one node: the single typed shape shared by the lab, collection,
snapshots and checks.

A ``NodeState`` is loaded from a node folder (``auditor.nodefolder``) or built from a
remote executor response (``auditor.remote``); both produce the same value, which is what
makes "collect a lab scenario, serve the snapshot back, collect again" round-trip.

Windows paths are kept as Windows paths (``C:\\SafeQ6\\SPOC\\conf\\modules\\spoc.conf``) and
compared case-insensitively, as NTFS does: ``files`` and ``probes`` are keyed by
:func:`auditor.winpath.path_key`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from auditor.vocab import NodeStatus
from auditor.winpath import path_key

NODE_FORMAT = "paragon-auditor-node"
NODE_FORMAT_VERSION = 1


@dataclass
class Service:
    """A Windows service as Win32_Service reports it (plus the process start time)."""

    name: str
    display_name: str = ""
    state: str = "Stopped"  # Running, Stopped, StartPending, StopPending, Paused
    start_mode: str = "Auto"  # Auto, Manual, Disabled
    account: str = "LocalSystem"  # StartName, e.g. LocalSystem, NT AUTHORITY\NetworkService, CORP\svc-paragon
    image_path: str = ""  # PathName, may be quoted and carry arguments
    start_time: str | None = None  # ISO 8601 UTC of the service process start, None when stopped
    pid: int | None = None

    @property
    def running(self) -> bool:
        return self.state.lower() == "running"


@dataclass
class Process:
    """A running process (used to spot installers running)."""

    name: str
    pid: int
    path: str = ""
    start_time: str | None = None
    command_line: str = ""


@dataclass
class Interface:
    """A network interface with its IPv4 addresses."""

    name: str
    ipv4: list[str] = field(default_factory=list)


@dataclass
class ListeningPort:
    address: str
    port: int
    pid: int | None = None


@dataclass
class OsInfo:
    caption: str = ""
    product_type: int = 3  # 1 workstation, 2 domain controller, 3 server
    version: str = ""
    build: str = ""


@dataclass
class FileEntry:
    """One file read from the node. ``content`` is None when the file was absent or unreadable."""

    path: str
    content: bytes | None = None
    mtime: str | None = None  # ISO 8601 UTC
    exists: bool = True
    error: str | None = None  # e.g. "access denied", "truncated at 1048576 bytes"
    truncated: bool = False


@dataclass
class PathProbe:
    """The result of testing a path *from the node* (e.g. is repository.path reachable there)."""

    path: str
    exists: bool
    is_dir: bool = False
    error: str | None = None


@dataclass
class NodeState:
    """Everything collected from one node.

    ``name`` is the inventory name; ``hostname`` is what the node says it is.
    ``status`` is :attr:`NodeStatus.OK` when collection succeeded; otherwise one of the
    failures (``refused``, ``timeout``, ``auth``, ``tls``, ``protocol``, ``error``) with
    ``reason``. A status given as text is converted (and an unknown one refused) here.
    """

    name: str
    hostname: str = ""
    fqdn: str = ""
    roles: list[str] = field(default_factory=list)
    address: str = ""
    status: NodeStatus = NodeStatus.OK
    reason: str = ""
    # IPv4 addresses the inventory ``address`` (a host name) resolved to on the admin host at
    # collection time: how a node that could not be collected is still recognised by address
    resolved_addresses: list[str] = field(default_factory=list)
    os: OsInfo = field(default_factory=OsInfo)
    dotnet_release: int | None = None
    interfaces: list[Interface] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    listening_ports: list[ListeningPort] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    # registry: key path (as written) -> value name -> value (str/int/list[str])
    registry: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)  # path_key -> entry
    # Paths tested from the node (folders such as PGSQL-data, UNC shares such as the IMS
    # repository). In a lab scenario, UNC paths reachable from the node are declared here.
    probes: dict[str, PathProbe] = field(default_factory=dict)  # path_key -> probe
    collected_at: str | None = None

    def __post_init__(self) -> None:
        self.status = NodeStatus(self.status)

    # ---- lookups used by checks -------------------------------------------------
    @property
    def reachable(self) -> bool:
        return self.status == NodeStatus.OK

    def service(self, *names: str) -> Service | None:
        """First service whose short name matches one of ``names`` (case-insensitive)."""
        wanted = [n.lower() for n in names]
        for n in wanted:
            for s in self.services:
                if s.name.lower() == n:
                    return s
        return None

    def file(self, windows_path: str) -> FileEntry | None:
        return self.files.get(path_key(windows_path))

    def probe(self, windows_path: str) -> PathProbe | None:
        return self.probes.get(path_key(windows_path))

    def ipv4_addresses(self) -> list[str]:
        return [ip for itf in self.interfaces for ip in itf.ipv4]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    # ---- serialisation of the facts part (files are stored separately) -----------
    def facts_dict(self) -> dict[str, Any]:
        """The node.json content (see docs/node-format.md); files are written beside it."""
        return {
            "format": NODE_FORMAT,
            "version": NODE_FORMAT_VERSION,
            "hostname": self.hostname,
            "fqdn": self.fqdn,
            "os": asdict(self.os),
            "dotnet_release": self.dotnet_release,
            "interfaces": [asdict(i) for i in self.interfaces],
            "services": [asdict(s) for s in self.services],
            "processes": [asdict(p) for p in self.processes],
            "listening_ports": [asdict(p) for p in self.listening_ports],
            "environment": dict(self.environment),
            "registry": {k: dict(v) for k, v in self.registry.items()},
            "file_times": {f.path: f.mtime for f in sorted(self.files.values(), key=lambda f: path_key(f.path))
                           if f.exists and f.mtime},
            "file_errors": {f.path: f.error for f in sorted(self.files.values(), key=lambda f: path_key(f.path))
                            if f.error},
            "missing_files": sorted(f.path for f in self.files.values() if not f.exists),
            "probes": {p.path: {"exists": p.exists, "is_dir": p.is_dir, "error": p.error}
                       for _, p in sorted(self.probes.items())},
            "collected_at": self.collected_at,
        }
