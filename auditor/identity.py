"""Who each Management server is: GUID, CML port, bound address and known addresses, each
expected value with its source.

Spooler Controllers name Management servers by GUID, address and CML port (spoc.conf) and by
address (``infrastructureServiceAddresses``). To judge those lists the checks need each server's
identity, and on a real cluster it is often not in one place: the GUID has no documented file
(the profile's ``localGUID`` is an assumption), a server may not have been collected (wrong
password, maintenance), the inventory may name it by host name while the lists use addresses.
So every value is the first one known, in this order (:mod:`auditor.expectations`):

* GUID: declared (inventory) -> collected (Management configuration, profile key) -> consensus
  (the GUID most Spooler Controllers list for the server's address);
* CML port: declared -> collected -> consensus -> profile default;
* bound address (the IPv4 interface the services bind to, the installer's ``usedLocalIp``):
  declared -> collected (when it is one of the server's addresses) -> consensus (the one of its
  addresses most Spooler Controllers list, for a server with several).

A server's *addresses* are its own interfaces when it was collected; otherwise its inventory
address, what the inventory host name resolved to on the admin host at collection time, and the
address most Spooler Controllers list for its GUID; plus a declared ``bound_ip``.

Consensus never decides against a declared or collected value, and a check may fail a node only
against what it can trust (:meth:`ServerIdentity.trusted`): anything about a collected server,
only declared values about one that was not collected. Everything else about an uncollected
server is "not verifiable" (status ``error``), never a failure.

Built once per cluster (:meth:`auditor.cluster.Cluster.identities`); nothing here decides what
is wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.addresses import is_ip, is_loopback
from auditor.declared import normalize_guid
from auditor.expectations import ExpectationSource, Expected, first_known

if TYPE_CHECKING:  # pragma: no cover
    from auditor.cluster import Cluster, NodeView
    from auditor.parsers.spocconf import ServerEntry


@dataclass(frozen=True, eq=False)
class ServerIdentity:
    """One Management server as the checks know it (see the module docstring)."""

    node: NodeView
    guid: Expected | None = None
    cml_port: Expected | None = None
    bound_ip: Expected | None = None
    addresses: Mapping[str, str] = field(default_factory=dict)  # IPv4 address -> how it is known

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def collected(self) -> bool:
        return self.node.reachable

    @property
    def guid_key(self) -> str | None:
        return normalize_guid(str(self.guid.value)) if self.guid else None

    def trusted(self, value: Expected | None) -> bool:
        """May a node fail against ``value``? Anything about a collected server; only a declared
        value about a server that was not collected (the rest is a guess about what was not seen)."""
        return value is not None and (self.collected or value.source == ExpectationSource.DECLARED)

    def own_interfaces(self) -> list[str]:
        """The addresses the server reported itself (empty when it was not collected)."""
        return [ip for ip in self.node.state.ipv4_addresses() if not is_loopback(ip)] if self.collected else []

    def why_unverifiable(self) -> str:
        reason = self.node.state.reason or str(self.node.state.status)
        return f"{self.name} was not collected ({reason})"

    def describe(self) -> str:
        """``MGMT2 (GUID g [consensus], 10.0.10.12 [inventory address])``: how it is known."""
        guid = f"GUID {self.guid.value} [{self.guid.source.label}]" if self.guid else "GUID unknown"
        where = ", ".join(f"{a} [{how}]" for a, how in self.addresses.items()) or "address unknown"
        return f"{self.name} ({guid}, {where})"

    def sources(self) -> dict[str, Expected]:
        """The expectations known for this server, keyed for a finding's ``expected_sources``."""
        out = {}
        for label, value in (("GUID", self.guid), ("CML port", self.cml_port), ("bound address", self.bound_ip)):
            if value is not None:
                out[f"{self.name} {label}"] = value
        return out


@dataclass
class Identities:
    """Every Management server's identity, and lookups by GUID and host."""

    servers: list[ServerIdentity]
    cluster: Cluster

    def of(self, name: str) -> ServerIdentity | None:
        return next((s for s in self.servers if s.name.lower() == name.lower()), None)

    def by_guid(self, guid: str) -> list[ServerIdentity]:
        g = normalize_guid(guid)
        return [s for s in self.servers if s.guid_key == g]

    def by_host(self, host: str) -> list[ServerIdentity]:
        """Servers ``host`` (an address or a host name, as written in a node's configuration)
        may name: by any known address, or by a name of the node (inventory name, host name,
        FQDN; a short name only when unambiguous). Local names (``localhost``) name no server.

        Remembered per host while ``servers`` holds the same identities (every Spooler
        Controller lists the same few addresses: 30,000 look-ups at 5,000 nodes)."""
        memo = self.__dict__.setdefault("_hosts_named", {})
        found = memo.get(host)
        current = tuple(map(id, self.servers))  # the objects stay alive in the memo, so ids are not reused
        if found is None or found[0] != current:  # identities replaced while identify() builds them
            found = memo[host] = (current, self._by_host(host), tuple(self.servers))
        return list(found[1])

    def _by_host(self, host: str) -> list[ServerIdentity]:
        h = host.strip().strip("[]").rstrip(".").lower()
        if not h or is_loopback(h) or h in self._local_names():
            return []
        if is_ip(h):
            return [s for s in self.servers if h in s.addresses]
        node = self.cluster.resolve(h, from_node=None)
        return [s for s in self.servers if s.node is node] if node is not None else []

    def could_own(self, what: str) -> list[ServerIdentity]:
        """Servers not collected whose ``what`` (``guid``, ``bound_ip``) is not declared: an entry
        that matches nothing known may still be theirs (listed under another GUID or address than
        the consensus or the inventory address suggests), so it cannot be called stale while such
        a server is not listed otherwise."""
        return [s for s in self.servers if not s.collected and not s.trusted(getattr(s, what))]

    def _local_names(self) -> set[str]:
        return {x.lower() for x in self.cluster.profile.embedded_db.local_hosts}


# ---- building ----------------------------------------------------------------------------------
def _port_text(value: object) -> str:
    return str(value).strip()


def _as_port(text: str) -> int | str:
    t = text.strip()
    return int(t) if t.isdigit() else t


def _base(cluster: Cluster, node: NodeView) -> ServerIdentity:
    """What the inventory and the server itself say (no consensus yet)."""
    decl = cluster.declared
    mv = node.management
    collected_port = mv.collected("cml_port") if mv else None
    if collected_port is not None:
        collected_port = Expected(_as_port(str(collected_port.value)), collected_port.source, collected_port.detail)
    addresses: dict[str, str] = {}
    if node.reachable and node.state.ipv4_addresses():
        for ip in node.ips():
            addresses[ip] = "interface"
    elif node.state.address and is_ip(node.state.address) and not is_loopback(node.state.address):
        addresses[node.state.address] = "inventory address"
    else:
        for ip in node.ips():
            addresses[ip] = f"{node.state.address} resolved on the admin host"
    bound_declared = decl.expected("bound_ip", node.name)
    if bound_declared is not None:
        addresses.setdefault(str(bound_declared.value), "declared bound_ip")
    used = mv.collected("used_ip") if mv else None
    if used is not None and not (is_ip(str(used.value)) and (str(used.value) in addresses or not addresses)):
        used = None  # a usedLocalIp that is not one of the server's addresses binds nothing reachable
    return ServerIdentity(
        node=node,
        guid=first_known(decl.expected("guid", node.name), mv.collected("guid") if mv else None),
        cml_port=first_known(decl.expected("cml_port", node.name), collected_port),
        bound_ip=first_known(bound_declared, used),
        addresses=addresses,
    )


def _entries(cluster: Cluster) -> list[tuple[str, list[ServerEntry]]]:
    """(SPOC node name, its complete spoc.conf entries) of every SPOC whose list was read."""
    out = []
    for n in cluster.nodes:
        if n.reachable and n.spoc is not None and n.spoc.conf.ok:
            out.append((n.name, [e for e in n.spoc.servers if e.complete]))
    return out


def _majority(votes: Iterable[set[str]]) -> tuple[str, int, int] | None:
    """(winner, its votes, voters) when one value is named by more than half of the voters."""
    counts: Counter[str] = Counter()
    voters = 0
    for ballot in votes:
        if ballot:
            voters += 1
            counts.update(ballot)
    if not counts:
        return None
    (top, n), *rest = counts.most_common(2) + [("", 0)]
    if n * 2 <= voters or (rest and rest[0][1] == n):
        return None
    return top, n, voters


def _spelling(entries: Iterable[str], key: str) -> str:
    """The most common spelling of a normalised GUID, as the Spooler Controllers write it."""
    return Counter(g for g in entries if normalize_guid(g) == key).most_common(1)[0][0]


def _consensus(detail: str, value: object, n: int, voters: int) -> Expected:
    return Expected(value, ExpectationSource.CONSENSUS, f"inferred from {n} of {voters} Spooler Controllers{detail}")


def identify(cluster: Cluster) -> Identities:
    """Every Management server's identity (see the module docstring)."""
    ids = Identities([_base(cluster, n) for n in cluster.management_nodes], cluster)
    lists = _entries(cluster)
    known = {s.guid_key: s.name for s in ids.servers if s.guid_key}

    def replace(old: ServerIdentity, **kw) -> ServerIdentity:
        new = ServerIdentity(**{**{f: getattr(old, f) for f in ServerIdentity.__dataclass_fields__}, **kw})
        ids.servers[ids.servers.index(old)] = new
        return new

    # GUID by address: the GUID most Spooler Controllers list for one of the server's addresses
    for s in [s for s in ids.servers if s.guid is None]:
        ballots, spellings = [], []
        for _spoc, entries in lists:
            mine = [e.guid for e in entries if normalize_guid(e.guid) not in known
                    and any(x.name == s.name for x in ids.by_host(e.ip))]
            ballots.append({normalize_guid(g) for g in mine})
            spellings += mine
        won = _majority(ballots)
        if won:
            guid = _spelling(spellings, won[0])
            s = replace(s, guid=_consensus(f" that list {s.name}'s address", guid, won[1], won[2]))
            known[won[0]] = s.name
    # GUID of the one server still unknown: the GUID the lists name that is no other server's
    unknown = [s for s in ids.servers if s.guid is None]
    if len(unknown) == 1:
        s = unknown[0]
        ballots, spellings = [], []
        for _spoc, entries in lists:
            left = [e.guid for e in entries if normalize_guid(e.guid) not in known and not ids.by_host(e.ip)]
            ballots.append({normalize_guid(g) for g in left})
            spellings += left
        won = _majority(ballots)
        if won:
            guid = _spelling(spellings, won[0])
            replace(s, guid=_consensus(" that list a server none of the others is", guid, won[1], won[2]))
    # addresses, bound address and port from the entries that carry the server's GUID
    for s in list(ids.servers):
        if s.guid_key is None:
            continue
        listed = [(spoc, [e for e in entries if normalize_guid(e.guid) == s.guid_key]) for spoc, entries in lists]
        kw: dict[str, object] = {}
        if not s.addresses:
            won = _majority({e.ip.strip() for e in mine if is_ip(e.ip.strip())} for _spoc, mine in listed)
            if won:
                kw["addresses"] = {won[0]: "consensus of the Spooler Controllers"}
                kw["bound_ip"] = s.bound_ip or _consensus(f" that list {s.name}'s GUID", won[0], won[1], won[2])
        own = s.own_interfaces()
        if s.bound_ip is None and len(own) > 1:
            won = _majority({e.ip.strip() for e in mine if e.ip.strip() in own} for _spoc, mine in listed)
            if won:
                kw["bound_ip"] = _consensus(f" that list {s.name}", won[0], won[1], won[2])
        if s.cml_port is None:
            won = _majority({_port_text(e.port) for e in mine} for _spoc, mine in listed)
            if won:
                kw["cml_port"] = _consensus(f" that list {s.name}", _as_port(won[0]), won[1], won[2])
        if kw:
            replace(s, **kw)
    default_port = cluster.profile.spoc_conf.default_port
    certainty = cluster.profile.certainty("spoc_conf.default_port") or "certainty not stated"
    for s in list(ids.servers):
        if s.cml_port is None:
            replace(s, cml_port=Expected(default_port, ExpectationSource.PROFILE_DEFAULT,
                                         f"spoc_conf.default_port ({certainty})"))
    return ids


__all__ = ["Identities", "ServerIdentity", "identify"]
