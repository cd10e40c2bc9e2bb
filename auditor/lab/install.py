"""Run the "server installer" on a lab node: swap its node folder for the installed one.

The ``add-management`` scenario ships MGMT3 twice: ``mgmt3`` (a Windows server with nothing
of the product installed) and ``mgmt3-installed`` (as the server installer leaves it); the
manifest's ``extra.installs`` maps the node to the second folder. Installing replaces the
served folder's content under the node's lock while its WinRM listener keeps running, so the
next request sees the installed server, as an admin's next audit would after the installer.
The installer also joins the new server to the Management etcd cluster, whose member list every
Management server reports alike: the installed server's member list is given to every other
node that reports one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from auditor.errors import InputError
from auditor.lab.node_data import LabNode, _node_lock
from auditor.lab.scenario_builder import INSTALLS_KEY
from auditor.manifest import load_manifest


def install_node(served: Path, node: str) -> Path:
    """Install ``node`` in the served scenario folder ``served``; returns its node folder."""
    manifest = load_manifest(served)
    installs = {k.lower(): v for k, v in dict(manifest.extra.get(INSTALLS_KEY) or {}).items()}
    entry = next((n for n in manifest.nodes if n.name.lower() == node.lower()), None)
    if entry is None or node.lower() not in installs:
        known = ", ".join(sorted(installs)) or "none"
        raise InputError(f"scenario {manifest.name or served}: no installation for node {node!r} (installable: "
                         f"{known})")
    source = served / str(installs[node.lower()])
    target = served / entry.folder
    with _node_lock(target):
        staging = target.with_name(target.name + ".installing")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging)
        shutil.rmtree(target)
        staging.rename(target)
    members = (LabNode(entry, target).load().get("etcd") or {}).get("members")
    if members:
        _join_etcd(served, [n for n in manifest.nodes if n is not entry], members)
    return target


def _join_etcd(served: Path, others: list, members: list) -> None:
    """Every other node that reports the Management etcd now lists ``members``."""
    for other in others:
        node = LabNode(other, served / other.folder)
        with node.lock:
            data = node.load()
            if isinstance(data.get("etcd"), dict) and data["etcd"].get("members"):
                data["etcd"]["members"] = members
                node.save(data)


__all__ = ["install_node"]
