"""The cluster model: a parsed, typed view across all nodes that checks work on.

``Cluster.build(nodes, profile)`` does every lookup the checks share exactly once: where
each subsystem is installed (from its service ImagePath, per the profile), which config
files were collected and how they parsed, each Spooler Controller's Management-server list
and IMS addresses, each Management server's identity, database and IMS settings, and the
product version. Problems (missing file, unparseable file) are kept as :class:`FileResult`
values so a check can report ``error`` naming the file and line instead of passing.

Nothing here decides what is right or wrong; that is the checks' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from auditor.addresses import db_server_host, is_ip, is_loopback, split_host_port
from auditor.configfiles import FileResult, ParseCache, collected_files_of, glob_files, load_file  # noqa: F401 - collected_files_of: also reachable here
from auditor.dbsettings import DbOrigin, DbSettings, read_db_settings  # noqa: F401 - DbOrigin: also reachable here
from auditor.declared import Declarations, normalize_guid
from auditor.expectations import ExpectationSource, Expected
from auditor.identity import Identities, identify
from auditor.nodestate import NodeState, Service
from auditor.parsers import Entry, PropertiesDocument, SpocConfDocument, remote_conf_properties
from auditor.profile import Profile
from auditor.profile.view import SharedFile
from auditor.vocab import FileStatus
from auditor.winpath import install_dir, join, normalize, path_key


# ---------------------------------------------------------------------------------------
@dataclass
class ImsAddress:
    raw: str
    host: str
    port: int | None


@dataclass
class SpocView:
    """One node's Spooler Controller: its server list and IMS proxy addresses."""

    install_dir: str | None
    conf: FileResult[SpocConfDocument]
    ims: FileResult[PropertiesDocument]
    remote_conf: FileResult[Any]
    own_guid: str | None = None
    ims_addresses: list[ImsAddress] = field(default_factory=list)
    ims_addresses_line: int | None = None
    ims_addresses_present: bool = False

    @property
    def servers(self):
        return self.conf.doc.servers() if self.conf.ok else []


@dataclass(frozen=True)
class SharedFileResult:
    """One file of a configuration the Management servers share (profile ``shared_config``) as
    collected on one of them; ``rel`` is its path relative to the subsystem's folder, as the
    node spells it (``conf\\management.properties``), which is how servers are compared."""

    name: str  # the profile's entry, e.g. infrastructure_service
    spec: SharedFile
    rel: str
    result: FileResult[PropertiesDocument]


@dataclass
class ManagementView:
    """One Management server's identity and settings."""

    install_dir: str | None
    conf_files: dict[str, FileResult[PropertiesDocument]]  # file name (lower) -> result
    ims: FileResult[PropertiesDocument]
    guid: str | None = None
    used_ip: str | None = None
    cml_port: str | None = None
    db: DbSettings = field(default_factory=DbSettings)
    repository_path: str | None = None  # as the Infrastructure Service reads it (Java escapes applied)
    repository_line: int | None = None
    repository_entry: Entry | None = None  # the line(s) as written, for evidence and fixes
    ims_service: Service | None = None
    # guid / used_ip / cml_port -> (key, file, line, the profile's certainty of the key) where read
    identity_source: dict[str, tuple[str, str, int, str]] = field(default_factory=dict)
    shared: list[SharedFileResult] = field(default_factory=list)  # profile shared_config files found

    @property
    def ims_account(self) -> str | None:
        return self.ims_service.account if self.ims_service else None

    def collected(self, attr: str) -> Expected | None:
        """``guid``, ``used_ip`` or ``cml_port`` as read from this server's configuration, as an
        expectation of source ``collected`` naming the file, line and key; None when not read."""
        value, where = getattr(self, attr), self.identity_source.get(attr)
        if value is None or where is None:
            return None
        key, path, line, certainty = where
        return Expected(value, ExpectationSource.COLLECTED, f"{path} line {line}: {key} ({certainty} key)")

    def conf_value(self, key: str) -> tuple[str, str, int] | None:
        """(value, file path, line) of ``key`` from the first conf file that has it."""
        for res in self.conf_files.values():
            if res.ok and key in res.doc:
                e = res.doc.entry(key)
                return e.value, res.path or "", e.lineno
        return None

    def conf_errors(self) -> list[FileResult]:
        return [r for r in self.conf_files.values() if not r.ok]


@dataclass
class NodeView:
    state: NodeState
    services: dict[str, list[Service]] = field(default_factory=dict)  # subsystem -> services found
    install_dirs: dict[str, str | None] = field(default_factory=dict)
    spoc: SpocView | None = None
    management: ManagementView | None = None
    version: str | None = None
    version_source: str | None = None
    file_problems: list[FileResult] = field(default_factory=list)

    @cached_property
    def name(self) -> str:
        """The node's inventory name (read once: checks ask ~80 times per node)."""
        return self.state.name

    @property
    def reachable(self) -> bool:
        return self.state.reachable

    @property
    def is_management(self) -> bool:
        return self.state.has_role("management")

    @property
    def is_site(self) -> bool:
        return self.state.has_role("site")

    @property
    def roles(self) -> list[str]:
        return list(self.state.roles)

    def ips(self) -> list[str]:
        """The node's own IPv4 addresses; the inventory address (or, for a host name, the
        addresses it resolved to on the admin host when collected) counts only when the node
        reported no interfaces, e.g. because it could not be collected (a lab or tunnel endpoint
        such as 127.0.0.1 is how we reach the node, not the address other nodes use)."""
        ips = [ip for ip in self.state.ipv4_addresses() if not is_loopback(ip)]
        if ips:
            return ips
        addr = self.state.address
        if addr and is_ip(addr) and not is_loopback(addr):
            return [addr]
        return [ip for ip in self.state.resolved_addresses if not is_loopback(ip)]

    def primary_ip(self) -> str | None:
        ips = self.ips()
        if self.state.address in ips:
            return self.state.address
        return ips[0] if ips else None

    def names(self) -> set[str]:
        """Lower-case names this node answers to: inventory name, hostname, FQDN, address."""
        out = {self.state.name.lower()}
        for n in (self.state.hostname, self.state.fqdn, self.state.address):
            if n and not is_ip(n):
                out.add(n.lower())
        return out

    def config_files(self, *, key_value_only: bool = False) -> list[FileResult]:
        """Every configuration file the model reads on this node, as results (ok or the problem):
        spoc.conf, the SPOC's IMS properties and remoteConfImg.xml (not with ``key_value_only``),
        the Management conf files and IMS properties."""
        out: list[FileResult] = []
        if self.spoc:
            out += [self.spoc.conf, self.spoc.ims] + ([] if key_value_only else [self.spoc.remote_conf])
        if self.management:
            out += list(self.management.conf_files.values()) + [self.management.ims]
        return out

    def subsystem_service(self, key: str) -> Service | None:
        found = self.services.get(key) or []
        return found[0] if found else None


@dataclass
class _ClusterIndex:
    key: tuple[int, int]
    management: tuple[NodeView, ...]
    sites: tuple[NodeView, ...]
    by_name: dict[str, NodeView]

    @classmethod
    def of(cls, nodes: list[NodeView]) -> _ClusterIndex:
        by_name: dict[str, NodeView] = {}
        for n in nodes:
            by_name.setdefault(n.name.lower(), n)  # first wins, as the linear search did
        return cls(key=(id(nodes), len(nodes)),
                   management=tuple(n for n in nodes if n.is_management),
                   sites=tuple(n for n in nodes if n.is_site and not n.is_management),
                   by_name=by_name)


# ---------------------------------------------------------------------------------------
@dataclass
class Cluster:
    """Every node's view plus what the admin declared (``declared``: the inventory's
    ``guid``/``cml_port``/``bound_ip`` per Management server and the cluster-wide
    declarations, see :mod:`auditor.declared`)."""

    nodes: list[NodeView]
    profile: Profile
    declared: Declarations = field(default_factory=Declarations)

    # ---- construction -----------------------------------------------------------------
    @classmethod
    def build(cls, nodes: list[NodeState], profile: Profile, declared: Declarations | None = None) -> Cluster:
        parsing = _Parsing(profile)
        views = [_build_node(n, profile, parsing) for n in nodes]
        return cls(nodes=views, profile=profile, declared=declared or Declarations())

    # ---- lookups ------------------------------------------------------------------------
    def _index(self) -> _ClusterIndex:
        """Role lists and the name map, built once per ``nodes`` list.

        Checks ask for ``management_nodes`` once per site server (and ``resolve`` once per
        spoc.conf entry); rebuilding the list each time made a 5,000-node audit quadratic.
        The index is rebuilt if ``nodes`` is replaced or grows/shrinks.
        """
        idx = self.__dict__.get("_idx")
        if idx is None or idx.key != (id(self.nodes), len(self.nodes)):
            idx = _ClusterIndex.of(self.nodes)
            self.__dict__["_idx"] = idx
        return idx

    def node(self, name: str) -> NodeView | None:
        return self._index().by_name.get(name.lower())

    @property
    def management_nodes(self) -> list[NodeView]:
        return list(self._index().management)

    @property
    def site_nodes(self) -> list[NodeView]:
        return list(self._index().sites)

    def resolve(self, host: str, from_node: NodeView | None = None,
                candidates: list[NodeView] | None = None) -> NodeView | None:
        """Map an IP or host name (any case, FQDN or short) to a node of the model.

        ``localhost``-style names resolve to ``from_node``. A short name or an FQDN whose
        first label matches is accepted only when exactly one node matches, so two hosts
        with the same short name in different domains never get confused.
        ``candidates`` defaults to the Management servers.
        """
        pool = self.management_nodes if candidates is None else candidates
        h = host.strip().strip("[]").rstrip(".").lower()
        if not h:
            return None
        local = [x.lower() for x in self.profile.embedded_db.local_hosts]
        if h in local or h.startswith("127."):
            return from_node
        if is_ip(h):
            hits = [n for n in pool if h in n.ips()]
            return hits[0] if len(hits) == 1 else None
        exact = [n for n in pool if h in n.names()]
        if len(exact) == 1:
            return exact[0]
        if exact:
            return None
        if "." in h:
            # an FQDN matches a node whose full name is unknown by its first label only
            label = h.split(".", 1)[0]
            loose = [n for n in pool if not n.state.fqdn and label in n.names()]
        else:
            loose = [n for n in pool if any(x.split(".", 1)[0] == h for x in n.names())]
        return loose[0] if len(loose) == 1 else None

    def db_host_key(self, host: str, from_node: NodeView | None = None) -> str:
        """How two database host settings are compared: ``node:<name>`` when the host is a
        Management server (``localhost`` on X is X, X's address or name is X), else the setting
        in lower case."""
        target = self.resolve(db_server_host(host), from_node=from_node)
        return f"node:{target.name}" if target is not None else host.strip().lower()

    def is_local_to(self, host: str, node: NodeView) -> bool:
        return self.resolve(host, from_node=node, candidates=[node]) is node

    def identities(self) -> Identities:
        """Every Management server's identity (GUID, CML port, bound address, addresses, each with
        its source; :mod:`auditor.identity`), built once per node list like the index."""
        cached = self.__dict__.get("_identities")
        key = (id(self.nodes), len(self.nodes))
        if cached is None or cached[0] != key:
            cached = (key, identify(self))
            self.__dict__["_identities"] = cached
        return cached[1]

    def management_by_guid(self, guid: str) -> list[NodeView]:
        g = normalize_guid(guid)
        return [n for n in self.management_nodes
                if n.management and n.management.guid and normalize_guid(n.management.guid) == g]


# ---------------------------------------------------------------------------------------
def _find_services(node: NodeState, profile: Profile) -> dict[str, list[Service]]:
    out: dict[str, list[Service]] = {}
    by_name = node.services_by_name()
    for key, sub in profile.subsystems.items():
        found = []
        for sname in sub.services:
            svc = by_name.get(sname.name.lower())
            if svc is None and sname.display_names:
                wanted = {d.lower() for d in sname.display_names}
                svc = next((s for s in node.services if s.display_name.lower() in wanted), None)
            if svc is not None and svc not in found:
                found.append(svc)
        if found:
            out[key] = found
    return out


def _install_dir(node: NodeState, sub, services: list[Service], marker: str | None) -> str | None:
    for svc in services:
        if svc.image_path:
            d = install_dir(svc.image_path, sub.install_dir_strip)
            if d:
                return d
    if marker:
        # fallback: a collected file at <dir>\<marker> reveals <dir> (e.g. spoc.conf)
        suffix = "\\" + path_key(marker)
        for f in node.files.values():
            if path_key(f.path).endswith(suffix):
                found = normalize(f.path)
                return found[: len(found) - len(suffix)]
    return None


class _Parsing:
    """The parsers of one model build and the documents they share (configfiles.ParseCache):
    one spoc.conf parser object per build, so identical spoc.conf files share a document too."""

    def __init__(self, profile: Profile) -> None:
        self.cache = ParseCache()
        self.spoc_conf = lambda b, s: SpocConfDocument.from_profile(b, s, profile)


def _build_node(state: NodeState, profile: Profile, parsing: _Parsing | None = None) -> NodeView:
    parsing = parsing or _Parsing(profile)
    view = NodeView(state=state)
    if not state.reachable:
        return view
    view.services = _find_services(state, profile)
    # spoc.conf's relative path is specific enough to locate SPOC when its service is
    # missing; ims\application.properties is not (it exists under SPOC and Management).
    markers = {"spooler_controller": profile.spoc_conf.file}
    for key, sub in profile.subsystems.items():
        view.install_dirs[key] = _install_dir(state, sub, view.services.get(key, []), markers.get(key))

    spoc_dir = view.install_dirs.get("spooler_controller")
    if spoc_dir or "spooler_controller" in view.services:
        view.spoc = _build_spoc(state, profile, spoc_dir, parsing)
    if view.is_management:
        view.management = _build_management(view, state, profile, parsing)
    view.version, view.version_source = _version(state, profile, view.install_dirs.get("management"))
    for res in view.config_files():
        if res.status in (FileStatus.PARSE_ERROR, FileStatus.UNREADABLE):
            view.file_problems.append(res)
    return view


def _build_spoc(state: NodeState, profile: Profile, spoc_dir: str | None, parsing: _Parsing) -> SpocView:
    def rel(p: str | None) -> str | None:
        return join(spoc_dir, p) if spoc_dir and p else None

    cache = parsing.cache
    conf = load_file(state, rel(profile.spoc_conf.file), parsing.spoc_conf, cache=cache)
    ims = load_file(state, rel(profile.spoc_ims.file), PropertiesDocument, cache=cache)
    remote = load_file(state, rel("conf\\remoteConfImg.xml"), remote_conf_properties, cache=cache)
    view = SpocView(install_dir=spoc_dir, conf=conf, ims=ims, remote_conf=remote)
    if conf.ok:
        view.own_guid = conf.doc.get(profile.spoc_conf.own_guid_key)
    if ims.ok:
        key = profile.spoc_ims.addresses_key
        entry = ims.doc.entry(key)
        if entry is not None:
            view.ims_addresses_present = True
            view.ims_addresses_line = entry.lineno
            seps = profile.spoc_ims.separators
            raw = entry.value
            for s in seps:
                raw = raw.replace(s, "\n")
            for item in (x.strip() for x in raw.split("\n")):
                if item:
                    host, port = split_host_port(item)
                    view.ims_addresses.append(ImsAddress(item, host, port))
    return view


_IDENTITY_KEYS = {"guid": "guid_key", "used_ip": "ip_key", "cml_port": "port_key"}  # attribute -> profile key


def _build_management(view: NodeView, state: NodeState, profile: Profile, parsing: _Parsing) -> ManagementView:
    mdir = view.install_dirs.get("management")
    conf_files: dict[str, FileResult] = {}
    if mdir:
        pattern = profile.management_conf.files
        for f in glob_files(state, mdir, pattern):
            name = f.path.replace("/", "\\").rsplit("\\", 1)[-1].lower()
            conf_files[name] = load_file(state, f.path, PropertiesDocument, cache=parsing.cache)
    ims_rel = profile.management_ims.file
    ims_dir = view.install_dirs.get(profile.management_ims.subsystem)
    ims = load_file(state, join(ims_dir, ims_rel) if ims_dir else None, PropertiesDocument,
                    "Management Service not found", cache=parsing.cache)
    mgmt = ManagementView(install_dir=mdir, conf_files=conf_files, ims=ims)

    def val(key: str) -> tuple[str, str, int] | None:
        return mgmt.conf_value(key) if key else None

    conf = profile.management_conf
    for attr, key in (("guid", conf.guid_key), ("used_ip", conf.ip_key), ("cml_port", conf.port_key)):
        v = val(key)
        setattr(mgmt, attr, v[0] if v else None)
        if v:
            fact = f"management_conf.{_IDENTITY_KEYS[attr]}"
            mgmt.identity_source[attr] = (key, v[1], v[2], str(profile.certainty(fact) or "certainty not stated"))
    mgmt.db = read_db_settings(state.etcd, view.subsystem_service("etcd") is not None, val, profile)
    if ims.ok:
        e = ims.doc.entry(profile.management_ims.repository_key)
        if e is not None:
            mgmt.repository_path, mgmt.repository_line, mgmt.repository_entry = e.value, e.lineno, e
    mgmt.ims_service = view.subsystem_service("infrastructure")
    loaded = {path_key(r.path): r for r in [*conf_files.values(), ims] if r.path}
    mgmt.shared = _shared_files(view, state, profile, loaded, parsing.cache)
    return mgmt


def _shared_files(view: NodeView, state: NodeState, profile: Profile,
                  loaded: dict[str, FileResult], cache: ParseCache) -> list[SharedFileResult]:
    """The node's files of every ``shared_config`` entry: each collected match of a pattern, or
    the one named file with its status (missing, not collected ...). Files already parsed for
    the model (``loaded``, by path key) are not parsed again."""
    out: list[SharedFileResult] = []
    for name, spec in profile.shared_config.items():
        folder = view.install_dirs.get(spec.subsystem)
        if not folder:
            continue
        paths = ([f.path for f in glob_files(state, folder, spec.path)] if "*" in spec.path
                 else [join(folder, spec.path)])
        base = len(normalize(folder).rstrip("\\")) + 1
        for path in paths:
            result = loaded.get(path_key(path)) or load_file(state, path, PropertiesDocument, cache=cache)
            out.append(SharedFileResult(name, spec, normalize(path)[base:], result))
    return out


def _version(state: NodeState, profile: Profile, mgmt_dir: str | None) -> tuple[str | None, str | None]:
    for src in profile.version.registry:
        values = next((v for k, v in state.registry.items() if k.lower() == src.key.lower()), None)
        if values:
            name = src.value.lower()
            got = next((v for k, v in values.items() if k.lower() == name), None)
            if got:
                return str(got).strip(), f"registry {src.key}\\{src.value}"
    log = profile.version.install_log
    if mgmt_dir:
        entry = state.file(join(mgmt_dir, log.file))
        if entry is not None and entry.content:
            text = entry.content.decode("utf-8", errors="replace")
            m = re.search(log.pattern, text, re.IGNORECASE)
            if m:
                return m.group(1), entry.path
    return None, None
