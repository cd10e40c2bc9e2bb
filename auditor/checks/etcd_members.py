"""ETCD-MEMBERS: each Management server's etcd answers, and its members are exactly the
Management servers of the cluster."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from auditor.addresses import is_ip, is_loopback
from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.nodestate import EtcdMember

META = CheckMeta(
    id="ETCD-MEMBERS",
    title="Each Management server's etcd answers and its members are exactly the Management servers",
    severity=Severity.HIGH,
    rationale=(
        "The Management Service keeps its settings (the database connection among them) in a "
        "node-local etcd v2 at 127.0.0.1:2379 (vendor support script rebuildEtcd.ps1). The etcd "
        "cluster spans the Management servers (inferred from the vendor's etcd reconfiguration "
        "procedure, profile etcd.members_are_management_servers): a member that is no Management "
        "server of the inventory (a decommissioned server, an old IP address) counts towards the "
        "quorum without ever answering, and a Management server that is no member does not share "
        "the cluster's settings. A member is matched to a Management server by the host of its "
        "peer or client URLs (the server's addresses) or by its name (the host name). A Management "
        "server that was not collected is never blamed: if no member can be matched to it, its "
        "membership is 'not verifiable' (error)."
    ),
    remediation=(
        "On a Management server whose etcd does not answer, check the YSoftEtcd service and its "
        "log. A stale member: remove it (etcdctl member remove <id>) once you are sure the server "
        "is gone. A Management server missing from the members: follow the vendor procedure "
        "'Reconfiguration or recovery of etcd cluster in Management Service' "
        "(https://dp.bizhub.sh/print-management/MU31/Reconfiguration_or_recovery_of_etcd_cluster_in_Management_Service.html), "
        "one server at a time, with a backup of the etcd keys first."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = ("subsystems.etcd", "etcd.endpoint", "etcd.members_are_management_servers")


def _hosts(member: EtcdMember) -> list[str]:
    """The hosts of a member's peer and client URLs, loopback left out (127.0.0.1 names
    whichever server answered, not this member)."""
    out = []
    for url in (*member.peer_urls, *member.client_urls):
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            continue
        if host and not is_loopback(host) and host.lower() != "localhost" and host not in out:
            out.append(host)
    return out


def match_member(cluster: Cluster, member: EtcdMember) -> NodeView | None:
    """The Management server (collected or not) a member is: by a URL host (the server's
    addresses, its inventory address or declared bound_ip, its names), else by member name."""
    pool = cluster.management_nodes
    for host in _hosts(member):
        hit = cluster.resolve(host, candidates=pool)
        if hit is None and is_ip(host):
            hit = next((n for n in pool if cluster.declared.node(n.name).bound_ip == host), None)
        if hit is not None:
            return hit
    return cluster.resolve(member.name, candidates=pool) if member.name else None


def _label(member: EtcdMember) -> str:
    url = next(iter((*member.peer_urls, *member.client_urls)), "")
    return (member.name or "(unnamed)") + (f" ({url})" if url else "")


def run(cluster: Cluster) -> Iterator[Finding]:
    settings = cluster.profile.etcd
    pool = cluster.management_nodes

    def check_node(node: NodeView) -> Iterator[Finding]:
        etcd = node.state.etcd
        service = node.subsystem_service("etcd")
        if etcd is None:
            if service is None:
                yield make(META, Status.FAIL, node.name, node.name,
                           "no etcd service on this Management server (profile subsystems.etcd), so its "
                           "Management Service has no settings store")
            else:
                yield make(META, Status.ERROR, node.name, node.name,
                           "cannot evaluate: etcd was not asked on this node (a snapshot made before etcd "
                           "facts were collected?)")
            return
        kw = {"details": {"endpoint": etcd.endpoint, "members": [_label(m) for m in etcd.members]}}
        if etcd.error is not None:
            state = f"; service {service.name} is {service.state}" if service is not None else ""
            yield make(META, Status.FAIL, node.name, node.name,
                       f"etcd does not answer at {etcd.endpoint}: {etcd.error}{state}", actual=etcd.error, **kw)
            return
        problems: list[str] = []
        unknown: list[str] = []
        if etcd.healthy is False:
            problems.append("etcd reports itself unhealthy (/health: false; no quorum?)")
        if settings.members_are_management_servers:
            matched: dict[str, NodeView] = {}
            strays = []
            for m in etcd.members:
                hit = match_member(cluster, m)
                if hit is None:
                    strays.append(m)
                else:
                    matched.setdefault(hit.name, hit)
            unseen = [n for n in pool if not n.reachable and n.name not in matched]
            for m in strays:
                if unseen:
                    unknown.append(f"member {_label(m)} matches no collected Management server; it may be "
                                   + " or ".join(n.name for n in unseen) + " (not collected)")
                else:
                    problems.append(f"member {_label(m)} is no Management server of the inventory (stale member)")
            for n in pool:
                if n.name in matched:
                    continue
                if n.reachable:
                    problems.append(f"Management server {n.name} is not a member")
                elif not strays:
                    unknown.append(f"{n.name} was not collected and no member matches its address or name: "
                                   "its membership is not verifiable")
            kw["expected"] = sorted(n.name for n in pool)
            kw["actual"] = sorted(matched) + [_label(m) for m in strays]
        if problems:
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(problems + unknown), **kw)
        elif unknown:
            yield make(META, Status.ERROR, node.name, node.name, "not verifiable: " + "; ".join(unknown), **kw)
        else:
            what = f"{len(etcd.members)} member(s), one per Management server" \
                if settings.members_are_management_servers else f"{len(etcd.members)} member(s)"
            yield make(META, Status.PASS, node.name, node.name, f"etcd answers at {etcd.endpoint}: {what}", **kw)

    yield from per_node(META, cluster, check_node, management_only=True)
