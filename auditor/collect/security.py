"""What a collection refuses before any node is contacted: insecure settings the command
line did not consent to, and transports whose optional package is missing.

Both run before anyone is prompted for a password, for every command that collects (audit,
collect, fix, discover), through :func:`auditor.collect.runner.collect_cluster`.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.collect.inventory import Inventory
from auditor.errors import InputError


@dataclass(frozen=True)
class SecurityOptions:
    """Command-line consent for the two insecure settings an inventory may ask for."""

    allow_basic_http: bool = False
    insecure_skip_verify: bool = False



def check_security(inventory: Inventory, security: SecurityOptions) -> list[str]:
    """Refuse insecure settings the command line did not consent to; return warnings to show.

    Basic over plain HTTP sends the password base64-encoded in clear text on every request;
    ``verify: false`` lets anyone on the path impersonate the node and read the NTLM/Basic
    exchange. Both are sometimes needed in a lab, never silently.
    """
    src = str(inventory.path) if inventory.path else "inventory"
    risks = (
        ([n for n in inventory.nodes if n.transport == "basic" and n.scheme == "http"], security.allow_basic_http,
         "transport basic over plain http sends the password in clear text (nodes {names}); "
         "use https or ntlm/kerberos, or pass --allow-basic-http to accept the risk",
         "warning: --allow-basic-http: the password goes in clear text to {names}"),
        ([n for n in inventory.nodes if n.scheme == "https" and not n.verify], security.insecure_skip_verify,
         "verify: false disables certificate validation (nodes {names}); give ca_file with the "
         "CA that signed the WinRM certificates, or pass --insecure-skip-verify to accept the risk",
         "warning: --insecure-skip-verify: server certificates are not checked for {names}"),
    )
    warnings: list[str] = []
    for nodes, consented, refusal, warning in risks:
        if not nodes:
            continue
        names = ", ".join(n.name for n in nodes[:5]) + (" ..." if len(nodes) > 5 else "")
        if not consented:
            raise InputError(refusal.format(names=names), source=src, line=nodes[0].line)
        warnings.append(warning.format(names=names))
    return warnings


_TRANSPORT_PACKAGES = {"kerberos": ("HAVE_KERBEROS", "pywinrm[kerberos]"),
                       "credssp": ("HAVE_CREDSSP", "pywinrm[credssp]"),
                       "ntlm": ("HAVE_NTLM", "requests-ntlm")}


def check_transports(inventory: Inventory) -> None:
    """Fail before collecting when a transport's optional package is missing.

    Otherwise every node using it would fail one by one with the same message.
    """
    from winrm import transport as wt

    for transport, (flag, package) in _TRANSPORT_PACKAGES.items():
        users = [n for n in inventory.nodes if n.transport == transport]
        if users and not getattr(wt, flag, True):
            src = str(inventory.path) if inventory.path else "inventory"
            raise InputError(f"transport {transport} needs an extra package: pip install '{package}' "
                             f"(used by {', '.join(n.name for n in users[:5])})", source=src, line=users[0].line)
