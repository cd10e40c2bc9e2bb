"""HTTP/1.1 for a message-encrypted WinRM connection, without urllib3's pool (client CPU per node).

Why: over plain HTTP with NTLM message encryption, a node's collection is 7 small requests on
one kept-alive connection. requests hands each to urllib3 (connection pool lookup, retry and
timeout objects, the pool key rebuilt from the URL), which hands it to ``http.client``
(headers parsed by the ``email`` package), and builds a response with cookie extraction: about
1 ms of client CPU per request on the benchmark machine, half of the client's CPU per node.
This adapter writes the request that urllib3 would write (request line, ``Host``, the prepared
headers in order, the body) on one socket and reads the reply with a small bounded parser.

Scope: only the NTLM session over ``http://`` (:func:`auditor.remote.ntlm_session.prepare_ntlm_session`),
whose every message after the first exchange is sealed and signed by NTLM, so a garbled reply
is caught by the signature check as well. HTTPS (certificates, channel binding), Kerberos,
Basic and CredSSP keep requests' own adapter.

What the rest of the code relies on, kept here:

* errors are requests' exceptions with the socket error inside (``ConnectTimeout``,
  ``ReadTimeout``, ``ConnectionError`` wrapping ``ConnectionRefusedError``,
  ``socket.gaierror`` ...), so :func:`auditor.remote.client.translate` names them as before;
  a reply that breaks off or is malformed is ``ConnectionError("Connection aborted ...")``,
  the transient ``protocol`` kind, as with urllib3;
* the connection is kept alive between requests (NTLM authenticates the connection), reopened
  when the server closed it while idle (as urllib3's pool does), and closed with the session;
* a reply's head is bounded (:data:`MAX_HEAD`), its body by :data:`MAX_BODY`; ``chunked``
  transfer coding and ``gzip``/``deflate`` content coding are decoded, as urllib3 does.
"""

from __future__ import annotations

import contextlib
import socket
import zlib
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.util.wait import wait_for_read

MAX_HEAD = 64 * 1024
"""Bytes of status line and headers a reply may have (HTTP.sys sends a few hundred)."""
MAX_BODY = 256 * 1024 * 1024
"""Bytes of one reply body (a WS-Management envelope is at most MaxEnvelopeSize, 150 KB by default)."""
_RECV = 65536


class _Raw:
    """What requests and requests_ntlm ask of ``Response.raw`` once the body is read."""

    def release_conn(self) -> None:
        """The connection stays with the adapter (the next request of this node uses it)."""

    def close(self) -> None:
        """Nothing to close: the body was read whole."""


def _aborted(why: str, exc: BaseException | None = None) -> requests.exceptions.ConnectionError:
    err = requests.exceptions.ConnectionError(f"Connection aborted: {why}")
    if exc is not None:
        err.__cause__ = exc
    return err


class PlainHttpAdapter(BaseAdapter):
    """A requests transport adapter for ``http://`` URLs: one kept-alive socket (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self._sock: socket.socket | None = None
        self._peer: tuple[str, int] | None = None
        self._buf = bytearray()

    # ---- the connection ---------------------------------------------------------------------

    def _connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        self.close()
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as exc:
            raise requests.exceptions.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._peer, self._buf = sock, (host, port), bytearray()
        return sock

    def _idle_dropped(self) -> bool:
        """The kept-alive socket was closed by the server (readable while no reply is due)."""
        assert self._sock is not None
        # urllib3's check (poll where there is one: select() cannot watch descriptors past 1023,
        # and 512 nodes in flight hold more sockets than that)
        return bool(self._buf) or wait_for_read(self._sock, timeout=0.0)

    def close(self) -> None:
        sock, self._sock, self._peer, self._buf = self._sock, None, None, bytearray()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # ---- one exchange -----------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, stream: bool = False,  # type: ignore[override]
             timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        url = requests.utils.urlparse(str(request.url))
        if url.scheme != "http" or not url.hostname:
            raise requests.exceptions.InvalidURL(f"{self.__class__.__name__} serves http:// URLs only: {request.url}")
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        host, port = url.hostname, url.port or 80
        if self._sock is None or self._peer != (host, port) or self._idle_dropped():
            self._connect(host, port, connect_timeout)
        sock = self._sock
        assert sock is not None
        sock.settimeout(read_timeout)
        try:
            sock.sendall(self._request_bytes(request, url))
        except TimeoutError as exc:
            self.close()
            raise requests.exceptions.ReadTimeout(exc) from exc
        except OSError as exc:
            self.close()
            raise _aborted(f"sending failed ({type(exc).__name__})", exc) from exc
        try:
            status, reason, headers, body, keep = self._read_reply(sock, str(request.method))
        except TimeoutError as exc:
            self.close()
            raise requests.exceptions.ReadTimeout(exc) from exc
        except requests.exceptions.ConnectionError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise _aborted(f"reading failed ({type(exc).__name__})", exc) from exc
        if not keep:
            self.close()
        response = requests.Response()
        response.status_code = status
        response.reason = reason
        response.headers = headers
        response.encoding = get_encoding_from_headers(headers)
        response.url = str(request.url)
        response.request = request
        response.connection = self  # type: ignore[attr-defined]  # requests_ntlm re-sends on it
        response.raw = _Raw()
        response._content = body  # type: ignore[attr-defined]
        response._content_consumed = True  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _request_bytes(request: requests.PreparedRequest, url: Any) -> bytes:
        """The bytes urllib3 writes for ``request``: request line, Host, the prepared headers, body."""
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, (bytes, bytearray)):
            raise requests.exceptions.InvalidHeader("only a request body of bytes can be sent")
        lines = [f"{request.method} {path} HTTP/1.1"]
        names = {k.lower() for k in request.headers}
        if "host" not in names:
            lines.append(f"Host: {url.netloc.rpartition('@')[2]}")
        lines.extend(f"{k}: {v}" for k, v in request.headers.items())
        if "content-length" not in names and "transfer-encoding" not in names and (body or request.method in (
                "POST", "PUT", "PATCH")):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + bytes(body)

    # ---- reading the reply ------------------------------------------------------------------

    def _fill(self, sock: socket.socket) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        chunk = sock.recv(_RECV)
        if not chunk:
            return False
        self._buf += chunk
        return True

    def _head(self, sock: socket.socket) -> bytes:
        while True:
            end = self._buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if end >= 0:
                head = bytes(self._buf[:end])
                del self._buf[:end + 4]
                return head
            if len(self._buf) > MAX_HEAD:
                raise _aborted(f"the reply's headers exceed {MAX_HEAD} bytes")
            if not self._fill(sock):
                raise _aborted("RemoteDisconnected: the server closed the connection without a reply"
                               if not self._buf else "the server closed the connection inside the reply's headers")

    def _exactly(self, sock: socket.socket, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill(sock):
                raise _aborted(f"the server closed the connection {n - len(self._buf)} bytes before the reply's end")
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _line(self, sock: socket.socket) -> bytes:
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 2]
                return line
            if len(self._buf) > MAX_HEAD:
                raise _aborted("a chunk size line is too long")
            if not self._fill(sock):
                raise _aborted("the server closed the connection inside a chunked reply")

    def _chunked(self, sock: socket.socket) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self._line(sock).split(b";", 1)[0].strip()
            try:
                n = int(line, 16)
            except ValueError:
                raise _aborted(f"bad chunk size {line[:20]!r}") from None
            if n < 0:
                raise _aborted("bad chunk size")
            if n == 0:
                while self._line(sock):  # trailers, up to the empty line
                    pass
                return b"".join(parts)
            size += n
            if size > MAX_BODY:
                raise _aborted(f"the reply's body exceeds {MAX_BODY} bytes")
            parts.append(self._exactly(sock, n))
            if self._exactly(sock, 2) != b"\r\n":
                raise _aborted("a chunk does not end with CRLF")

    def _to_close(self, sock: socket.socket) -> bytes:
        while self._fill(sock):
            if len(self._buf) > MAX_BODY:
                raise _aborted(f"the reply's body exceeds {MAX_BODY} bytes")
        out = bytes(self._buf)
        self._buf.clear()
        return out

    def _read_reply(self, sock: socket.socket, method: str
                    ) -> tuple[int, str, CaseInsensitiveDict, bytes, bool]:
        while True:
            status_line, *header_lines = self._head(sock).decode("latin-1").split("\r\n")
            version, _, rest = status_line.partition(" ")
            code_text, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/1.") or len(code_text) != 3 or not code_text.isdigit():
                raise _aborted(f"BadStatusLine: {status_line[:80]!r}")
            status = int(code_text)
            headers: CaseInsensitiveDict = CaseInsensitiveDict()
            for line in header_lines:
                name, sep, value = line.partition(":")
                if not sep or not name or name != name.strip():
                    raise _aborted(f"malformed header line {line[:80]!r}")
                value = value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            if 100 <= status < 200 and status != 101:
                continue  # an interim reply (100 Continue): the real one follows
            break
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunked(sock)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"].split(",")[0])
            except ValueError:
                raise _aborted(f"bad Content-Length {headers['content-length'][:20]!r}") from None
            if length < 0 or length > MAX_BODY:
                raise _aborted(f"Content-Length {length} out of range")
            body = self._exactly(sock, length)
        else:
            body, keep = self._to_close(sock), False
        return status, reason, headers, _decoded(body, headers.get("content-encoding", "")), keep


def _decoded(body: bytes, coding: str) -> bytes:
    """``body`` without its gzip/deflate content coding (requests asks for them), bounded by :data:`MAX_BODY`."""
    coding = coding.strip().lower()
    if coding not in ("gzip", "x-gzip", "deflate"):
        return body
    # gzip; deflate as zlib data, or raw deflate (some servers send that, urllib3 accepts both)
    tries = (16 + zlib.MAX_WBITS,) if "gzip" in coding else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in tries:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, MAX_BODY)
        except zlib.error as exc:
            if wbits == tries[-1]:
                raise requests.exceptions.ContentDecodingError(f"{coding} body could not be decoded: {exc}") from exc
            continue
        if inflater.unconsumed_tail:
            raise _aborted(f"the reply's decoded body exceeds {MAX_BODY} bytes")
        return out
    return body
