"""How to reach an inventory node: the one place a :class:`~auditor.remote.client.Target` is
made from a :class:`~auditor.collect.inventory.NodeTarget` and its resolved credentials, for
the collection runner and for the fix engine's requests and re-collections alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from auditor.collect.credentials import Credentials
    from auditor.collect.inventory import NodeTarget
    from auditor.remote.client import Target


def remote_target(node: NodeTarget, creds: Credentials, *, connect_timeout: float, read_timeout: float,
                  operation_timeout: int, deadline: float | None = None) -> Target:
    """The WinRM target of ``node`` with these timeouts (``deadline``: the client's default
    when None). The password travels in the Target only, masked in every message."""
    from auditor.remote.client import Target

    target = Target(
        name=node.name, host=node.address, port=node.port, scheme=node.scheme, transport=node.transport,
        username=creds.username, password=creds.password.reveal() if creds.password is not None else None,
        ca_file=str(node.ca_file) if node.ca_file else None, verify=node.verify,
        connect_timeout=connect_timeout, read_timeout=read_timeout, operation_timeout=operation_timeout,
        max_output_bytes=node.max_output_bytes, kerberos_hostname_override=node.kerberos_hostname_override,
    )
    if deadline is not None:
        target.deadline = deadline
    return target
