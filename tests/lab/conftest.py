"""Fixtures for the lab WinRM tests: certificates, servers (always stopped), pywinrm sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import winrm
from lab_echo_handler import EchoHandler

from auditor.lab.winrm.certs import LabPKI
from auditor.lab.winrm.server import LabFaults, LabServerSettings, LabWinRMServer

PASSWORD = "Lab-Passw0rd!"  # test-only credential for 127.0.0.1 listeners
USER = "auditor"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPKI:
    return LabPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def lab_server(pki: LabPKI) -> Iterator[Callable[..., LabWinRMServer]]:
    """Factory: ``lab_server(auth="ntlm", tls=False, faults=LabFaults(...))`` -> running server."""
    started: list[LabWinRMServer] = []

    def make(auth: str = "ntlm", tls: bool = False, faults: LabFaults | None = None,
             allow_unencrypted: bool | None = None, handler: EchoHandler | None = None,
             accounts: dict[str, str] | None = None, untrusted: bool = False) -> LabWinRMServer:
        if allow_unencrypted is None:
            allow_unencrypted = auth == "basic" and not tls
        cert = (pki.untrusted_leaf() if untrusted else pki.leaf) if tls else None
        settings = LabServerSettings(accounts=accounts or {USER: PASSWORD}, auth=auth, certificate=cert,
                                     allow_unencrypted=allow_unencrypted, faults=faults or LabFaults(),
                                     name="TEST")
        srv = LabWinRMServer(settings, handler or EchoHandler()).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


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


@pytest.fixture(autouse=True)
def _no_thread_leak() -> Iterator[None]:
    """Every lab thread a test starts must be gone after teardown (servers stopped)."""
    yield
    deadline = time.monotonic() + 3
    while lab_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not lab_threads(), f"lab threads still alive: {[t.name for t in lab_threads()]}"


def lab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lab-winrm-") and t.is_alive()]


@pytest.fixture
def scenario_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "healthy"
