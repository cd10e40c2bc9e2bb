"""One TCP connection to a lab WinRM listener: HTTP/1.1 keep-alive, authentication (one
NTLM or Kerberos acceptor per connection), message sealing, and the hand-off of the SOAP
request to the WS-Management service (``auditor.lab.winrm.wsman``). See ``server.py`` for
the listener around it and docs/winrm.md for the Windows behaviour it follows.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import ssl
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # pragma: no cover
    from auditor.lab.winrm.server import _HTTPServer

log = logging.getLogger("auditor.lab.winrm.server")

MAX_BODY = 16 * 1024 * 1024
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


class WSManConnection(BaseHTTPRequestHandler):
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
        self.offered = False  # the bare 401 offer went out on this connection (fault challenge_first)
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
        """One WS-Management request: read it, authenticate, unseal, answer (sealed as it came)."""
        lab = self.server.lab
        lab._count("requests")
        body = self._read_body()
        if body is None:
            return
        authz = self.headers.get("Authorization", "")
        scheme = authz.split(None, 1)[0].lower() if authz else ""
        reply_headers: list[tuple[str, str]] = []  # the Kerberos AP-REP (mutual authentication)
        user = self._authenticate(authz, scheme, body, reply_headers)
        if user is None:
            return
        protocol = encryption_protocol(self.headers.get("Content-Type", ""))
        data = self._unseal(body, scheme, protocol)
        if data is None:
            return
        reply = lab.service.handle(data, user)
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

    def _read_body(self) -> bytes | None:
        """The request body (always read: a rejected request's body must not be left on the
        connection), or None when the request was answered already (bad length, delay
        fault, wrong path)."""
        lab = self.server.lab
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._reply(411)
            return None
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._reply(413)
            return None
        body = self.rfile.read(length) if length else b""
        if lab.settings.faults.delay_seconds and lab._stopping.wait(lab.settings.faults.delay_seconds):
            self.close_connection = True
            return None
        if self.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            self._reply(404)
            return None
        return body

    def _authenticate(self, authz: str, scheme: str, body: bytes, reply_headers: list[tuple[str, str]]) -> str | None:
        """The authenticated user ("" for none known), or None when the request was answered
        (a 401 round trip, a refusal, the empty POST that sets up message encryption)."""
        lab = self.server.lab
        settings = lab.settings
        mechs = settings.mechanisms
        token = authz.split(None, 1)[1] if " " in authz else ""
        if settings.faults.challenge_first and not self.offered:
            self.offered = True  # a listener that ignores a token on a connection's first request
            self._unauthorized(failed=False)
            return None
        if scheme:
            lab._count_auth(Mechanism.BASIC if scheme == "basic" else _sniff(token, kerberos_scheme=scheme == "kerberos"))
        if scheme == "basic":
            if Mechanism.BASIC not in mechs or (settings.certificate is None and not settings.allow_unencrypted):
                self._unauthorized()  # AllowUnencrypted=false: Basic over HTTP is refused
                return None
            try:
                return check_basic(settings.accounts, authz)
            except AuthFailed:
                self._unauthorized()
                return None
        if scheme in ("negotiate", "ntlm", "kerberos") and mechs & {Mechanism.NTLM, Mechanism.KERBEROS}:
            return self._negotiate(token, scheme, body, reply_headers)
        if scheme:
            self._unauthorized()
            return None
        if self.gss.complete:
            return self.gss.principal or ""
        self._unauthorized(failed=False)  # the usual first round trip: offer the schemes
        return None

    def _negotiate(self, token: str, scheme: str, body: bytes, reply_headers: list[tuple[str, str]]) -> str | None:
        """One NTLM or Kerberos leg on this connection (see :meth:`_authenticate`)."""
        settings = self.server.lab.settings
        try:
            out, done = self.gss.step(token, kerberos_scheme=scheme == "kerberos")
        except AuthFailed as exc:
            log.debug("%s: %s", settings.name, exc)
            self._unauthorized(token=exc.token)
            return None
        reply_scheme = "Kerberos" if scheme == "kerberos" else "Negotiate"
        if not done:
            self._reply(401, headers=[("WWW-Authenticate", f"{reply_scheme} " + base64.b64encode(out or b"").decode())])
            return None
        principal = self.gss.principal or ""
        if account_matches(settings.accounts, principal) is None:
            self.gss.reset()  # authenticated, but this node does not know that account
            self._unauthorized()
            return None
        if out:
            reply_headers.append(("WWW-Authenticate", f"{reply_scheme} " + base64.b64encode(out).decode()))
        if not body:
            self._reply(200, headers=reply_headers)  # the empty POST that sets up message encryption
            return None
        return principal

    def _unseal(self, body: bytes, scheme: str, protocol: str | None) -> bytes | None:
        """The SOAP text of a sealed (or, where allowed, plaintext) request; None when refused."""
        lab = self.server.lab
        settings = lab.settings
        if protocol is None:
            if self.gss.complete and scheme != "basic" and settings.certificate is None \
                    and not settings.allow_unencrypted:
                self._reply(400)  # plaintext NTLM/Kerberos over HTTP is refused (docs/winrm.md, authentication)
                return None
            return body
        if not self.gss.complete or scheme == "basic" or (
                protocol == KERBEROS_ENCRYPTED_PROTOCOL and self.gss.mechanism is not Mechanism.KERBEROS):
            self._reply(400)
            return None
        try:
            data = self.gss.decrypt(body, protocol)
        except Exception as exc:  # bad framing or signature: the context is now unusable
            log.debug("%s: decrypt failed: %s", settings.name, exc)
            self.close_connection = True
            self._reply(400)
            return None
        lab._count("encrypted_requests")
        lab._count_encrypted(self.gss.mechanism)
        return data


def _sniff(token_b64: str, *, kerberos_scheme: bool) -> Mechanism | None:
    """The mechanism an Authorization token carries (for the counters), None when unreadable."""
    if kerberos_scheme:
        return Mechanism.KERBEROS
    try:
        token = base64.b64decode(token_b64, validate=True)
    except (ValueError, TypeError):
        return None
    return token_mechanism(token) if token else None
