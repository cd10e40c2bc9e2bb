"""Fixtures for history, waivers and notification tests: three recorded runs, and local
SMTP / HTTP servers on 127.0.0.1 that each test stops in teardown."""

from __future__ import annotations

import base64
import contextlib
import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from auditor.history import connect, record_run
from tests.history.hist_data import config, make_run, run1_findings, run2_findings, run3_findings


@pytest.fixture
def history_path(tmp_path: Path) -> Path:
    return tmp_path / "hist" / "history.sqlite"


@pytest.fixture
def three_runs(history_path: Path) -> Iterator[tuple[Path, list[int]]]:
    """A history file holding runs 1..3 as described above."""
    db = connect(history_path)
    try:
        ids = [
            record_run(db, make_run(run1_findings(), config("8080", "Secret-1"), when="01")),
            record_run(db, make_run(run2_findings(), config("8080", "Secret-1"), when="02")),
            # password rotated too: must not show up (masked both times), cmlPort must
            record_run(db, make_run(run3_findings(), config("8081", "Secret-2", extra=True), when="03")),
        ]
    finally:
        db.close()
    yield history_path, ids


# ---------------------------------------------------------------------------------------
# A minimal SMTP server (EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT)
# ---------------------------------------------------------------------------------------
@dataclass
class SmtpCapture:
    messages: list[dict] = field(default_factory=list)
    auth: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    tls: bool = False


class _SmtpHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode("ascii"))
        self.wfile.flush()

    def _readline(self) -> str | None:
        raw = self.rfile.readline(65536)
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def handle(self) -> None:
        cap: SmtpCapture = self.server.capture  # type: ignore[attr-defined]
        self._tls = False
        self._send("220 test-smtp ready")
        sender, rcpts = None, []
        while True:
            line = self._readline()
            if line is None:
                return
            verb = line.split(" ", 1)[0].upper()
            cap.commands.append(verb)
            arg = line[len(verb):].strip()
            if verb == "EHLO":
                self._send("250-test-smtp")
                if getattr(self.server, "tls_context", None) is not None and not self._tls:
                    self._send("250-STARTTLS")
                self._send("250-AUTH PLAIN LOGIN")
                self._send("250 8BITMIME")
            elif verb == "STARTTLS" and getattr(self.server, "tls_context", None) is not None:
                self._send("220 go ahead")
                self.connection = self.server.tls_context.wrap_socket(self.connection, server_side=True)
                self.request = self.connection
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                self._tls = True
                cap.tls = True
                sender, rcpts = None, []
            elif verb == "HELO":
                self._send("250 test-smtp")
            elif verb == "AUTH":
                parts = arg.split()
                if parts[0].upper() == "PLAIN":
                    blob = parts[1] if len(parts) > 1 else None
                    if blob is None:
                        self._send("334 ")
                        blob = self._readline() or ""
                    _, user, pwd = base64.b64decode(blob).decode().split("\0")
                else:  # LOGIN
                    self._send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self._readline() or "").decode()
                    self._send("334 UGFzc3dvcmQ6")
                    pwd = base64.b64decode(self._readline() or "").decode()
                cap.auth.append((user, pwd))
                self._send("235 2.7.0 authenticated")
            elif verb == "MAIL":
                sender, rcpts = arg.split(":", 1)[1].strip().split()[0].strip("<>"), []
                self._send("250 OK")
            elif verb == "RCPT":
                rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 end with .")
                lines = []
                while True:
                    data = self._readline()
                    if data is None or data == ".":
                        break
                    lines.append(data[1:] if data.startswith("..") else data)
                cap.messages.append({"from": sender, "to": rcpts, "data": "\r\n".join(lines)})
                self._send("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._send("250 OK")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:
                self._send("502 not implemented")


class _ThreadingTCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that drops the connection (e.g. refused certificate) is part of a test


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN), so the client verifies it against itself as CA."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "smtp-cert.pem", tmp / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def smtp_tls_server(tmp_path) -> Iterator[tuple[str, int, SmtpCapture, Path]]:
    """Like smtp_server, but offering STARTTLS with a self-signed certificate (yields its path)."""
    import ssl

    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with _run_smtp(ctx) as (host, port, cap):
        yield host, port, cap, cert


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, SmtpCapture]]:
    with _run_smtp(None) as served:
        yield served


@contextlib.contextmanager
def _run_smtp(tls_context) -> Iterator[tuple[str, int, SmtpCapture]]:
    server = _ThreadingTCP(("127.0.0.1", 0), _SmtpHandler)
    server.capture = SmtpCapture()  # type: ignore[attr-defined]
    server.tls_context = tls_context  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield "127.0.0.1", server.server_address[1], server.capture  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


# ---------------------------------------------------------------------------------------
# A webhook receiver: answers with the queued status codes, then 200
# ---------------------------------------------------------------------------------------
@dataclass
class HookCapture:
    requests: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # consumed first-in, first-out


class _HookHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        cap: HookCapture = self.server.capture  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        cap.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        code = cap.statuses.pop(0) if cap.statuses else 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, HookCapture]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
    server.daemon_threads = True
    server.capture = HookCapture()  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook/secret-path", server.capture  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)
