"""Suite-wide fixtures.

* Every lab WinRM server a test module starts is stopped by it: tests/lab checks this after
  every test; here it is checked once per module everywhere else (module-scoped fixtures may
  share one lab between the tests of a module). A module that leaves a listener behind fails
  at its last test, naming the threads.
* ``ntlm_lab`` serves a copy of a scenario folder over the real WinRM lab (NTLM with message
  encryption) and stops it at teardown.
* Kerberos: no test reads the machine's Kerberos configuration or tickets, and
  ``kerberos_realm`` gives tests a real MIT KDC on 127.0.0.1 (see below).
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.lab.kdc import KdcUnavailable, LabKdc


def _lab_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lab-winrm-") and t.is_alive()]


@pytest.fixture(scope="module", autouse=True)
def _every_lab_server_stopped_by_its_module() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 5  # connection threads end once their socket is closed
    while _lab_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _lab_threads(), f"lab servers or connections still running after this module: {_lab_threads()}"


# ---- the WinRM lab ---------------------------------------------------------------------------
LAB_PASSWORD = "Lb-6021-audit-Pw!"  # test-only password for 127.0.0.1 listeners
LAB_PASSWORD_ENV = "PARAGON_LAB_TEST_PW"


@pytest.fixture
def ntlm_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``ntlm_lab(scenario_dir, faults=None)`` -> the inventory of a running lab serving a copy of
    that scenario folder (http, NTLM with message encryption, the password in an environment
    variable); every lab it started is stopped at teardown."""
    import shutil

    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(LAB_PASSWORD_ENV, LAB_PASSWORD)
    started: list[LabCluster] = []

    def make(scenario: Path, faults: dict | None = None) -> Path:
        n = len(started)
        src = tmp_path / f"lab-scenario-{n}"
        shutil.copytree(scenario, src)
        cluster = LabCluster(src, handler_factory=make_handler, scheme="http", auth="ntlm", password=LAB_PASSWORD,
                             workdir=tmp_path / f"lab-{n}", faults=faults)
        started.append(cluster)
        cluster.start()
        return cluster.write_inventory(tmp_path / f"inv-{n}" / "inventory.yaml", password_env=LAB_PASSWORD_ENV)

    yield make
    for cluster in started:
        cluster.stop()


# ---- Kerberos --------------------------------------------------------------------------------
# One throw-away MIT realm per test process (auditor.lab.kdc.LabKdc), shared by every test that
# asks for ``kerberos_realm``. Every test process points Kerberos at a configuration of its own
# from the start, so nothing in the suite can read the machine's /etc/krb5.conf or the user's
# ticket cache, let alone contact a real KDC.

REQUIRE_KERBEROS_ENV = "PARAGON_REQUIRE_KERBEROS"
"""Set (by .ci/run) where the Kerberos tests must run: a missing KDC then fails instead of skipping."""


@pytest.fixture(scope="session", autouse=True)
def _no_kerberos_outside_the_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("no-krb5")
    (home / "krb5.conf").write_text("[libdefaults]\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KRB5_CONFIG", str(home / "krb5.conf"))
        mp.setenv("KRB5CCNAME", f"FILE:{home / 'no-ticket'}")
        mp.delenv("KRB5_KTNAME", raising=False)
        mp.delenv("KRB5_CLIENT_KTNAME", raising=False)
        yield


@dataclass
class KerberosRealm:
    """The session's realm: a running KDC and a ticket-granting ticket for the auditor.

    While the fixture is active the test process's ``KRB5_CONFIG``/``KRB5CCNAME`` point at it,
    so in-process clients (pywinrm) use the ticket; give :meth:`env` to a subprocess.
    """

    kdc: LabKdc
    ccache: Path
    folder: Path

    @property
    def principal(self) -> str:
        return self.kdc.user_principal

    def env(self, ccache: Path | None = None) -> dict[str, str]:
        return self.kdc.client_env(ccache or self.ccache)

    def new_ccache(self, name: str, *, lifetime: str | None = None, ticket: bool = True) -> Path:
        """A ticket cache of its own (``ticket=False``: an empty one, i.e. no ticket)."""
        path = self.folder / f"ccache-{name}"
        path.unlink(missing_ok=True)
        if ticket:
            self.kdc.kinit(path, lifetime=lifetime)
        return path


def kerberos_unavailable(reason: str) -> None:
    """Skip (or, where PARAGON_REQUIRE_KERBEROS is set, fail) a test that needs the lab realm."""
    message = f"Kerberos lab unavailable: {reason}"
    if os.environ.get(REQUIRE_KERBEROS_ENV):
        pytest.fail(message + f" ({REQUIRE_KERBEROS_ENV} is set: these tests must run here)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kerberos_realm(tmp_path_factory: pytest.TempPathFactory, _no_kerberos_outside_the_lab: None
                   ) -> Iterator[KerberosRealm]:
    """Start the realm (KDC on 127.0.0.1, HTTP/localhost + auditor principals, keytabs, a ticket)."""
    for module, package in (("kerberos", "pykerberos"), ("gssapi", "gssapi")):
        try:
            importlib.import_module(module)
        except ImportError:
            kerberos_unavailable(f"the Python package {package} is not installed "
                                 "(pip install -e '.[kerberos]'; needs Debian's libkrb5-dev)")
    folder = tmp_path_factory.mktemp("kerberos")
    kdc = LabKdc(folder / "kdc")
    try:
        kdc.start()
    except KdcUnavailable as exc:
        kdc.stop()
        kerberos_unavailable(str(exc))
    try:
        ccache = folder / "ccache"
        kdc.kinit(ccache)
        with pytest.MonkeyPatch.context() as mp:
            for key, value in kdc.client_env(ccache).items():
                mp.setenv(key, value)
            yield KerberosRealm(kdc=kdc, ccache=ccache, folder=folder)
    finally:
        kdc.stop()
