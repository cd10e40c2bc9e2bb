"""Host names and IP addresses as they appear in inventories and product settings.

One home for the address rules the inventory, the cluster model, the checks and the fixers
share: is this text an IP literal, is it a loopback address, which host and port does an
entry such as ``https://mgmt1:8443/x`` or ``[fe80::1]:6010`` name, and on which machine does
a database host setting such as ``tcp:MGMT1\\SQLEXPRESS,1433`` live.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=65536)
def is_ip(text: str) -> bool:
    """An IPv4 or IPv6 literal (surrounding spaces and ``[v6]`` brackets allowed).

    Cached: checks ask about the same few addresses once per spoc.conf entry and node
    (150,000 ``ipaddress`` parses, a third of the check time, at 5,000 nodes)."""
    try:
        ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def is_loopback(ip: str) -> bool:
    """127.0.0.0/8 or ::1 (False for anything that is not an IP literal)."""
    try:
        return ipaddress.ip_address(ip.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def split_host_port(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or ``scheme://host:port/path`` -> (host, port)."""
    e = entry.strip()
    if "://" in e:
        e = e.split("://", 1)[1]
    e = e.split("/", 1)[0]
    if "@" in e:
        e = e.rsplit("@", 1)[1]
    if e.startswith("["):
        host, _, rest = e[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif e.count(":") == 1:
        host, port = e.split(":")
    else:
        host, port = e, ""
    return host, int(port) if port.isdigit() else None


def db_server_host(value: str) -> str:
    """The machine part of a database host setting.

    Accepts ``host``, ``host:port``, ``host,port`` and ``tcp:host\\INSTANCE,port`` (MS SQL
    forms), so ``MGMT1\\SQLEXPRESS`` is recognised as living on MGMT1.
    """
    v = value.strip()
    if v.lower().startswith("tcp:"):
        v = v[4:]
    v = v.split(",", 1)[0].split("\\", 1)[0].strip()
    if v.startswith("[") or v.count(":") == 1:
        v = split_host_port(v)[0]
    return v


__all__ = ["db_server_host", "is_ip", "is_loopback", "split_host_port"]
