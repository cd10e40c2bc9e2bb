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

import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from http.server import ThreadingHTTPServer
from typing import Any

from auditor.lab.winrm.auth import Mechanism
from auditor.lab.winrm.connection import MAX_BODY, SOAP_CONTENT_TYPE, WSManConnection
from auditor.lab.winrm.handler import CommandHandler
from auditor.lab.winrm.ntlm_users import ntlm_user_file, register_ntlm_user
from auditor.lab.winrm.settings import AUTH_MODES, CounterSnapshot, LabFaults, LabServerSettings
from auditor.lab.winrm.wsman import WSManService

log = logging.getLogger(__name__)

__all__ = ["AUTH_MODES", "MAX_BODY", "SOAP_CONTENT_TYPE", "CounterSnapshot", "LabFaults", "LabServerSettings",
           "LabWinRMServer"]


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
        super().__init__(address, WSManConnection)

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
