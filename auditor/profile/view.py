"""The typed view of the product profile: one frozen dataclass per section of default.yaml.

Code reads ``profile.spoc_conf.guid_key``, never a dotted string with a fallback: a misspelt
fact is an ``AttributeError`` (and a type checker's error) instead of a silent default, and
every value comes from default.yaml (merged with an admin's override), never from code.

The loader (``auditor.profile.loader``) fills these classes by field name and type: a field
without a key in the YAML, a key without a field, or a value of the wrong type is an error
(``tests/profile/test_profile_view.py`` loads the shipped default, so a mismatch fails the
tests). ``certainty`` maps in the YAML are not fields: they are collected into
:attr:`Profile.certainties`, keyed by the fact they qualify.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from auditor.accounts import AccountKind
from auditor.errors import InputError


class Certainty(StrEnum):
    """How sure the profile is of a product fact (default.yaml header)."""

    CONFIRMED = "confirmed"  # a public source states it
    INFERRED = "inferred"  # follows from sources, not stated
    ASSUMED = "assumed"  # not found publicly: a working assumption, verify on a real system


# ---- subsystems --------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceName:
    name: str
    display_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the subsystem install folder; '*' allowed in the last segment
    max_bytes: int | None = None


@dataclass(frozen=True)
class Subsystem:
    key: str
    title: str
    services: tuple[ServiceName, ...]
    install_dir_strip: tuple[str, ...]
    files: tuple[FileSpec, ...]
    probe_dirs: tuple[str, ...]
    mandatory_on: tuple[str, ...]
    may_be_stopped: bool = False

    @property
    def service_names(self) -> list[str]:
        return [s.name for s in self.services]


# ---- sections ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SpocConf:
    """spoc.conf: the Spooler Controller's list of Management servers."""

    file: str  # relative to the Spooler Controller folder
    guid_key: str  # numbered for further servers: serverGUID, serverGUID2 ...
    ip_key: str
    port_key: str
    own_guid_key: str
    comment_prefixes: tuple[str, ...]
    default_port: int  # the Management server port when an entry has none


@dataclass(frozen=True)
class SpocIms:
    """SPOC\\ims\\application.properties: the Infrastructure Service addresses."""

    file: str
    addresses_key: str
    separators: tuple[str, ...]


@dataclass(frozen=True)
class ManagementIms:
    """Management\\ims\\application.properties: the IMS repository path."""

    file: str  # relative to the install folder of ``subsystem``
    repository_key: str  # empty: the repository is neither read nor probed
    subsystem: str


@dataclass(frozen=True)
class DbKeys:
    class_key: str
    host_key: str
    port_key: str
    embedded_key: str


@dataclass(frozen=True)
class ManagementConf:
    """Management\\conf\\*.properties: identity and database settings of a Management server."""

    files: str  # pattern relative to the Management folder
    guid_key: str
    ip_key: str
    port_key: str
    db: DbKeys
    secret_key_patterns: tuple[str, ...]  # regular expressions: values never shown or stored


@dataclass(frozen=True)
class SharedFile:
    """A configuration file every Management server must have the same (MGMT-CONFIG-CONSISTENT)."""

    path: str  # relative to the install folder of ``subsystem``; '*' allowed in the last segment
    title: str
    subsystem: str  # whose folder ``path`` is in
    owner: str  # the subsystem whose service reads the file
    restart: str  # restart_after_change entry naming that service ("" : the owner's own service)
    node_specific_keys: tuple[str, ...]  # glob patterns, any case: legitimately differ per server
    compared_by: Mapping[str, str]  # key -> the check that compares it with its own rules

    def node_specific(self, key: str) -> bool:
        low = key.lower()
        return any(fnmatch.fnmatchcase(low, p.lower()) for p in self.node_specific_keys)


@dataclass(frozen=True)
class EmbeddedDb:
    service: str
    data_dir: str  # relative to the Management folder
    port: int
    local_hosts: tuple[str, ...]  # host names that mean "this machine"


@dataclass(frozen=True)
class RegistryVersion:
    key: str
    value: str


@dataclass(frozen=True)
class InstallLog:
    file: str  # relative to the Management folder
    pattern: str  # regular expression, group 1 is the version


@dataclass(frozen=True)
class VersionSources:
    """Where a node's product version is read, first source that yields one wins."""

    registry: tuple[RegistryVersion, ...]
    install_log: InstallLog


@dataclass(frozen=True)
class ServerOs:
    min_build: int
    min_dotnet_release: int


@dataclass(frozen=True)
class EtcdDbKeys:
    """Which etcd key holds each database setting (the keys rebuildEtcd.ps1 recreates)."""

    class_key: str
    name_key: str
    host_key: str
    port_key: str
    username_key: str
    embedded_key: str


@dataclass(frozen=True)
class Etcd:
    """The Management etcd: what collection asks it (read-only) and how ETCD-MEMBERS reads it.
    Checked when the profile is loaded (:func:`auditor.profile.etcd.check_etcd`): loopback
    endpoint, plain key names, no key matching a secret pattern."""

    endpoint: str  # http://127.0.0.1:PORT
    timeout_ms: int  # per HTTP request
    keys: tuple[str, ...]  # the allow-list: nothing else is read
    secret_key_patterns: tuple[str, ...]  # wildcards; a floor of its own is always added
    collect_key_names: bool  # list the names of the keys at the root (values dropped on the node)
    db: EtcdDbKeys
    members_are_management_servers: bool  # ETCD-MEMBERS compares the members with the servers


@dataclass(frozen=True)
class ServiceAccounts:
    """How a service's log-on account is classified (auditor.accounts) and which kinds can
    hold rights on the repository share."""

    builtin_names: tuple[str, ...]  # LocalSystem ...: also as .\LocalSystem
    builtin_domains: tuple[str, ...]  # NT AUTHORITY
    virtual_domains: tuple[str, ...]  # NT SERVICE
    local_domains: tuple[str, ...]  # "." (the server's own computer name counts too)
    gmsa_suffix: str  # "$"
    share_capable_kinds: tuple[AccountKind, ...]


@dataclass(frozen=True)
class Clock:
    """How far apart the clocks of Management servers may be (``auditor precheck``)."""

    max_skew_seconds: float


# ---- the whole profile -------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """The product profile as the code reads it, built once from the merged YAML.

    ``source`` names the override file (or ``default``), ``sha256`` covers the default and the
    override text. ``certainties`` maps a fact (``spoc_conf.guid_key``,
    ``subsystems.management.files[conf\\*.properties]`` ...) to how sure the profile is of it.
    """

    profile_version: int
    name: str
    subsystems: Mapping[str, Subsystem]
    restart_after_change: Mapping[str, str]  # logical file -> service that reads it
    spoc_conf: SpocConf
    spoc_ims: SpocIms
    management_ims: ManagementIms
    management_conf: ManagementConf
    etcd: Etcd
    shared_config: Mapping[str, SharedFile]  # name -> a file the Management servers share
    embedded_db: EmbeddedDb
    version: VersionSources
    service_accounts: ServiceAccounts
    installer_processes: tuple[str, ...]
    legacy_services: tuple[str, ...]
    service_patterns: tuple[str, ...]
    environment_variables: tuple[str, ...]
    registry_keys: tuple[str, ...]
    server_os: ServerOs
    clock: Clock
    max_file_bytes: int
    source: str = "default"
    sha256: str = ""
    certainties: Mapping[str, Certainty] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short text for reports: name, source and hash prefix."""
        return f"{self.name} ({self.source}, sha256 {self.sha256[:12]})"

    def subsystem(self, key: str) -> Subsystem:
        try:
            return self.subsystems[key]
        except KeyError:
            raise InputError(f"profile {self.source}: no subsystem {key!r}") from None

    def subsystem_of_service(self, service_name: str) -> Subsystem | None:
        for sub in self.subsystems.values():
            if service_name.lower() in (n.lower() for n in sub.service_names):
                return sub
        return None

    def certainty(self, fact: str) -> Certainty | None:
        """How sure the profile is of ``fact`` (a dotted path), None when it does not say."""
        return self.certainties.get(fact)

    def value_of(self, fact: str) -> Any:
        """The value of a fact named by its dotted key (``spoc_conf.guid_key``).

        For listings that name facts as text (a check's ``RELIES_ON``, ``auditor checks ID``);
        code reads attributes. An unknown key is a KeyError, never a default."""
        node: Any = self
        for part in fact.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif dataclasses.is_dataclass(node) and part in {f.name for f in dataclasses.fields(node)} \
                    and part not in FACT_FIELDS:
                node = getattr(node, part)
            else:
                raise KeyError(fact)
        return node


FACT_FIELDS = ("source", "sha256", "certainties")
"""Fields of :class:`Profile` that are not read from the YAML."""
