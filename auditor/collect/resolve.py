"""Resolve an inventory host name on the admin host, once, at collection time.

Why: a Spooler Controller lists Management servers by IP address, while an inventory often
names them by host name. When a Management server cannot be collected (wrong password,
maintenance), its own interface list is unknown, and the only way to recognise its entries in
other nodes' configuration is the address its name resolves to from here. The lookup happens in
the collect layer and is recorded with the node (``NodeState.resolved_addresses``, the snapshot
manifest's ``resolved``), so the checks stay pure functions of the collected data and an offline
audit of the snapshot sees exactly what the live audit saw.
"""

from __future__ import annotations

import socket

from auditor.addresses import is_ip, is_loopback


def resolve_ipv4(host: str) -> list[str]:
    """The IPv4 addresses ``host`` resolves to on this machine, sorted; ``[]`` for an IP literal,
    a name that does not resolve, or one that resolves only to loopback (the lab's
    ``localhost``: how this host reaches the node, not an address other nodes use)."""
    name = host.strip()
    if not name or is_ip(name):
        return []
    try:
        infos = socket.getaddrinfo(name, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # gaierror, an IDNA error for a label that is not a host name
        return []
    return sorted({str(info[4][0]) for info in infos if not is_loopback(str(info[4][0]))})


__all__ = ["resolve_ipv4"]
