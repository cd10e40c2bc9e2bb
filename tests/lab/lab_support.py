"""Helpers shared by the lab tests (a uniquely named module: ``from conftest import`` would
pick whichever conftest a full run imported first)."""

from __future__ import annotations

import threading
from pathlib import Path

import winrm

from auditor.lab.winrm.certs import LabPKI
from auditor.lab.winrm.server import LabWinRMServer

PASSWORD = "Lab-Passw0rd!"  # test-only credential for 127.0.0.1 listeners
USER = "auditor"


def session_for(srv: LabWinRMServer, pki: LabPKI, *, transport: str, password: str = PASSWORD,
                user: str = USER, **kw) -> winrm.Session:
    """A real pywinrm Session: explicit transport, no proxy, small timeouts, lab CA trusted."""
    opts = dict(transport=transport, proxy=None, operation_timeout_sec=2, read_timeout_sec=4)
    if srv.scheme == "https":
        opts.update(server_cert_validation="validate", ca_trust_path=str(pki.ca_file))
    else:
        opts.update(ca_trust_path=None)  # explicit: no REQUESTS_CA_BUNDLE fallback warning
    opts.update(kw)
    return winrm.Session(srv.url, auth=(user, password), **opts)


def session_for_url(url: str, *, transport: str, password: str, user: str = USER,
                    ca_file: Path | None = None, **kw) -> winrm.Session:
    opts = dict(transport=transport, proxy=None, operation_timeout_sec=2, read_timeout_sec=4)
    if url.startswith("https"):
        opts.update(server_cert_validation="validate", ca_trust_path=str(ca_file))
    else:
        opts.update(ca_trust_path=None)
    opts.update(kw)
    return winrm.Session(url, auth=(user, password), **opts)


def lab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lab-winrm-") and t.is_alive()]
