"""Helpers for the Kerberos tests (a uniquely named module, see tests/lab/lab_support.py)."""

from __future__ import annotations

from pathlib import Path

import winrm

from auditor.lab.winrm.certs import LabPKI
from auditor.lab.winrm.handler import CommandHandler
from auditor.lab.winrm.server import LabServerSettings, LabWinRMServer

USER = "auditor"  # the realm's user principal is auditor@LAB.TEST
SPN_HOST = "localhost"  # the lab realm's service principal is HTTP/localhost


def kerberos_server(keytab: Path, handler: CommandHandler, *, auth: str = "kerberos", pki: LabPKI | None = None,
                    accounts: dict[str, str] | None = None, allow_unencrypted: bool = False) -> LabWinRMServer:
    """A started lab listener accepting Kerberos with ``keytab`` (HTTPS when ``pki`` is given)."""
    settings = LabServerSettings(accounts=accounts or {USER: "unused-for-kerberos"}, auth=auth, keytab=keytab,
                                 certificate=pki.leaf if pki else None, allow_unencrypted=allow_unencrypted,
                                 name="KRB")
    return LabWinRMServer(settings, handler).start()


def kerberos_session(srv: LabWinRMServer, pki: LabPKI | None = None, **kw) -> winrm.Session:
    """pywinrm with transport kerberos and the ticket in $KRB5CCNAME: no user name, no password."""
    opts = dict(transport="kerberos", proxy=None, operation_timeout_sec=2, read_timeout_sec=4,
                kerberos_hostname_override=SPN_HOST)
    if srv.scheme == "https":
        assert pki is not None
        opts.update(server_cert_validation="validate", ca_trust_path=str(pki.ca_file))
    else:
        opts.update(ca_trust_path=None)
    opts.update(kw)
    return winrm.Session(srv.url, auth=("", ""), **opts)
