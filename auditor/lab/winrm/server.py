"""The lab WinRM endpoint: a threaded HTTP(S) server speaking WS-Management on 127.0.0.1.

One server simulates one Windows node's WinRM listener. Design points from docs/winrm.md:
HTTP/1.1 keep-alive with one NTLM or Kerberos acceptor per TCP connection, ``TCP_NODELAY`` and one write
per response (else ~40 ms per reply), ``Content-Length`` on every response including 401s,
the body of a rejected request always read, NTLM and Kerberos sealing over HTTP (plaintext
NTLM/Kerberos over HTTP refused with 400 unless ``allow_unencrypted``), TLS handshakes in the
connection threads, strict channel binding over HTTPS (NTLM and Kerberos), mutual
authentication for Kerberos (the AP-REP in the reply's ``WWW-Authenticate``), and counters so
tests can assert encryption really happened (pywinrm silently accepts a plaintext reply) and
which mechanism each Authorization header carried.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from auditor.lab.winrm.auth import (
    KERBEROS_ENCRYPTED_PROTOCOL,
    AuthFailed,
    Mechanism,
    NegotiateConnection,
    account_matches,
    check_basic,
    encrypted_content_type,
    encryption_protocol,
    token_mechanism,
)
from auditor.lab.winrm.certs import ServerCertificate
from auditor.lab.winrm.handler import CommandHandler
from auditor.lab.winrm.ntlm_users import ntlm_user_file, register_ntlm_user
from auditor.lab.winrm.wsman import WSManService

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


@dataclass
class LabFaults:
    """Protocol-level fault injection for one lab server (see docs/lab.md).

    Node-level faults (garbage output, wrong hostname, ...) are the executor's business and
    travel in the node's ``lab`` dict instead.
    """

    refuse: bool = False  # the cluster runner does not start the node (closed port)
    wrong_password: bool = False  # the node rejects the cluster's credentials (401)
    delay_seconds: float = 0.0  # sleep before answering every HTTP request
    timeout_faults: int = 0  # WSMan TimedOut faults on Receive before each command's output
    drop_mid_receive: bool = False  # close the connection, no reply, on the first Receive with output
    untrusted_cert: bool = False  # HTTPS leaf issued by a CA the clients are not given
    chunk_bytes: int | None = None  # max raw output bytes per Receive reply
    exec_seconds: float = 0.0  # how long each command runs before its output is ready (PowerShell start + work)

    @classmethod
    def split(cls, data: dict[str, Any] | None) -> tuple[LabFaults, dict[str, Any]]:
        """(server faults, the remaining keys): the rest are executor-level faults."""
        data = dict(data or {})
        mine = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        rest = {k: v for k, v in data.items() if k not in cls.__dataclass_fields__}
        return cls.from_dict(mine), rest

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LabFaults:
        """Build from a ``lab.faults`` dict; unknown keys are an error (typos matter)."""
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault kind(s): {', '.join(sorted(unknown))}")
        f = cls()
        for key, value in data.items():
            if key in ("refuse", "wrong_password", "drop_mid_receive", "untrusted_cert"):
                setattr(f, key, _as_bool(value))
            elif key in ("delay_seconds", "exec_seconds"):
                setattr(f, key, float(value))
            elif key == "timeout_faults":
                f.timeout_faults = int(value)
            elif key == "chunk_bytes":
                f.chunk_bytes = int(value) if value not in (None, "", 0) else None
        if f.delay_seconds < 0 or f.exec_seconds < 0 or f.timeout_faults < 0 or (f.chunk_bytes is not None and f.chunk_bytes < 1):
            raise ValueError("fault values must not be negative (chunk_bytes >= 1)")
        return f


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", ""):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


AUTH_MODES: dict[str, frozenset[Mechanism]] = {
    "ntlm": frozenset({Mechanism.NTLM}),  # Negotiate with NTLM
    "kerberos": frozenset({Mechanism.KERBEROS}),  # Negotiate (and Kerberos) with Kerberos only
    "negotiate": frozenset({Mechanism.NTLM, Mechanism.KERBEROS}),  # Negotiate: NTLM or Kerberos
    "basic": frozenset({Mechanism.BASIC}),
    "both": frozenset({Mechanism.NTLM, Mechanism.BASIC}),  # + Kerberos when a keytab is given
}
"""The ``auth`` settings of a lab listener and the mechanisms each accepts."""


@dataclass
class LabServerSettings:
    """How one lab listener is configured (like a WinRM service's config)."""

    accounts: dict[str, str]  # account name (``user`` or ``DOMAIN\\user``) -> password
    auth: str = "ntlm"  # one of AUTH_MODES
    keytab: Path | None = None  # service keys (HTTP/<host>) for Kerberos; see auditor.lab.kdc
    certificate: ServerCertificate | None = None  # set = HTTPS
    allow_unencrypted: bool = False  # AllowUnencrypted: Basic / plaintext NTLM over HTTP
    cbt: str = "strict"  # "strict" | "none" (HTTPS channel binding hardening)
    faults: LabFaults = field(default_factory=LabFaults)
    idle_timeout: float = 60.0  # seconds a keep-alive connection may sit idle
    name: str = ""  # node name, for logs

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.cbt not in ("strict", "none"):
            raise ValueError("cbt must be strict or none")
        if self.auth in ("kerberos", "negotiate") and self.keytab is None:
            raise ValueError(f"auth {self.auth} needs the service keytab (keytab=...)")

    @property
    def mechanisms(self) -> frozenset[Mechanism]:
        """What this listener accepts; ``both`` adds Kerberos when it has a keytab."""
        offered = set(AUTH_MODES[self.auth])
        if self.auth == "both" and self.keytab is not None:
            offered.add(Mechanism.KERBEROS)
        return frozenset(offered)


@dataclass
class CounterSnapshot:
    requests: int
    status: dict[int, int]
    actions: dict[str, int]
    encrypted_requests: int
    encrypted_replies: int
    shells_open: int
    commands_run: int
    auth_failures: int
    dropped: int
    auth_tokens: dict[str, int]  # Authorization headers seen, by mechanism (basic, ntlm, kerberos)
    encrypted_by: dict[str, int]  # encrypted requests by mechanism (ntlm, kerberos)


class _Handler(BaseHTTPRequestHandler):
    """One instance per TCP connection (so NTLM/Kerberos state lives here)."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    disable_nagle_algorithm = True  # TCP_NODELAY (docs/winrm.md pitfall 2)
    wbufsize = 256 * 1024  # headers + body leave in one write, flushed per request
    server: _HTTPServer

    def setup(self) -> None:
        lab = self.server.lab
        self.timeout = lab.settings.idle_timeout
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # in this thread, not in accept(); errors ignored quietly
        super().setup()
        self.gss = NegotiateConnection(lab.channel_bindings, lab.settings.mechanisms, lab.settings.keytab)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.server.lab.settings.name, format % args)

    # -- plumbing ---------------------------------------------------------------------------
    def _reply(self, status: int, body: bytes = b"", content_type: str | None = None,
               headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for k, v in headers or []:
            self.send_header(k, v)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.server.lab._count_status(status)

    def _unauthorized(self, failed: bool = True, token: bytes | None = None) -> None:
        """401 with the schemes this listener offers; ``failed`` = credentials were tried.

        ``token``: a Kerberos error token (KRB-ERROR) for the client, sent as Windows does.
        """
        mechs = self.server.lab.settings.mechanisms
        hdrs = []
        if mechs & {Mechanism.NTLM, Mechanism.KERBEROS}:
            value = "Negotiate " + base64.b64encode(token).decode() if token else "Negotiate"
            hdrs.append(("WWW-Authenticate", value))
        if Mechanism.KERBEROS in mechs:
            hdrs.append(("WWW-Authenticate", "Kerberos"))
        if Mechanism.BASIC in mechs:
            hdrs.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        if failed:
            self.server.lab._count("auth_failures")
        self._reply(401, headers=hdrs)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.server.lab._count("requests")
        self._reply(405, headers=[("Allow", "POST")])

    do_PUT = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        lab = self.server.lab
        lab._count("requests")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._reply(411)
            return
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._reply(413)
            return
        body = self.rfile.read(length) if length else b""
        if lab.settings.faults.delay_seconds and lab._stopping.wait(lab.settings.faults.delay_seconds):
            self.close_connection = True
            return
        if self.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            self._reply(404)
            return
        settings = lab.settings
        mechs = settings.mechanisms
        tls = settings.certificate is not None
        authz = self.headers.get("Authorization", "")
        scheme = authz.split(None, 1)[0].lower() if authz else ""
        user: str | None = None
        reply_headers: list[tuple[str, str]] = []  # the Kerberos AP-REP (mutual authentication)

        if scheme:
            token = authz.split(None, 1)[1] if " " in authz else ""
            lab._count_auth(Mechanism.BASIC if scheme == "basic" else _sniff(token, kerberos_scheme=scheme == "kerberos"))
        if scheme == "basic":
            if Mechanism.BASIC not in mechs:
                self._unauthorized()
                return
            if not tls and not settings.allow_unencrypted:
                self._unauthorized()  # AllowUnencrypted=false: Basic over HTTP is refused
                return
            try:
                user = check_basic(settings.accounts, authz)
            except AuthFailed:
                self._unauthorized()
                return
        elif scheme in ("negotiate", "ntlm", "kerberos") and mechs & {Mechanism.NTLM, Mechanism.KERBEROS}:
            try:
                out, done = self.gss.step(token, kerberos_scheme=scheme == "kerberos")
            except AuthFailed as exc:
                log.debug("%s: %s", settings.name, exc)
                self._unauthorized(token=exc.token)
                return
            reply_scheme = "Kerberos" if scheme == "kerberos" else "Negotiate"
            if not done:
                self._reply(401, headers=[("WWW-Authenticate", f"{reply_scheme} " + base64.b64encode(out or b"").decode())])
                return
            principal = self.gss.principal or ""
            if account_matches(settings.accounts, principal) is None:
                self.gss.reset()  # authenticated, but this node does not know that account
                self._unauthorized()
                return
            if out:
                reply_headers.append(("WWW-Authenticate", f"{reply_scheme} " + base64.b64encode(out).decode()))
            if not body:
                self._reply(200, headers=reply_headers)  # the empty POST that sets up message encryption
                return
            user = principal
        elif scheme:
            self._unauthorized()
            return
        elif self.gss.complete:
            user = self.gss.principal
        else:
            self._unauthorized(failed=False)  # the usual first round trip: offer the schemes
            return

        protocol = encryption_protocol(self.headers.get("Content-Type", ""))
        if protocol is not None:
            if not self.gss.complete or scheme == "basic" or (
                    protocol == KERBEROS_ENCRYPTED_PROTOCOL and self.gss.mechanism is not Mechanism.KERBEROS):
                self._reply(400)
                return
            try:
                data = self.gss.decrypt(body, protocol)
            except Exception as exc:  # bad framing or signature: the context is now unusable
                log.debug("%s: decrypt failed: %s", settings.name, exc)
                self.close_connection = True
                self._reply(400)
                return
            lab._count("encrypted_requests")
            lab._count_encrypted(self.gss.mechanism)
        else:
            if self.gss.complete and scheme != "basic" and not tls and not settings.allow_unencrypted:
                self._reply(400)  # plaintext NTLM/Kerberos over HTTP is refused (docs/winrm.md, authentication)
                return
            data = body

        reply = lab.service.handle(data, user or "")
        lab._count_action(reply.action)
        if reply.drop:
            lab._count("dropped")
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.request.shutdown(socket.SHUT_RDWR)
            return
        if protocol is not None:
            lab._count("encrypted_replies")
            self._reply(reply.status, self.gss.encrypt(reply.body, protocol), encrypted_content_type(protocol),
                        headers=reply_headers)
        else:
            self._reply(reply.status, reply.body, SOAP_CONTENT_TYPE, headers=reply_headers)


def _sniff(token_b64: str, *, kerberos_scheme: bool) -> Mechanism | None:
    """The mechanism an Authorization token carries (for the counters), None when unreadable."""
    if kerberos_scheme:
        return Mechanism.KERBEROS
    try:
        token = base64.b64decode(token_b64, validate=True)
    except (ValueError, TypeError):
        return None
    return token_mechanism(token) if token else None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() joins with a bounded wait instead
    allow_reuse_address = True

    def __init__(self, lab: LabWinRMServer, address: tuple[str, int], ssl_context: ssl.SSLContext | None):
        self.lab = lab
        self.ssl_context = ssl_context
        self.conns: set[socket.socket] = set()
        self.threads: set[threading.Thread] = set()
        self.track = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._stop_requested = False
        self._serving = threading.Event()
        self._serving.set()  # not serving yet: shutdown() before serve_forever() returns at once
        super().__init__(address, _Handler)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept loop that sleeps until a connection or :meth:`shutdown` arrives.

        ``socketserver``'s loop wakes every ``poll_interval`` to check for shutdown: with a
        500-node lab that was 10,000 wake-ups a second (0.15 CPU-seconds per second while
        idle, on the cores the benchmark's client needs). Here a socketpair wakes it instead.
        """
        self._serving.clear()
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self, selectors.EVENT_READ)
                sel.register(self._wake_r, selectors.EVENT_READ)
                while not self._stop_requested:
                    for key, _ in sel.select():
                        if key.fileobj is self._wake_r or self._stop_requested:
                            break
                        self._handle_request_noblock()  # type: ignore[attr-defined]
                    self.service_actions()
        finally:
            self._serving.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` now (no poll interval to wait for) and wait for it."""
        self._stop_requested = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._serving.wait()

    def server_close(self) -> None:
        super().server_close()
        for s in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                s.close()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name=f"lab-winrm-{self.lab.settings.name or 'node'}-conn", daemon=True)
        with self.track:
            self.conns.add(request)
            self.threads.add(t)
        t.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.track:
                self.conns.discard(request)
                self.threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            return  # clients rejecting our cert, dropped connections, idle timeouts: quiet
        log.exception("lab WinRM server %s: unexpected error", self.lab.settings.name)


class LabWinRMServer:
    """One simulated WinRM listener. ``start()``/``stop()`` or use as a context manager.

    >>> with LabWinRMServer(LabServerSettings(accounts={"auditor": pw}), handler) as srv:
    ...     winrm.Session(srv.url, auth=("auditor", pw), transport="ntlm", proxy=None)
    """

    def __init__(self, settings: LabServerSettings, handler: CommandHandler, *, host: str = "127.0.0.1",
                 port: int = 0):
        self.settings = settings
        self.host = host
        self._port = port
        f = settings.faults
        self._stopping = threading.Event()
        self.service = WSManService(handler, timeout_faults=f.timeout_faults, drop_mid_receive=f.drop_mid_receive,
                                    chunk_bytes=f.chunk_bytes, exec_seconds=f.exec_seconds, stopping=self._stopping)
        self.channel_bindings: bytes | None = None
        if settings.certificate is not None and settings.cbt == "strict":
            self.channel_bindings = settings.certificate.channel_binding_data()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._status: Counter[int] = Counter()
        self._actions: Counter[str] = Counter()
        self._auth_tokens: Counter[str] = Counter()
        self._encrypted_by: Counter[str] = Counter()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> LabWinRMServer:
        if self._httpd is not None:
            return self
        if Mechanism.NTLM in self.settings.mechanisms:
            ntlm_user_file()  # NTLM_USER_FILE must exist before any acceptor is created
            for name, pw in self.settings.accounts.items():
                register_ntlm_user(name, pw)
        if Mechanism.KERBEROS in self.settings.mechanisms:
            from auditor.lab.winrm.kerberos_acceptor import check_available

            assert self.settings.keytab is not None
            check_available(self.settings.keytab)  # a listener that cannot accept Kerberos does not start
        ctx = None
        cert = self.settings.certificate
        if cert is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(cert.cert_file), str(cert.key_file))
        self._stopping.clear()
        self._httpd = _HTTPServer(self, (self.host, self._port), ctx)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name=f"lab-winrm-{self.settings.name or 'node'}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every open connection; join threads, waiting at most ``timeout``."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with httpd.track:
            conns = list(httpd.conns)
            threads = list(httpd.threads)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()

    def __enter__(self) -> LabWinRMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def scheme(self) -> str:
        return "https" if self.settings.certificate is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/wsman"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    # -- counters ---------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def _count_status(self, status: int) -> None:
        with self._lock:
            self._status[status] += 1

    def _count_action(self, action: str) -> None:
        with self._lock:
            self._actions[action] += 1

    def _count_auth(self, mechanism: Mechanism | None) -> None:
        with self._lock:
            self._auth_tokens[str(mechanism) if mechanism else "unreadable"] += 1

    def _count_encrypted(self, mechanism: Mechanism | None) -> None:
        with self._lock:
            self._encrypted_by[str(mechanism)] += 1

    def counters(self) -> CounterSnapshot:
        with self._lock:
            return CounterSnapshot(
                requests=self._counts["requests"], status=dict(self._status), actions=dict(self._actions),
                encrypted_requests=self._counts["encrypted_requests"],
                encrypted_replies=self._counts["encrypted_replies"],
                shells_open=self.service.shells_open, commands_run=self.service.commands_run,
                auth_failures=self._counts["auth_failures"], dropped=self._counts["dropped"],
                auth_tokens=dict(self._auth_tokens), encrypted_by=dict(self._encrypted_by),
            )

    @property
    def requests(self) -> int:
        return self.counters().requests

    @property
    def encrypted_requests(self) -> int:
        return self.counters().encrypted_requests

    @property
    def encrypted_replies(self) -> int:
        return self.counters().encrypted_replies

    @property
    def status_codes(self) -> dict[int, int]:
        return self.counters().status

    @property
    def actions(self) -> dict[str, int]:
        return self.counters().actions

    @property
    def shells_open(self) -> int:
        return self.service.shells_open

    @property
    def commands_run(self) -> int:
        return self.service.commands_run
