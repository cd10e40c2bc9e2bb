"""Fixtures for the lab WinRM tests: certificates, servers (always stopped), pywinrm sessions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.lab.winrm.certs import LabPKI
from auditor.lab.winrm.server import LabFaults, LabServerSettings, LabWinRMServer
from tests.lab.lab_echo_handler import EchoHandler
from tests.lab.lab_support import PASSWORD, USER, lab_threads, session_for, session_for_url  # noqa: F401


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






@pytest.fixture(autouse=True)
def _no_thread_leak() -> Iterator[None]:
    """Every lab thread a test starts must be gone after teardown (servers stopped)."""
    yield
    deadline = time.monotonic() + 3
    while lab_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not lab_threads(), f"lab threads still alive: {[t.name for t in lab_threads()]}"




@pytest.fixture
def scenario_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "healthy"
