"""A throw-away MIT Kerberos realm on 127.0.0.1: the lab's domain controller for Kerberos.

``LabKdc`` creates a realm in a folder of its own (database, stash, ``kdc.conf``, a client
``krb5.conf``), registers a service principal ``HTTP/<host>`` for the lab's WinRM listeners
and a user principal for the auditor, writes both keytabs, and runs ``krb5kdc`` in the
foreground on a free loopback port until :meth:`LabKdc.stop`. Nothing outside that folder is
read or written: the client side is pointed at it with ``KRB5_CONFIG``/``KRB5CCNAME``
(:meth:`LabKdc.client_env`), and the lab's acceptor reads the service keytab by path.

Why MIT's own KDC instead of a fake: the auditor's Kerberos client (pywinrm -> pykerberos ->
libgssapi_krb5) must do exactly what it does against a domain controller: an AS exchange for
the ticket-granting ticket (``kinit``), a TGS exchange per service principal, AP-REQ/AP-REP
with the node, then GSS wrap/unwrap for WinRM message encryption. Every failure an admin meets
(no ticket, expired ticket, unknown SPN, clock skew, KDC unreachable) then comes from the real
library with its real wording.

A second KDC process can serve the same realm with its clock moved (``libfaketime``), which is
how the clock-skew error is produced without touching the machine's clock
(:meth:`LabKdc.skewed`). The packages are Debian's ``krb5-kdc``, ``krb5-admin-server``,
``krb5-user`` and ``faketime`` (``scripts/ensure-kerberos`` installs them).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
DEFAULT_REALM = "LAB.TEST"
DEFAULT_USER = "auditor"
DEFAULT_SERVICE_HOSTS = ("localhost",)
SERVICE = "HTTP"  # WinRM clients ask for HTTP/<host> (pywinrm's default service)
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_START_TIMEOUT = 10.0


class KdcUnavailable(RuntimeError):
    """MIT Kerberos is not installed or the KDC did not start; the message says which and why."""


@dataclass(frozen=True)
class KdcTools:
    """Paths of the MIT Kerberos programs the lab realm needs."""

    krb5kdc: str
    kdb5_util: str
    kadmin_local: str
    kinit: str
    libfaketime: str | None  # preloaded into a KDC whose clock is off (clock-skew tests)

    @classmethod
    def find(cls) -> KdcTools:
        """Locate the programs, or raise :class:`KdcUnavailable` naming the missing Debian package."""
        wanted = {"krb5kdc": "krb5-kdc", "kdb5_util": "krb5-kdc", "kadmin.local": "krb5-admin-server",
                  "kinit": "krb5-user"}
        found: dict[str, str] = {}
        missing: list[str] = []
        path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
        for program, package in wanted.items():
            where = shutil.which(program, path=path)
            if where is None:
                missing.append(f"{program} ({package})")
            else:
                found[program] = where
        if missing:
            raise KdcUnavailable("MIT Kerberos is not installed: missing " + ", ".join(missing)
                                 + "; scripts/ensure-kerberos installs it (root, apt-get)")
        preload = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
        return cls(krb5kdc=found["krb5kdc"], kdb5_util=found["kdb5_util"], kadmin_local=found["kadmin.local"],
                   kinit=found["kinit"], libfaketime=preload[0] if preload else None)


def _prctl() -> Any:
    """libc's prctl, looked up in the parent (the child between fork and exec only calls it)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _die_with_parent() -> None:
    """In the KDC child before exec: stop when the process that started it dies (Linux
    PR_SET_PDEATHSIG), so a killed test run or lab never leaves a KDC behind."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 right now (the KDC listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
            return port
    raise KdcUnavailable("no free loopback port for the KDC")


def krb5_conf_text(realm: str, kdc_port: int, service_hosts: tuple[str, ...] = DEFAULT_SERVICE_HOSTS) -> str:
    """A client ``krb5.conf`` for the lab realm: no DNS, TCP only, no clock correction.

    ``dns_canonicalize_hostname``/``rdns`` off: the service principal is built from the name the
    client was given (``HTTP/localhost``), as on a well-configured admin host; ``kdc_timesync``
    off: a KDC whose clock is wrong is reported instead of silently compensated.
    """
    mapping = "\n".join(f"  {h} = {realm}" for h in service_hosts)
    return (
        "[libdefaults]\n"
        f"  default_realm = {realm}\n"
        "  dns_lookup_kdc = false\n"
        "  dns_lookup_realm = false\n"
        "  dns_canonicalize_hostname = false\n"
        "  rdns = false\n"
        "  udp_preference_limit = 1\n"
        "  kdc_timesync = 0\n"
        "  forwardable = false\n"
        "[realms]\n"
        f"  {realm} = {{\n"
        f"    kdc = {HOST}:{kdc_port}\n"
        "  }\n"
        "[domain_realm]\n"
        f"{mapping}\n"
    )


class LabKdc:
    """One MIT KDC for a throw-away realm. ``start()``/``stop()`` or use as a context manager.

    >>> with LabKdc() as kdc:
    ...     kdc.kinit(ccache)                      # a ticket for auditor@LAB.TEST
    ...     env = kdc.client_env(ccache)           # KRB5_CONFIG, KRB5CCNAME for the auditor
    ...     LabServerSettings(..., keytab=kdc.service_keytab)
    """

    def __init__(self, workdir: Path | str | None = None, *, realm: str = DEFAULT_REALM, user: str = DEFAULT_USER,
                 service_hosts: tuple[str, ...] = DEFAULT_SERVICE_HOSTS, tools: KdcTools | None = None):
        self.realm = realm
        self.user = user
        self.service_hosts = tuple(service_hosts)
        self._tools = tools
        self._own_workdir = workdir is None
        self._workdir = Path(workdir) if workdir is not None else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._database: Path | None = None  # set: this KDC serves another one's database
        self._clock_offset: str | None = None
        self._children: list[LabKdc] = []

    # -- where things are -------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="paragon-lab-kdc-"))
        return self._workdir

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("KDC not started")
        return self._port

    @property
    def krb5_conf(self) -> Path:
        """The client configuration naming this KDC (``KRB5_CONFIG``)."""
        return self.workdir / "krb5.conf"

    @property
    def service_keytab(self) -> Path:
        """Keys of ``HTTP/<host>`` for every service host: what a WinRM node's acceptor reads."""
        return (self._database.parent if self._database else self.workdir) / "http.keytab"

    @property
    def user_keytab(self) -> Path:
        """The auditor's key, so a ticket is had with ``kinit -k`` (no password anywhere)."""
        return (self._database.parent if self._database else self.workdir) / "user.keytab"

    @property
    def user_principal(self) -> str:
        return f"{self.user}@{self.realm}"

    def service_principal(self, host: str) -> str:
        return f"{SERVICE}/{host}@{self.realm}"

    @property
    def tools(self) -> KdcTools:
        if self._tools is None:
            self._tools = KdcTools.find()
        return self._tools

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _env(self) -> dict[str, str]:
        base = self._database.parent if self._database else self.workdir
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "LC_ALL": "C",
                "KRB5_CONFIG": str(self.krb5_conf), "KRB5_KDC_PROFILE": str(self.workdir / "kdc.conf"),
                "KRB5CCNAME": f"FILE:{base / 'admin-ccache'}"}

    def client_env(self, ccache: Path | str) -> dict[str, str]:
        """Variables that point a Kerberos client at this realm and at ``ccache`` (no password)."""
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5CCNAME": f"FILE:{ccache}"}

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> LabKdc:
        """Create the realm (first start only) and run ``krb5kdc``; KdcUnavailable on failure."""
        if self.running:
            return self
        tools = self.tools
        if self._clock_offset and not tools.libfaketime:
            raise KdcUnavailable("libfaketime is not installed (Debian: faketime); it moves the test KDC's clock")
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        last = ""
        for _attempt in range(3):  # a port taken between choosing and binding: choose again
            self._port = _free_port()
            self._write_configs()
            if self._database is None and not (self.workdir / "principal").exists():
                self._create_realm()
            try:
                self._run_kdc()
                return self
            except KdcUnavailable as exc:
                last = str(exc)
        raise KdcUnavailable(last)

    def _write_configs(self) -> None:
        db = self._database or self.workdir / "principal"
        log = self.workdir / "kdc.log"
        (self.workdir / "kdc.conf").write_text(
            "[kdcdefaults]\n"
            f"  kdc_listen = {HOST}:{self.port}\n"
            f"  kdc_tcp_listen = {HOST}:{self.port}\n"
            "[realms]\n"
            f"  {self.realm} = {{\n"
            f"    database_name = {db}\n"
            f"    key_stash_file = {db.parent / 'stash'}\n"
            f"    acl_file = {db.parent / 'kadm5.acl'}\n"
            "    max_life = 10h\n"
            "    max_renewable_life = 0\n"
            "    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n"
            "  }\n"
            "[logging]\n"
            f"  kdc = FILE:{log}\n", encoding="utf-8")
        self.krb5_conf.write_text(krb5_conf_text(self.realm, self.port, self.service_hosts), encoding="utf-8")

    def _run(self, argv: list[str], stdin: str | None = None) -> None:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=self._env(), timeout=60,
                              cwd=self.workdir)
        if proc.returncode != 0:
            text = " ".join((proc.stderr or proc.stdout).split())[:300]
            raise KdcUnavailable(f"{Path(argv[0]).name} failed (exit {proc.returncode}): {text}")

    def _create_realm(self) -> None:
        tools = self.tools
        (self.workdir / "kadm5.acl").write_text("", encoding="utf-8")
        # -W: the weak random source, so creating a realm never blocks on entropy in a VM
        self._run([tools.kdb5_util, "create", "-s", "-W", "-r", self.realm, "-P", secrets.token_urlsafe(24)])
        commands = [f"addprinc -randkey {self.user}"]
        for host in self.service_hosts:
            commands.append(f"addprinc -randkey {SERVICE}/{host}")
        commands.append(f"ktadd -k {self.service_keytab} " + " ".join(f"{SERVICE}/{h}" for h in self.service_hosts))
        commands.append(f"ktadd -k {self.user_keytab} {self.user}")
        self._run([tools.kadmin_local, "-r", self.realm], stdin="\n".join(commands) + "\n")

    def add_service_principal(self, host: str, keytab: Path | None = None) -> Path:
        """Register ``HTTP/host`` (a node the auditor may name) and write its key to ``keytab``.

        Without ``keytab`` the key goes to a keytab of its own (``http-<host>.keytab``), so the
        lab's listeners do not hold it: a ticket for that name is then one the node cannot read,
        which is what an SPN registered to another machine looks like.
        """
        if self._database is not None:
            raise RuntimeError("add principals through the KDC that owns the database")
        target = keytab or self.workdir / f"http-{host}.keytab"
        self._run([self.tools.kadmin_local, "-r", self.realm],
                  stdin=f"addprinc -randkey {SERVICE}/{host}\nktadd -k {target} {SERVICE}/{host}\n")
        return target

    def _run_kdc(self) -> None:
        tools = self.tools
        argv = [tools.krb5kdc, "-n", "-r", self.realm]
        env = self._env()
        if self._clock_offset:
            assert tools.libfaketime is not None
            # preloaded into krb5kdc itself (the faketime wrapper would fork, and stopping the
            # wrapper would leave the KDC running)
            env.update(LD_PRELOAD=tools.libfaketime, FAKETIME=self._clock_offset, FAKETIME_NO_CACHE="1")
        log = open(self.workdir / "kdc.out", "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self._proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          cwd=self.workdir, preexec_fn=_die_with_parent)
        finally:
            log.close()
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        tail = ""
        with contextlib.suppress(OSError):
            tail = " ".join((self.workdir / "kdc.out").read_text(errors="replace").split())[-300:]
        self._terminate()
        raise KdcUnavailable(f"krb5kdc did not start on {HOST}:{self.port}" + (f": {tail}" if tail else ""))

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        """Stop this KDC (and any :meth:`skewed` copy); remove the folder if this object made it."""
        for child in self._children:
            child.stop()
        self._children.clear()
        self._terminate()
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> LabKdc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- tickets and faults -----------------------------------------------------------------
    def kinit(self, ccache: Path | str, *, lifetime: str | None = None) -> None:
        """Get the auditor's ticket-granting ticket into ``ccache`` from the user keytab.

        ``lifetime`` is kinit's ``-l`` (``"2s"`` gives a ticket that expires at once).
        """
        argv = [self.tools.kinit, "-k", "-t", str(self.user_keytab), "-c", f"FILE:{ccache}"]
        if lifetime:
            argv += ["-l", lifetime]
        self._run([*argv, self.user_principal])

    def skewed(self, offset: str) -> LabKdc:
        """A second KDC for the same realm whose clock is ``offset`` off (faketime, e.g. ``"+1h"``).

        It has its own port and ``krb5.conf``; point a client at that ``krb5.conf`` with a
        ticket from this KDC and its next ticket request fails with a clock-skew error.
        Stopped with this KDC.
        """
        if self._database is not None:
            raise RuntimeError("skew the KDC that owns the database")
        twin = LabKdc(self.workdir / f"skewed{len(self._children)}", realm=self.realm, user=self.user,
                      service_hosts=self.service_hosts, tools=self.tools)
        twin._database = self.workdir / "principal"
        twin._clock_offset = offset
        twin._own_workdir = False
        self._children.append(twin)
        return twin.start()
