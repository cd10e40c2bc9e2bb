"""How each product fact of the profile can be seen on a collected node: a small typed table.

``auditor profile verify`` (:mod:`auditor.profile.verify`) holds the profile against a real
cluster: for each fact it looks up here *what to look at* (a service, a file in a subsystem's
folder, a key in a configuration file, a registry value, an etcd key ...) and says per node
whether the cluster confirmed the fact, contradicted it or could not tell. Facts nothing
collected can show are listed too, each with the reason (:class:`Unobservable`), and settings
of the auditor itself (:class:`Setting`) are named so nothing is left out by accident.

Every fact of the profile (every leaf of the typed view, :func:`profile_facts`) matches
exactly one entry of :data:`OBSERVATIONS`; ``tests/profile/test_observations.py`` fails when a
new key has none, so a new product fact cannot silently escape verification. Adding a fact:
add its entry here next to the facts of its section (an existing :class:`Observe` kind with
its parameters, or a new kind plus its observer in :mod:`auditor.profile.observers`).

Facts are named as :attr:`auditor.profile.view.Profile.certainties` names them: dotted
fields, list entries by their first field in brackets (``version.registry[HKLM\\...].value``,
``subsystems.management.files[conf\\*.properties]``). An entry's ``fact`` is such a name with
``{placeholders}`` for the parts an admin's override may add (a new subsystem, service, file).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from auditor.profile.view import FACT_FIELDS, Certainty, Profile


class Observe(StrEnum):
    """What an observer looks at on a node (one implementation each in auditor.profile.observers)."""

    SERVICE_NAME = "service_name"  # a Windows service by its short name (the fact's value)
    SERVICE_DISPLAY_NAMES = "service_display_names"  # the display name of that service
    INSTALL_DIR = "install_dir"  # the subsystem's folder derived from its service ImagePath
    FILE = "file"  # a file (or a pattern's files) in a subsystem's folder
    FOLDER = "folder"  # a folder in a subsystem's folder, tested from the node
    CONF_KEY = "conf_key"  # a key in a configuration file of the cluster model (``document``)
    MANAGEMENT_PORT = "management_port"  # a Management server listening on a port
    SERVICE_PORT = "service_port"  # a running service's node listening on a port
    REGISTRY_KEY = "registry_key"  # a registry key (``{key}``)
    REGISTRY_VALUE = "registry_value"  # a value name under that key
    LOG_PATTERN = "log_pattern"  # a regular expression finding the version in the install log
    ENVIRONMENT = "environment"  # machine environment variables of the Management servers
    ETCD_ANSWERS = "etcd_answers"  # the node-local Management etcd answering at an endpoint
    ETCD_KEY = "etcd_key"  # a key (or keys) at the root of the node's etcd
    ETCD_MEMBERS = "etcd_members"  # the members of the node's etcd cluster being Management servers


class Document(StrEnum):
    """Configuration files a :attr:`Observe.CONF_KEY` fact is read from."""

    SPOC_CONF = "spoc.conf"  # SPOC\conf\modules\spoc.conf (spoc_conf.file)
    SPOC_IMS = "SPOC ims properties"  # SPOC\ims\application.properties (spoc_ims.file)
    MANAGEMENT_CONF = "Management conf properties"  # Management\conf\*.properties
    MANAGEMENT_IMS = "Management ims properties"  # Management\ims\application.properties


@dataclass(frozen=True)
class Observable:
    """A fact a collected node can confirm or contradict.

    ``looks_for``: what is looked at, in words for the admin (``{placeholders}`` of ``fact`` and
    ``{value}`` are filled in). ``subsystem``: the subsystem whose folder or service it concerns
    (a key, a ``{placeholder}`` of ``fact``, or ``=fact.key`` to take it from another fact's
    value). ``document`` for :attr:`Observe.CONF_KEY`; ``numbered``: the key may carry a suffix
    2, 3 ... (spoc.conf's server keys); ``of_fact``: the fact whose value this one qualifies
    (the service of ``embedded_db.port``)."""

    fact: str
    observe: Observe
    looks_for: str
    subsystem: str | None = None
    document: Document | None = None
    numbered: bool = False
    of_fact: str | None = None


@dataclass(frozen=True)
class Unobservable:
    """A product fact nothing the auditor collects can show: listed with the reason, so the
    admin knows to check it another way."""

    fact: str
    reason: str


@dataclass(frozen=True)
class Setting:
    """Not a product fact: a setting of the auditor itself (what to collect, how long to wait)."""

    fact: str
    what: str


Entry = Observable | Unobservable | Setting

_SERVICE = "subsystems.{subsystem}.services[{service}]"
_NAME_REASON = "a name for people, not something a server shows"
_RESTART_REASON = ("which service reads a file shows only when it restarts: auditor fix collects again after each "
                   "restart and verifies the finding is gone")
_PER_SERVER_REASON = ("whether a key may differ between Management servers is a product rule; one cluster's values "
                      "cannot show it")

OBSERVATIONS: tuple[Entry, ...] = (
    Setting("profile_version", "the format version of the profile file"),
    Setting("name", "the profile's name, shown in reports"),
    Setting("max_file_bytes", "how much of a configuration file collection reads"),
    # ---- subsystems ------------------------------------------------------------------
    Unobservable("subsystems.{subsystem}.title", _NAME_REASON),
    Observable(f"{_SERVICE}.name", Observe.SERVICE_NAME,
               "a service named {value} (or one with its display name under another name)",
               subsystem="{subsystem}"),
    Observable(f"{_SERVICE}.display_names", Observe.SERVICE_DISPLAY_NAMES,
               "the display name of service {service}", subsystem="{subsystem}"),
    Observable("subsystems.{subsystem}.install_dir_strip", Observe.INSTALL_DIR,
               "the {subsystem} folder derived from its service's ImagePath, and its files there",
               subsystem="{subsystem}"),
    Observable("subsystems.{subsystem}.files[{file}]", Observe.FILE, "{file} in the {subsystem} folder",
               subsystem="{subsystem}"),
    Observable("subsystems.{subsystem}.probe_dirs[{folder}]", Observe.FOLDER, "folder {folder} in the {subsystem} folder",
               subsystem="{subsystem}"),
    Unobservable("subsystems.{subsystem}.mandatory_on",
                 "which roles must run a subsystem is the product's installation rule; a server of that role "
                 "without it is a finding of MGMT-SUBSYSTEMS, not a sign of a wrong profile"),
    Unobservable("subsystems.{subsystem}.may_be_stopped",
                 "whether a stopped service is normal is an operating rule, not visible in its state"),
    Unobservable("restart_after_change.{file}",
                 _RESTART_REASON),
    # ---- spoc.conf -------------------------------------------------------------------
    Observable("spoc_conf.file", Observe.FILE, "{value} in the Spooler Controller folder",
               subsystem="spooler_controller"),
    Observable("spoc_conf.guid_key", Observe.CONF_KEY, "key {value} (or {value}2, {value}3 ...) in spoc.conf",
               document=Document.SPOC_CONF, numbered=True),
    Observable("spoc_conf.ip_key", Observe.CONF_KEY, "key {value} (or {value}2, {value}3 ...) in spoc.conf",
               document=Document.SPOC_CONF, numbered=True),
    Observable("spoc_conf.port_key", Observe.CONF_KEY, "key {value} (or {value}2, {value}3 ...) in spoc.conf",
               document=Document.SPOC_CONF, numbered=True),
    Observable("spoc_conf.own_guid_key", Observe.CONF_KEY, "key {value} in spoc.conf", document=Document.SPOC_CONF),
    Unobservable("spoc_conf.comment_prefixes",
                 "a file shows which lines start with these characters, not whether the Spooler Controller "
                 "skips them; a line spoc.conf cannot parse is reported by CONFIG-PARSEABLE"),
    Observable("spoc_conf.default_port", Observe.MANAGEMENT_PORT,
               "each Management server listening on port {value} (when no other port is configured for it)"),
    # ---- SPOC ims\application.properties ----------------------------------------------
    Observable("spoc_ims.file", Observe.FILE, "{value} in the Spooler Controller folder",
               subsystem="spooler_controller"),
    Observable("spoc_ims.addresses_key", Observe.CONF_KEY, "key {value} in the Spooler Controller's {file}",
               document=Document.SPOC_IMS),
    Unobservable("spoc_ims.separators",
                 "how the proxy splits the address list is not visible in the file; SPOC-IMS-ADDRESSES shows the "
                 "addresses as they were split"),
    # ---- Management ims\application.properties ---------------------------------------
    Observable("management_ims.file", Observe.FILE, "{value} in the Management folder",
               subsystem="=management_ims.subsystem"),
    Observable("management_ims.repository_key", Observe.CONF_KEY, "key {value} in the Management {file}",
               document=Document.MANAGEMENT_IMS),
    Unobservable("management_ims.subsystem", "the folder management_ims.file is read from: verified with it"),
    # ---- Management conf\*.properties ------------------------------------------------
    Observable("management_conf.files", Observe.FILE, "{value} in the Management folder", subsystem="management"),
    Observable("management_conf.guid_key", Observe.CONF_KEY, "key {value} in Management {file}",
               document=Document.MANAGEMENT_CONF),
    Observable("management_conf.ip_key", Observe.CONF_KEY, "key {value} in Management {file}",
               document=Document.MANAGEMENT_CONF),
    Observable("management_conf.port_key", Observe.CONF_KEY, "key {value} in Management {file}",
               document=Document.MANAGEMENT_CONF),
    Observable("management_conf.db.{field}", Observe.CONF_KEY, "key {value} in Management {file}",
               document=Document.MANAGEMENT_CONF),
    Setting("management_conf.secret_key_patterns", "which values the auditor never shows or stores"),
    # ---- shared configuration of the Management servers (MGMT-CONFIG-CONSISTENT) ----------
    Observable("shared_config.{entry}.path", Observe.FILE, "{value} in its subsystem's folder",
               subsystem="=shared_config.{entry}.subsystem"),
    Unobservable("shared_config.{entry}.title", _NAME_REASON),
    Unobservable("shared_config.{entry}.subsystem", "the folder the path is read from: verified with it"),
    Unobservable("shared_config.{entry}.owner",
                 _RESTART_REASON),
    Unobservable("shared_config.{entry}.restart",
                 _RESTART_REASON),
    Unobservable("shared_config.{entry}.node_specific_keys",
                 _PER_SERVER_REASON),
    Setting("shared_config.{entry}.compared_by.{key}", "which check of the auditor compares a key"),
    # ---- the Management etcd ---------------------------------------------------------
    Observable("etcd.endpoint", Observe.ETCD_ANSWERS, "the node-local etcd answering at {value} on the Management "
               "servers"),
    Setting("etcd.timeout_ms", "how long the auditor waits for each etcd request"),
    Observable("etcd.keys", Observe.ETCD_KEY, "key(s) {value} at the root of the Management server's etcd"),
    Setting("etcd.secret_key_patterns", "which etcd keys the auditor refuses to read"),
    Setting("etcd.collect_key_names", "whether collection lists the names of the etcd keys"),
    Observable("etcd.db.{field}", Observe.ETCD_KEY, "key {value} at the root of the Management server's etcd"),
    Observable("etcd.members_are_management_servers", Observe.ETCD_MEMBERS,
               "every member of the Management server's etcd cluster matching a Management server of the inventory"),
    # ---- embedded database -----------------------------------------------------------
    Observable("embedded_db.service", Observe.SERVICE_NAME, "a service named {value} on the Management servers",
               subsystem="management"),
    Observable("embedded_db.data_dir", Observe.FOLDER, "folder {value} in the Management folder",
               subsystem="management"),
    Observable("embedded_db.port", Observe.SERVICE_PORT, "port {value} listening where the embedded database runs",
               of_fact="embedded_db.service"),
    Unobservable("embedded_db.local_hosts", "host names that mean 'this server' are Windows naming, not a "
                 "product fact"),
    # ---- version ---------------------------------------------------------------------
    Observable("version.registry[{key}].key", Observe.REGISTRY_KEY, "registry key {key}"),
    Observable("version.registry[{key}].value", Observe.REGISTRY_VALUE, "value {value} under registry key {key}"),
    Observable("version.install_log.file", Observe.FILE, "{value} in the Management folder", subsystem="management"),
    Observable("version.install_log.pattern", Observe.LOG_PATTERN, "a version matched by {value} in the install log"),
    # ---- Windows and collection ------------------------------------------------------
    Unobservable("service_accounts.builtin_names", "Windows' own account names, not a product fact"),
    Unobservable("service_accounts.builtin_domains", "Windows' own account names, not a product fact"),
    Unobservable("service_accounts.virtual_domains", "Windows' own account names, not a product fact"),
    Unobservable("service_accounts.local_domains", "Windows' own account names, not a product fact"),
    Unobservable("service_accounts.gmsa_suffix", "Windows' own account names, not a product fact"),
    Unobservable("service_accounts.share_capable_kinds",
                 "whether an account kind can hold rights on the repository share is the file server's decision, "
                 "not visible on the Management servers (IMS-SERVICE-ACCOUNT reports the account each one uses)"),
    Unobservable("installer_processes",
                 "installers run only during an install or update: a cluster at rest shows none "
                 "(INSTALL-IN-PROGRESS reports one when it is seen)"),
    Unobservable("legacy_services",
                 "names of SafeQ 5 services: a cleanly migrated cluster has none, so their absence confirms nothing "
                 "(LEGACY-SERVICES reports one when it is seen)"),
    Unobservable("service_patterns",
                 "collection asks only for services matching these patterns, so a product service named "
                 "otherwise is never seen"),
    Observable("environment_variables", Observe.ENVIRONMENT, "machine environment variable(s) {value} on the "
               "Management servers"),
    Setting("registry_keys", "which registry keys collection reads (the version keys are verified as "
            "version.registry[...])"),
    Unobservable("clock.max_skew_seconds",
                 "the clock difference the Management etcd tolerates is etcd's rule, not something a server shows "
                 "(auditor precheck add-management measures the clocks themselves)"),
    Unobservable("server_os.min_build", "a support floor is the vendor's statement; a running server cannot show it"),
    Unobservable("server_os.min_dotnet_release",
                 "a support floor is the vendor's statement; a running server cannot show it"),
)


# ---- facts of a profile ----------------------------------------------------------------
@dataclass(frozen=True)
class ProfileFact:
    """One fact of a loaded profile: its name, the value in effect, and how sure the profile is
    of it (its own certainty, else that of the entry or section it belongs to; None: not said)."""

    key: str
    value: Any
    certainty: Certainty | None


def parent_fact(key: str) -> str | None:
    """The fact or section ``key`` belongs to (``a.b[c.d].e`` -> ``a.b[c.d]`` -> ``a.b`` -> ``a``)."""
    if key.endswith("]"):
        cut = key.rfind("[")
        return key[:cut] if cut > 0 else None
    depth, i = 0, len(key) - 1
    while i >= 0:
        ch = key[i]
        if ch == "]":
            depth += 1
        elif ch == "[":
            depth -= 1
        elif ch == "." and depth == 0:
            return key[:i]
        i -= 1
    return None


def certainty_of(profile: Profile, key: str) -> Certainty | None:
    """How sure ``profile`` is of ``key``: its own mark, else the nearest enclosing one."""
    probe: str | None = key
    while probe:
        found = profile.certainty(probe)
        if found is not None:
            return found
        probe = parent_fact(probe)
    return None


def _leaves(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(fact name, value) for every leaf under ``value``, named as the loader names facts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name not in FACT_FIELDS:
                yield from _leaves(getattr(value, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, f"{key}.{k}")
    elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
        for item in value:
            first = getattr(item, dataclasses.fields(item)[0].name)
            yield from _leaves(item, f"{key}[{first}]")
    else:
        yield key, value


def _subsystem_facts(key: str, sub: Any) -> Iterator[tuple[str, Any]]:
    """A subsystem's facts as the loader names them: services by name with their fields, each
    file and probed folder as one fact (its entry), the rest field by field."""
    where = f"subsystems.{key}"
    yield f"{where}.title", sub.title
    for s in sub.services:
        yield f"{where}.services[{s.name}].name", s.name
        yield f"{where}.services[{s.name}].display_names", s.display_names
    yield f"{where}.install_dir_strip", sub.install_dir_strip
    for f in sub.files:
        yield f"{where}.files[{f.path}]", f.path
    for p in sub.probe_dirs:
        yield f"{where}.probe_dirs[{p}]", p
    yield f"{where}.mandatory_on", sub.mandatory_on
    yield f"{where}.may_be_stopped", sub.may_be_stopped


def profile_facts(profile: Profile) -> list[ProfileFact]:
    """Every fact of ``profile`` (each leaf of the typed view), with its certainty."""
    out = []
    for f in dataclasses.fields(profile):
        if f.name in FACT_FIELDS:
            continue
        value = getattr(profile, f.name)
        pairs = (pair for k, sub in value.items() for pair in _subsystem_facts(k, sub)) \
            if f.name == "subsystems" else _leaves(value, f.name)
        out += [ProfileFact(key, v, certainty_of(profile, key)) for key, v in pairs]
    return out


# ---- matching a fact to its entry ----------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_IN_BRACKETS = r"[^]]+"
_NAME = r"[^.\[\]]+"


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """``subsystems.{subsystem}.files[{file}]`` as a regular expression with named groups; a
    placeholder in brackets takes anything up to the closing bracket, elsewhere one name."""
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos:m.start()]))
        chars = _IN_BRACKETS if template[:m.start()].endswith("[") else _NAME
        out.append(f"(?P<{m.group(1)}>{chars})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    if pos == len(template) and out[-2].endswith(f">{_NAME})"):
        out[-2] = out[-2].replace(f">{_NAME})", ">.+)")  # the last placeholder may hold dots (repository.path)
    return re.compile("".join(out) + r"\Z")


def entries_for(key: str) -> list[tuple[Entry, dict[str, str]]]:
    """Every entry of :data:`OBSERVATIONS` matching fact ``key``, with the placeholder values."""
    hits = []
    for entry in OBSERVATIONS:
        m = _pattern(entry.fact).match(key)
        if m:
            hits.append((entry, m.groupdict()))
    return hits


def entry_for(key: str) -> tuple[Entry, dict[str, str]] | None:
    """The one entry of fact ``key`` (None: the table has none, a gap the tests catch)."""
    hits = entries_for(key)
    return hits[0] if hits else None


__all__ = ["OBSERVATIONS", "Document", "Entry", "Observable", "Observe", "ProfileFact", "Setting", "Unobservable",
           "certainty_of", "entries_for", "entry_for", "parent_fact", "profile_facts"]
