"""Configuration values per node, taken from the collected files and services, for config drift.

Why here and not in the cluster model: history wants *every* key of every collected
config file (to say "cmlPort changed on MGMT1 last night"), while the cluster model only
interprets the keys checks need. The same parsers are used, so values match what checks
see. A file that does not parse is skipped: the checks already report it with its line.

A service's log-on account, start mode and state are configuration too (an account changed
by ``auditor fix`` or by hand is drift an admin must see): each collected service is recorded
as the pseudo-file ``service <name>`` with the keys ``StartName``, ``StartMode`` and ``State``
(Win32_Service's names, as ``sc qc`` and ``Get-CimInstance`` show them).

The Management etcd holds settings every Management server shares (the database connection):
the allow-listed keys the node's etcd answered (profile ``etcd.keys``; never a secret) are
recorded as the pseudo-file ``etcd``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor.history.store import ConfigValue
from auditor.nodestate import NodeState


def _values_of(path: str, data: bytes, profile: Any = None) -> dict[str, str]:
    from auditor.parsers import SpocConfDocument, app_settings, parse_properties, remote_conf_properties

    low = path.lower().replace("/", "\\")
    name = low.rsplit("\\", 1)[-1]
    if name.endswith(".properties"):
        return parse_properties(data, path).as_dict()
    if name == "spoc.conf" and profile is not None:
        return SpocConfDocument.from_profile(data, path, profile).as_dict()
    if name.endswith(".conf"):
        return SpocConfDocument(data, path).as_dict()
    if name == "remoteconfimg.xml":
        return dict(remote_conf_properties(data, path).values)
    if name.endswith(".config"):
        return dict(app_settings(data, path).values)
    return {}


SERVICE_FILE = "service {name}"
"""How a service reads in the file column of config drift."""


def service_values(node: NodeState) -> list[ConfigValue]:
    """The configuration of every collected service of ``node`` as config values."""
    out: list[ConfigValue] = []
    name = node.name
    for svc in sorted(node.services, key=lambda s: s.name.lower()):
        file = SERVICE_FILE.format(name=svc.name)
        out += (ConfigValue(name, file, "StartName", svc.account), ConfigValue(name, file, "StartMode", svc.start_mode),
                ConfigValue(name, file, "State", svc.state))
    return out


ETCD_FILE = "etcd"
"""How the Management etcd reads in the file column of config drift."""


def etcd_values(node: NodeState) -> list[ConfigValue]:
    """The allow-listed keys the node's Management etcd answered, as config values (none when
    etcd was not asked or did not answer, as for a file that could not be read)."""
    if node.etcd is None or not node.etcd.answered:
        return []
    return [ConfigValue(node.name, ETCD_FILE, k, v) for k, v in sorted(node.etcd.values.items())]


def spoc_documents(cluster: Any, profile: Any) -> dict[int, Any]:
    """The spoc.conf documents the cluster model parsed, by ``id()`` of the collected file entry.

    The model parses each node's spoc.conf with the profile (``SpocConfDocument.from_profile``),
    exactly as :func:`_values_of` does; every node's differs (its own GUID), so parsing them
    again cost half a second at 5,000 nodes. Only when the model used this same profile."""
    if cluster is None or profile is None or cluster.profile is not profile:
        return {}
    out: dict[int, Any] = {}
    for view in cluster.nodes:
        conf = view.spoc.conf if view.spoc is not None else None
        if conf is not None and conf.ok and conf.path is not None:
            entry = view.state.file(conf.path)  # the entry load_file parsed
            if entry is not None:
                out[id(entry)] = conf.doc
    return out


def config_values_from_nodes(nodes: Iterable[NodeState], profile: Any = None, cluster: Any = None) -> list[ConfigValue]:
    """(node, file, key, value) for every key of every parseable config file, every service and
    the Management etcd's allow-listed keys of every reachable node. Secrets are masked later, by :func:`auditor.history.store.record_run`.

    Files are parsed once per distinct (file name, content): most files of a cluster's nodes
    are byte-for-byte the same (two thirds of them in a 5,000-node cluster). ``cluster``: the
    model built from ``nodes``, whose parsed spoc.conf files are used as they are."""
    out: list[ConfigValue] = []
    parsed: dict[tuple[str, bytes], dict[str, str] | None] = {}
    documents = spoc_documents(cluster, profile)
    for node in nodes:
        if not node.reachable:
            continue
        for entry in sorted(node.files.values(), key=lambda e: e.path.lower()):
            if not entry.exists or entry.content is None or entry.truncated:
                continue
            key = (entry.path.replace("/", "\\").rsplit("\\", 1)[-1].lower(), entry.content)
            if key not in parsed and key[0] == "spoc.conf" and id(entry) in documents:
                parsed[key] = documents[id(entry)].as_dict()  # what _values_of would return
            if key not in parsed:
                try:
                    parsed[key] = _values_of(entry.path, entry.content, profile)
                except Exception:  # noqa: BLE001 - unparseable files are the checks' business
                    parsed[key] = None
            values = parsed[key]
            if values is None:
                continue
            out.extend(ConfigValue(node.name, entry.path, k, v) for k, v in values.items())
        out.extend(service_values(node))
        out.extend(etcd_values(node))
    return out
