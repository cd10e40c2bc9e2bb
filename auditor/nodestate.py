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
from datetime import datetime
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


@dataclass(frozen=True)
class EtcdMember:
    """One member of the Management etcd cluster, as ``/v2/members`` lists it."""

    name: str
    peer_urls: tuple[str, ...] = ()
    client_urls: tuple[str, ...] = ()


@dataclass
class EtcdFacts:
    """What the node-local Management etcd answered (read-only; see docs/node-format.md).

    ``error`` is set when etcd did not answer (or stopped answering part-way: what was read
    before stays). ``values`` holds only keys of the profile's allow-list; ``key_names`` the
    names of every key at the root (their values are dropped on the node), None when not
    listed. ``healthy`` is ``/health`` (None: not asked or not answered).
    """

    endpoint: str
    error: str | None = None
    healthy: bool | None = None
    values: dict[str, str] = field(default_factory=dict)
    members: list[EtcdMember] = field(default_factory=list)
    key_names: list[str] | None = None

    @property
    def answered(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "error": self.error, "healthy": self.healthy, "values": dict(self.values),
                "members": [{"name": m.name, "peer_urls": list(m.peer_urls), "client_urls": list(m.client_urls)}
                            for m in self.members],
                "key_names": None if self.key_names is None else list(self.key_names)}


_ETCD_FIELDS = ("endpoint", "error", "healthy", "values", "members", "key_names")


_ETCD_DEFAULTS: dict[str, Any] = {"error": None, "healthy": None, "values": {}, "members": [], "key_names": None}


def etcd_from_json(raw: Any, complete: bool = True) -> EtcdFacts:
    """The ``etcd`` object of a collect answer or of node.json as :class:`EtcdFacts`, or
    ValueError naming the field. ``complete``: every field present (an answer); otherwise
    (a hand-written scenario) missing fields take their defaults. Unknown fields are refused."""
    if not isinstance(raw, dict):
        raise ValueError(f"expected an object, got {type(raw).__name__}")
    missing = [k for k in _ETCD_FIELDS if k not in raw and (complete or k not in _ETCD_DEFAULTS)]
    extra = [k for k in raw if k not in _ETCD_FIELDS]
    if missing or extra:
        raise ValueError(f"fields must be {list(_ETCD_FIELDS)} (missing {missing}, unexpected {extra})")
    raw = {**_ETCD_DEFAULTS, **raw}

    def text(v: Any, where: str, null: bool = False) -> str | None:
        if (v is None and null) or isinstance(v, str):
            return v
        raise ValueError(f"{where}: expected text{' or null' if null else ''}, got {type(v).__name__}")

    def texts(v: Any, where: str) -> list[str]:
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError(f"{where}: expected a list of texts")
        return list(v)

    healthy = raw["healthy"]
    if healthy is not None and not isinstance(healthy, bool):
        raise ValueError(f"healthy: expected true, false or null, got {type(healthy).__name__}")
    values = raw["values"]
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ValueError("values: expected an object of texts")
    members = []
    if not isinstance(raw["members"], list):
        raise ValueError("members: expected a list")
    for i, m in enumerate(raw["members"]):
        if not isinstance(m, dict) or set(m) != {"name", "peer_urls", "client_urls"}:
            raise ValueError(f"members[{i}]: expected an object with name, peer_urls, client_urls")
        members.append(EtcdMember(name=text(m["name"], f"members[{i}].name") or "",
                                  peer_urls=tuple(texts(m["peer_urls"], f"members[{i}].peer_urls")),
                                  client_urls=tuple(texts(m["client_urls"], f"members[{i}].client_urls"))))
    names = raw["key_names"]
    return EtcdFacts(endpoint=text(raw["endpoint"], "endpoint") or "", error=text(raw["error"], "error", null=True),
                     healthy=healthy, values=dict(values), members=members,
                     key_names=None if names is None else texts(names, "key_names"))
def _seconds(iso: str) -> float:
    """POSIX seconds of an ISO 8601 UTC time (``...Z``, with or without fractions)."""
    return datetime.fromisoformat(iso.strip().replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class ClockSample:
    """The node's clock against the auditing host's, from one collection.

    ``node_started``/``node_finished`` are the node's own times at the start and end of its
    run (the answer's ``started``/``finished``: whole seconds, the protocol's time format);
    ``sent``/``received`` are the auditing host's times (milliseconds) before the command was
    sent and after the answer arrived. The node read its clock between the two, so the
    offset node - auditing host lies in :meth:`offset_range` whatever the network and the
    node's speed did; the range is as wide as the exchange took, plus the second the node's
    times are rounded down to.
    """

    node_started: str
    node_finished: str
    sent: str
    received: str

    def offset_range(self) -> tuple[float, float]:
        """(lowest, highest) possible offset of the node's clock, in seconds (node ahead: > 0)."""
        low = _seconds(self.node_finished) - _seconds(self.received)
        high = _seconds(self.node_started) + 1.0 - _seconds(self.sent)
        return low, high

    def against(self, other: ClockSample) -> tuple[float, float]:
        """(lowest, highest) possible amount this node's clock is ahead of ``other``'s, in
        seconds (both measured against the same auditing host)."""
        low, high = self.offset_range()
        other_low, other_high = other.offset_range()
        return low - other_high, high - other_low

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClockSample:
        return cls(**{k: str(data[k]) for k in ("node_started", "node_finished", "sent", "received")})


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
    # The Management etcd as the node itself reached it; None: not asked (no etcd service on
    # the node, or a snapshot taken before etcd facts were collected).
    etcd: EtcdFacts | None = None
    collected_at: str | None = None
    clock: ClockSample | None = None  # the node's clock against the auditing host's (live collection)

    def __post_init__(self) -> None:
        self.status = NodeStatus(self.status)

    # ---- lookups used by checks -------------------------------------------------
    @property
    def reachable(self) -> bool:
        return self.status == NodeStatus.OK

    def service(self, *names: str) -> Service | None:
        """First service whose short name matches one of ``names`` (case-insensitive), trying
        ``names`` in order."""
        by_name = self.services_by_name()
        for n in names:
            found = by_name.get(n.lower())
            if found is not None:
                return found
        return None

    def services_by_name(self) -> dict[str, Service]:
        """Lower-case short name -> the first service of that name: the one rule for finding a
        service by name (Windows service names are case-insensitive; a snapshot edited by hand
        may list a name twice, and the first one wins)."""
        out: dict[str, Service] = {}
        for s in self.services:
            out.setdefault(s.name.lower(), s)
        return out

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
        """The node.json content (see docs/node-format.md); files are written beside it.
        ``clock`` is written only when it was measured (a live collection)."""
        facts = {
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
            **({"etcd": self.etcd.to_json()} if self.etcd is not None else {}),
            "collected_at": self.collected_at,
        }
        if self.clock is not None:
            facts["clock"] = asdict(self.clock)
        return facts
