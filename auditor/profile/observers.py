"""How each kind of fact (:class:`~auditor.profile.observations.Observe`) is looked at on a node.

One observer per kind, registered in :data:`OBSERVERS`: ``concerns(ask)`` gives the nodes the
fact is about (a spoc.conf key: nodes with a Spooler Controller; a Management key: Management
servers; a node that was not collected is judged by its roles, see
:mod:`auditor.profile.survey`), ``observe(ask, node)`` what a collected node showed. Observers
read the cluster model (:mod:`auditor.cluster`) the checks read, so "what the auditor saw" means
the same here as in a finding. They never judge the cluster's health: a spoc.conf missing a key
is a contradiction of the profile here, whatever the checks make of it.

``seen`` texts are short and the same for nodes that showed the same thing (no node names in
them), so nodes group (:class:`~auditor.profile.verification.NodeGroup`).
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from auditor.cluster import FileResult, collected_files_of
from auditor.profile.observations import Document, Observe
from auditor.profile.survey import (
    Ask,
    Observer,
    confirmed,
    contradicted,
    document_path,
    listing,
    on_document,
    on_every_node,
    on_management,
    on_service_of,
    on_subsystem,
    unsure,
)
from auditor.profile.verification import Observation
from auditor.vocab import FileStatus
from auditor.winpath import image_executable, install_dir, join, path_key

if TYPE_CHECKING:
    from auditor.cluster import NodeView
    from auditor.nodestate import EtcdFacts
    from auditor.profile.view import Profile, Subsystem


# ---- services ---------------------------------------------------------------------------
def _display_names_of(profile: Profile, name: str) -> tuple[str, ...]:
    for sub in profile.subsystems.values():
        for s in sub.services:
            if s.name.lower() == name.lower():
                return s.display_names
    return ()


def _unclaimed(ask: Ask, node: NodeView) -> list[str]:
    """Product services on the node no subsystem of the profile names (a renamed service shows
    up here), legacy SafeQ 5 services left out."""
    claimed = {s.name.lower() for found in node.services.values() for s in found}
    legacy = {n.lower() for n in ask.profile.legacy_services}
    return [f"{s.name} ('{s.display_name}')" for s in node.state.services
            if s.name.lower() not in claimed and s.name.lower() not in legacy]


def observe_service_name(ask: Ask, node: NodeView) -> Observation:
    name = ask.text
    svc = ask.survey.services(node).get(name.lower())
    if svc is not None:
        return confirmed(f"service {svc.name} ('{svc.display_name}', {svc.state})")
    wanted = {d.lower() for d in _display_names_of(ask.profile, name)}
    other = next((s for s in node.state.services if s.display_name.lower() in wanted), None)
    if other is not None:
        return contradicted(f"no service {name}; '{other.display_name}' runs as service {other.name}")
    unclaimed = _unclaimed(ask, node)
    hint = f"; product services no subsystem names: {listing(unclaimed, 6)}" if unclaimed else ""
    return unsure(f"no service {name} and none with its display name: not installed here{hint}")


def observe_display_names(ask: Ask, node: NodeView) -> Observation:
    name = ask.params["service"]
    names = ask.fact.value
    svc = ask.survey.services(node).get(name.lower())
    if svc is None:
        wanted = {d.lower() for d in names}
        other = next((s for s in node.state.services if s.display_name.lower() in wanted), None)
        if other is not None:
            return confirmed(f"'{other.display_name}' is the display name of service {other.name} "
                        f"(no service named {name} here)")
        return unsure(f"no service {name} on this node")
    if not names:
        return unsure(f"the profile lists no display name for {name} (seen: '{svc.display_name}')")
    if svc.display_name.lower() in {d.lower() for d in names}:
        return confirmed(f"display name '{svc.display_name}'")
    return contradicted(f"display name is '{svc.display_name}'")


# ---- folders and files ------------------------------------------------------------------
def _folder(ask: Ask, node: NodeView, sub: Subsystem) -> tuple[str | None, str]:
    """(the subsystem's install folder on the node, why unknown)."""
    folder = node.install_dirs.get(sub.key)
    if folder:
        return folder, ""
    names = ", ".join(sub.service_names) or "none in the profile"
    return None, f"the {sub.title} folder is unknown (no service {names} with an ImagePath here)"


def _entries_under(node: NodeView, folder: str) -> bool:
    """Whether collection recorded any file (found or absent) in ``folder``: its files were asked."""
    prefix = path_key(folder) + "\\"
    return any(k.startswith(prefix) for k in node.state.files)


def file_presence(ask: Ask, node: NodeView, sub: Subsystem, rel: str) -> Observation:
    """Is ``rel`` (a path or a ``*`` pattern) in ``sub``'s folder on ``node``?"""
    folder, why = _folder(ask, node, sub)
    if folder is None:
        return unsure(why)
    if "*" in rel or "?" in rel:
        found = [f for f in collected_files_of(node.state, folder, [rel]) if f.exists]
        if found:
            return confirmed(f"{len(found)} file(s) match {rel}: {listing([f.path.rsplit(chr(92), 1)[-1] for f in found], 6)}")
        if _entries_under(node, folder):
            return contradicted(f"no file matches {rel} in {folder}")
        return unsure(f"nothing was collected from {folder}")
    path, key = ask.survey.path(folder, rel)
    entry = node.state.files.get(key)
    if entry is not None:
        return confirmed(f"{entry.path}") if entry.exists else contradicted(f"{entry.path} does not exist")
    covering = [f.path for f in sub.files if fnmatch.fnmatchcase(path_key(path), path_key(join(folder, f.path)))]
    if covering and _entries_under(node, folder):
        return contradicted(f"{path} does not exist (no such file among {covering[0]})")
    return unsure(f"{path} was not collected (not among subsystems.{sub.key}.files)")


def observe_file(ask: Ask, node: NodeView) -> Observation:
    sub = ask.subsystem
    if sub is None:
        return unsure(f"the profile has no subsystem {ask.entry.subsystem}")
    return file_presence(ask, node, sub, ask.params.get("file") or ask.text)


def observe_folder(ask: Ask, node: NodeView) -> Observation:
    sub = ask.subsystem
    if sub is None:
        return unsure(f"the profile has no subsystem {ask.entry.subsystem}")
    folder, why = _folder(ask, node, sub)
    if folder is None:
        return unsure(why)
    path, key = ask.survey.path(folder, ask.params.get("folder") or ask.text)
    probe = node.state.probes.get(key)
    if probe is None:
        return unsure(f"{path} was not tested from the node")
    if probe.exists:
        return confirmed(f"{probe.path} exists")
    # a folder such as PGSQL-data is only there on some servers: its absence proves nothing
    return unsure(f"{probe.path} does not exist here" + (f" ({probe.error})" if probe.error else ""))


def observe_install_dir(ask: Ask, node: NodeView) -> Observation:
    sub = ask.subsystem
    if sub is None:
        return unsure("no such subsystem")
    svc = next((s for s in node.services.get(sub.key, []) if s.image_path), None)
    if svc is None:
        return unsure(f"no {sub.title} service with an ImagePath here")
    exe = image_executable(svc.image_path)
    exe_folder = exe.rsplit("\\", 1)[0] if "\\" in exe else ""
    folder = install_dir(svc.image_path, sub.install_dir_strip)
    tails = ", ".join(sub.install_dir_strip)
    if sub.install_dir_strip and folder == exe_folder:
        return contradicted(f"{exe} is in no folder ending with {tails}")
    if not folder:
        return unsure(f"{exe} has no folder")
    if sub.files:
        found = [f for f in collected_files_of(node.state, folder, [f.path for f in sub.files]) if f.exists]
        if found:
            return confirmed(f"{folder} (from {exe}) holds {found[0].path[len(folder) + 1:]}")
        if _entries_under(node, folder):
            return contradicted(f"none of the {sub.title} files is in {folder}, the folder taken from {exe}")
        return unsure(f"nothing was collected from {folder}")
    if sub.install_dir_strip:
        return confirmed(f"{exe} is in {folder}{exe_folder[len(folder):]}")
    return unsure(f"nothing is read from {folder} to check it against")


# ---- keys in configuration files --------------------------------------------------------
def _documents(ask: Ask, node: NodeView) -> tuple[list[FileResult], str]:
    """The file(s) of the entry's document on ``node``, or why there are none."""
    doc = ask.entry.document
    if doc in (Document.SPOC_CONF, Document.SPOC_IMS):
        if node.spoc is None:
            return [], "no Spooler Controller found on this node"
        return [node.spoc.conf if doc is Document.SPOC_CONF else node.spoc.ims], ""
    if node.management is None:
        return [], "not a Management server"
    if doc is Document.MANAGEMENT_IMS:
        return [node.management.ims], ""
    files = list(node.management.conf_files.values())
    if not files:
        return [], f"no {document_path(ask.profile, Document.MANAGEMENT_CONF)} collected"
    return files, ""


def _file_name(res: FileResult) -> str:
    return (res.path or "?").rsplit("\\", 1)[-1]


def observe_conf_key(ask: Ask, node: NodeView) -> Observation:
    key = ask.text
    if not key:
        return unsure("the profile sets no key, so nothing is read")
    results, why = _documents(ask, node)
    if not results:
        return unsure(why)
    read = [r for r in results if r.status is FileStatus.OK and r.doc is not None]
    if not read:
        return unsure("; ".join(r.problem() for r in results))
    numbered = ask.entry.numbered
    for res in read:
        entries = ask.survey.entries(res.doc)
        hit = entries.get(key)
        if hit is None and numbered:
            n = len(key)
            hit = next((e for k, e in entries.items() if k.startswith(key) and k[n:].isdigit()), None)
        if hit is not None:
            return confirmed(f"{hit.key} in {_file_name(res)} line {hit.lineno}")
    keys_seen = list(dict.fromkeys(k for res in read for k in ask.survey.entries(res.doc)))
    files = ", ".join(_file_name(r) for r in read)
    also = f" (nor {key}2, {key}3 ...)" if numbered else ""
    etcd = node.state.etcd
    where = "; the node's etcd holds a key of that name" if etcd is not None and key in _etcd_keys(etcd) else ""
    return contradicted(f"no key {key}{also} in {files} (keys there: {listing(keys_seen)}){where}")


# ---- ports ------------------------------------------------------------------------------
def _listening(node: NodeView) -> list[int]:
    return sorted({p.port for p in node.state.listening_ports})


def _port_seen(node: NodeView, port: int, who: str) -> Observation:
    ports = _listening(node)
    if not ports:
        return unsure("no listening ports were collected")
    if port in ports:
        return confirmed(f"{who} runs and port {port} is listening")
    return contradicted(f"{who} runs, nothing listens on port {port} (listening: {listing([str(p) for p in ports])})")


def observe_management_port(ask: Ask, node: NodeView) -> Observation:
    port = int(ask.fact.value)
    mgmt = node.management
    configured = mgmt.cml_port if mgmt is not None else None
    if configured is not None and configured.strip() != str(port):
        return unsure(f"this server is configured for port {configured.strip()}")
    svc = node.subsystem_service("management")
    if svc is None or not svc.running:
        return unsure("the Management Service is not running here" if svc else "no Management Service here")
    return _port_seen(node, port, f"service {svc.name}")


def observe_service_port(ask: Ask, node: NodeView) -> Observation:
    name = str(ask.profile.value_of(ask.entry.of_fact or ""))
    svc = ask.survey.services(node).get(name.lower())
    if svc is None:
        return unsure(f"no service {name} here")
    if not svc.running:
        return unsure(f"service {name} is {svc.state}")
    return _port_seen(node, int(ask.fact.value), f"service {name}")


# ---- registry, install log, environment -------------------------------------------------
def observe_registry_key(ask: Ask, node: NodeView) -> Observation:
    key = ask.params["key"]
    if key.lower() not in ask.survey.registry_keys:
        return unsure("not collected: the key is not in the profile's registry_keys")
    registry = ask.survey.registry(node)
    values = registry.get(key.lower())
    if values is not None:
        return confirmed(f"present (values: {listing(sorted(values))})")
    others = [src.key for src in ask.profile.version.registry
              if src.key.lower() != key.lower() and src.key.lower() in registry]
    if others:
        return unsure(f"absent; this node has {others[0]} instead (the other branding?)")
    return contradicted("absent, and no other version key of the profile is there either")


def observe_registry_value(ask: Ask, node: NodeView) -> Observation:
    values = ask.survey.registry(node).get(ask.params["key"].lower())
    if values is None:
        return unsure("the key is not on this node")
    name = ask.text
    found = next((k for k in values if k.lower() == name.lower()), None)
    if found is not None:
        return confirmed(f"{found} = {values[found]}")
    return contradicted(f"no value {name} (values there: {listing(sorted(values))})")


def observe_log_pattern(ask: Ask, node: NodeView) -> Observation:
    folder = node.install_dirs.get("management")
    if not folder:
        return unsure("the Management folder is unknown")
    path = join(folder, ask.profile.version.install_log.file)
    entry = node.state.file(path)
    if entry is None or not entry.exists or entry.content is None:
        return unsure(f"{path} was not read")
    try:
        m = re.search(ask.text, entry.content.decode("utf-8", errors="replace"), re.IGNORECASE)
    except re.error as exc:
        return unsure(f"the pattern is no valid regular expression: {exc}")
    if m and m.groups():
        return confirmed(f"version {m.group(1)} in {path.rsplit(chr(92), 1)[-1]}")
    return contradicted(f"no match in {path}")


def observe_environment(ask: Ask, node: NodeView) -> Observation:
    names = [str(v) for v in ask.fact.value]
    env = {k.lower(): (k, v) for k, v in node.state.environment.items()}
    missing = [n for n in names if n.lower() not in env]
    if missing:
        return contradicted(f"not set: {', '.join(missing)}")
    return confirmed(", ".join(f"{env[n.lower()][0]}={env[n.lower()][1]}" for n in names))


# ---- the Management etcd -----------------------------------------------------------------
def _etcd_keys(etcd: EtcdFacts) -> set[str]:
    """The keys the node's etcd showed: the names it listed and the values it gave."""
    return set(etcd.key_names or ()) | set(etcd.values)


def _etcd_answer(node: NodeView) -> tuple[EtcdFacts | None, str]:
    """The node's etcd answer, or why there is none."""
    etcd = node.state.etcd
    if etcd is None:
        return None, "etcd was not asked on this node (no etcd service, or a snapshot older than etcd facts)"
    if not etcd.answered:
        return None, f"etcd did not answer at {etcd.endpoint}: {etcd.error}"
    return etcd, ""


def observe_etcd_endpoint(ask: Ask, node: NodeView) -> Observation:
    etcd = node.state.etcd
    if etcd is not None and etcd.answered:
        return confirmed(f"etcd answered at {etcd.endpoint} ({len(etcd.members)} member(s))")
    _, why = _etcd_answer(node)
    svc = node.subsystem_service("etcd")
    if etcd is not None and svc is not None and svc.running:
        return contradicted(f"service {svc.name} runs, but {why[len('etcd '):]}")
    return unsure(why + (f"; service {svc.name} is {svc.state}" if svc is not None else ""))


def observe_etcd_key(ask: Ask, node: NodeView) -> Observation:
    etcd, why = _etcd_answer(node)
    if etcd is None:
        return unsure(why)
    value = ask.fact.value
    wanted = [str(k) for k in value] if isinstance(value, (tuple, list)) else [str(value)]
    held = _etcd_keys(etcd)
    missing = [k for k in wanted if k not in held]
    if not missing:
        return confirmed(f"{', '.join(wanted)} in etcd")
    if etcd.key_names is None and any(k not in ask.profile.etcd.keys for k in missing):
        return unsure("etcd key names were not listed (etcd.collect_key_names) and "
                      f"{', '.join(missing)} is not among the keys read")
    names = list(etcd.key_names) if etcd.key_names is not None else sorted(etcd.values)
    return contradicted(f"no key {', '.join(missing)} in etcd (keys there: {listing(names)})")


def observe_etcd_members(ask: Ask, node: NodeView) -> Observation:
    from auditor.checks.etcd_members import match_member

    etcd, why = _etcd_answer(node)
    if etcd is None:
        return unsure(why)
    if not etcd.members:
        return unsure("etcd listed no members")
    matched = [(m, match_member(ask.survey.cluster, m)) for m in etcd.members]
    servers = [n.name for _, n in matched if n is not None]
    strays = [m.name or "(unnamed)" for m, n in matched if n is None]
    if not strays:
        return confirmed(f"{len(servers)} member(s), each a Management server: {listing(servers)}")
    if not servers:
        return contradicted(f"none of the {len(strays)} member(s) is a Management server of the inventory: "
                            f"{listing(strays)}")
    return unsure(f"member(s) {listing(strays)} match no Management server (a stale member is a finding of "
                  f"ETCD-MEMBERS, not a sign of a wrong profile); the others are {listing(servers)}")


OBSERVERS: dict[Observe, Observer] = {
    Observe.SERVICE_NAME: Observer(on_subsystem, observe_service_name),
    Observe.SERVICE_DISPLAY_NAMES: Observer(on_subsystem, observe_display_names),
    Observe.INSTALL_DIR: Observer(on_subsystem, observe_install_dir),
    Observe.FILE: Observer(on_subsystem, observe_file),
    Observe.FOLDER: Observer(on_subsystem, observe_folder),
    Observe.CONF_KEY: Observer(on_document, observe_conf_key),
    Observe.MANAGEMENT_PORT: Observer(on_management, observe_management_port),
    Observe.SERVICE_PORT: Observer(on_service_of, observe_service_port),
    Observe.REGISTRY_KEY: Observer(on_every_node, observe_registry_key),
    Observe.REGISTRY_VALUE: Observer(on_every_node, observe_registry_value),
    Observe.LOG_PATTERN: Observer(on_management, observe_log_pattern),
    Observe.ENVIRONMENT: Observer(on_management, observe_environment),
    Observe.ETCD_ANSWERS: Observer(on_management, observe_etcd_endpoint),
    Observe.ETCD_KEY: Observer(on_management, observe_etcd_key),
    Observe.ETCD_MEMBERS: Observer(on_management, observe_etcd_members),
}
"""The observer of each kind (``tests/profile/test_observations.py``: every kind has one)."""

__all__ = ["OBSERVERS", "file_presence"]
