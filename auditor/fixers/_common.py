"""Small helpers shared by the fixer modules (lookups on the cluster model, not decisions)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from auditor.addresses import is_ip
from auditor.cluster import Cluster, FileResult, NodeView, SpocView
from auditor.deviation import Judgement
from auditor.expectations import ExpectationSource
from auditor.findings import Finding
from auditor.fixers.plan import Blocked, CannotPlan, FixOptions, NodePlan
from auditor.identity import ServerIdentity


def target_nodes(cluster: Cluster, findings: Iterable[Finding], options: FixOptions) -> list[NodeView]:
    """Nodes with a failing finding, in cluster (inventory) order, limited by ``--node``."""
    names = {f.node.lower() for f in findings if f.node and f.failing}
    return [n for n in cluster.nodes if n.name.lower() in names and options.targets(n.name)]


def addresses(findings: Iterable[Finding], node: str) -> list[tuple[str, str]]:
    return [(f.check_id, f.subject) for f in findings if f.failing and (f.node or "").lower() == node.lower()]


def current_bytes(view: NodeView, path: str) -> bytes | None:
    entry = view.state.file(path)
    if entry is None or not entry.exists or entry.content is None or entry.truncated:
        return None
    return entry.content


def restart_name(cluster: Cluster, view: NodeView, profile_key: str, subsystem: str) -> str | None:
    """The service to restart after a change, as it is named on this node.

    The profile's ``restart_after_change`` says which service reads the file; the node's own
    service of that subsystem wins when found (it may be spelled differently).
    """
    wanted = cluster.profile.restart_after_change.get(profile_key)
    svc = view.state.service(wanted) if wanted else None
    if svc is None:
        svc = view.subsystem_service(subsystem)
    return svc.name if svc else None


def decided_value(judgement: Judgement, cluster: Cluster, alternative: str) -> Any:
    """The value a fixer writes: what the check's judgement (auditor.deviation) names.
    :class:`CannotPlan` when nothing decides (a tie, no value that can work) or the declared
    value itself cannot work; ``alternative`` says how the admin can name one instead."""
    if judgement.reference is None:
        raise CannotPlan(f"{judgement.undecided()}; {alternative}",
                         list(judgement.deviating) or [n.name for n in cluster.management_nodes])
    if judgement.declared_problem:
        key = judgement.declare.key if judgement.declare else "declared value"
        raise CannotPlan(f"the inventory's {key}: {judgement.declared_problem}; declare another, {alternative}",
                         list(judgement.deviating))
    return judgement.reference


def blocked_plan(view: NodeView, check_id: str, reason: str) -> NodePlan:
    """A plan that changes nothing on ``view`` and says why (shown as "blocked")."""
    return NodePlan(node=view.name, blocked=[Blocked(check_id, [view.name], reason)])


def editable_spoc_file(cluster: Cluster, view: NodeView, check_id: str, file_of: Callable[[SpocView], FileResult],
                       what: str, restart: tuple[str, str], service_label: str
                       ) -> tuple[SpocView, FileResult, bytes, str] | NodePlan:
    """The Spooler Controller file a fixer edits on ``view`` (``file_of(view.spoc)``): the SPOC,
    the file's result, its collected bytes and the service to restart so the change is read;
    or the blocked plan that says why it cannot be edited. ``restart``: (profile key of the
    file, subsystem) for :func:`restart_name`."""
    spoc = view.spoc
    if spoc is None:
        return blocked_plan(view, check_id, "no Spooler Controller found on this node")
    res = file_of(spoc)
    if not res.ok or res.path is None:
        return blocked_plan(view, check_id, f"cannot edit {what}: {res.problem()}")
    old = current_bytes(view, res.path)
    if old is None:
        return blocked_plan(view, check_id, f"{res.path} content was not collected")
    service = restart_name(cluster, view, *restart)
    if service is None:
        return blocked_plan(view, check_id, f"the {service_label} service was not found, so a change could not "
                                            "be picked up")
    return spoc, res, old, service


def nothing_to_change(view: NodeView, check_id: str, findings: Iterable[Finding]) -> Blocked:
    """A failing finding the fixer has no edit for: say so instead of claiming success."""
    msgs = "; ".join(f.message for f in findings if f.failing and (f.node or "").lower() == view.name.lower())
    return Blocked(check_id, [view.name], f"the fixer found nothing to change for: {msgs}")


def _usable_ip(ip: str | None) -> bool:
    return bool(ip) and is_ip(ip) and not ip.startswith("127.") and ip not in ("::1", "0.0.0.0")


def server_ip(view: NodeView) -> str | None:
    """The address to write for a Management server in another node's configuration.

    First what the server says it uses (Management ``usedLocalIp``), when it is a real
    address; then its own interface address; then the inventory address. Loopback never:
    the inventory may reach a node through a tunnel or (in the lab) 127.0.0.1, which would
    be meaningless in another node's file.
    """
    m = view.management
    if m and _usable_ip(m.used_ip) and (m.used_ip in view.ips() or not view.state.interfaces):
        return m.used_ip
    for ip in view.state.ipv4_addresses():
        if _usable_ip(ip):
            return ip
    if _usable_ip(view.state.address):
        return view.state.address
    return m.used_ip if m and _usable_ip(m.used_ip) else None


@dataclass(frozen=True)
class WritableServer:
    """A Management server as a fixer may write it into another node's configuration.

    Only values from a trusted source are written: the server's own configuration or the
    inventory for a collected server (its port may be the profile default, as the checks
    expect), only the inventory for one that was not collected, and never a GUID that is just
    the Spooler Controllers' consensus (writing a guess would spread it). ``unknown`` says what
    is missing and why, for the plan's blocked line.
    """

    name: str
    guid: str | None
    ip: str | None
    port: str | None
    addresses: tuple[str, ...]  # addresses that name the server (any of them, when not bound_known)
    bound_known: bool  # ``ip`` is the address its services bind to
    unknown: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.unknown

    def names_address(self, ip: str) -> bool:
        """Is ``ip`` (an address written in a list) right for this server: its bound address, or
        any of its addresses while the bound one is unknown."""
        return ip == self.ip or (not self.bound_known and ip in self.addresses)


def writable_server(server: ServerIdentity) -> WritableServer:
    """``server``'s identity as a fixer may write it (see :class:`WritableServer`)."""
    unknown: list[str] = []
    guid = server.guid
    if guid is None or not server.trusted(guid) or guid.source == ExpectationSource.CONSENSUS:
        unknown.append("its GUID" + (f" (only inferred: {guid.describe()})" if guid is not None else ""))
        guid = None
    bound = server.bound_ip if server.bound_ip is not None and server.trusted(server.bound_ip) else None
    ip = str(bound.value) if bound is not None else (server_ip(server.node) if server.collected else None)
    if ip is None:
        unknown.append("the address its services bind to")
    port = server.cml_port if server.cml_port is not None and server.trusted(server.cml_port) else None
    if port is None:
        unknown.append("its CML port")
    return WritableServer(
        name=server.name, guid=str(guid.value) if guid is not None else None, ip=ip,
        port=str(port.value).strip() if port is not None else None,
        addresses=tuple(server.own_interfaces() or server.addresses), bound_known=bound is not None,
        unknown=tuple(unknown))


def unknown_reason(server: WritableServer, identity: ServerIdentity) -> str:
    """Why a fixer cannot write ``server``, and what the admin can do about it."""
    what = ", ".join(server.unknown)
    if not identity.collected:
        return (f"{identity.why_unverifiable()}: {what} not known from the server or the inventory; declare "
                f"guid, bound_ip and cml_port for it in the inventory, or fix once it can be collected")
    return f"{server.name}: {what} not known; declare it in the inventory (guid, bound_ip, cml_port)"
