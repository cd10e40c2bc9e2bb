"""The plain-HTTP adapter of the NTLM session (auditor.remote.plain_http), against a real socket
on 127.0.0.1 that records what it receives and answers scripted replies: the same request
bytes as urllib3, one kept-alive connection, the reply codings urllib3 reads, and the errors
``translate`` turns into the kinds the collector retries or reports. The whole NTLM exchange
over it is checked against the lab (tests/remote/test_remote_e2e.py, tests/perf)."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter
from winrm.protocol import Protocol

from auditor.remote.client import Target, translate
from auditor.remote.ntlm_session import prepare_ntlm_session
from auditor.remote.plain_http import MAX_HEAD, PlainHttpAdapter

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"


class CloseAfter(bytes):
    """A reply after which the server closes the connection without saying so (an idle timeout)."""


class ScriptedServer:
    """Accepts connections one after another; per request, records its bytes and sends the next
    scripted reply (``None``: close the connection instead; ``b""``: say nothing; a
    :class:`CloseAfter` reply: send it, then close)."""

    def __init__(self, replies: list[bytes | None]):
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/wsman"
        self._stop = threading.Event()
        self._closed = threading.Event()  # set when a connection ended on the server's side
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _read_request(self, conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        return head + b"\r\n\r\n" + body

    def _serve(self) -> None:
        while not self._stop.is_set() and self.replies:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conn = conn
            self._closed.clear()
            with conn:
                conn.settimeout(5)
                while self.replies:
                    try:
                        request = self._read_request(conn)
                    except OSError:
                        break
                    if request is None:
                        break
                    self.requests.append(request)
                    reply = self.replies.pop(0)
                    if reply is None:
                        break
                    if reply == b"":
                        self._stop.wait(5)
                        break
                    conn.sendall(reply)
                    if isinstance(reply, CloseAfter):
                        break
            self._closed.set()

    def wait_closed(self) -> None:
        assert self._closed.wait(5)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)


@pytest.fixture
def serve() -> Iterator:
    servers: list[ScriptedServer] = []

    def start(*replies: bytes | None) -> ScriptedServer:
        servers.append(ScriptedServer(list(replies)))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _session(adapter: requests.adapters.BaseAdapter) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", adapter)
    session.headers.update({"Content-Type": "application/soap+xml;charset=UTF-8", "User-Agent": "Python WinRM client"})
    return session


def _post(adapter: requests.adapters.BaseAdapter, url: str, data: bytes | None = b"<s:Envelope/>",
          timeout: tuple[float, float] = (5, 5)) -> requests.Response:
    return _session(adapter).post(url, data=data, timeout=timeout)


def _target(url: str) -> Target:
    port = int(url.split(":")[2].split("/")[0])
    return Target(name="n1", host="127.0.0.1", port=port, scheme="http", connect_timeout=1, read_timeout=2,
                  operation_timeout=1)


@pytest.mark.parametrize("data", [None, b"<s:Envelope>\xc3\xa9</s:Envelope>"], ids=["empty-post", "message"])
def test_writes_the_bytes_urllib3_writes(serve, data):
    server = serve(OK, OK)
    _post(HTTPAdapter(), server.url, data)
    _post(PlainHttpAdapter(), server.url, data)
    assert server.requests[1] == server.requests[0]


def test_reads_status_headers_and_body(serve):
    r = _post(PlainHttpAdapter(), serve(OK).url)
    assert (r.status_code, r.reason, r.headers["content-type"], r.content) == (200, "OK", "text/plain", b"hello")


def test_keeps_one_connection_for_a_node(serve):
    server = serve(OK, OK, OK)
    session = _session(PlainHttpAdapter())
    for _ in range(3):
        session.post(server.url, data=b"<x/>", timeout=(5, 5))
    assert server.connections == 1


def test_keeps_the_connection_on_a_descriptor_past_1023(serve):
    """select() cannot watch such a descriptor; 512 nodes in flight hold more sockets than that."""
    import os
    import resource

    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1400:
        pytest.skip("the open-file limit is too low to reach descriptor 1024")
    server = serve(OK, OK)
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        session = _session(PlainHttpAdapter())
        session.post(server.url, data=b"<x/>", timeout=(5, 5))
        session.post(server.url, data=b"<x/>", timeout=(5, 5))
    finally:
        for fd in filler:
            os.close(fd)
    assert server.connections == 1


def test_reconnects_when_the_server_closed_the_idle_connection(serve):
    server = serve(CloseAfter(OK), OK)
    session = _session(PlainHttpAdapter())
    session.post(server.url, data=b"<x/>", timeout=(5, 5))
    server.wait_closed()
    assert session.post(server.url, data=b"<x/>", timeout=(5, 5)).content == b"hello"


def test_a_connection_closed_before_the_reply_is_a_dropped_connection(serve):
    server = serve(None)
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        _post(PlainHttpAdapter(), server.url)
    assert translate(info.value, _target(server.url)).kind == "protocol"


def test_a_connection_close_reply_closes_the_connection(serve):
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    server = serve(close, OK)
    session = _session(PlainHttpAdapter())
    session.post(server.url, data=b"<x/>", timeout=(5, 5))
    session.post(server.url, data=b"<x/>", timeout=(5, 5))
    assert server.connections == 2


def test_reads_a_chunked_reply(serve):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    assert _post(PlainHttpAdapter(), serve(chunked).url).content == b"hello world"


def test_decodes_a_gzip_reply(serve):
    body = gzip.compress(b"<s:Envelope/>")
    reply = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    assert _post(PlainHttpAdapter(), serve(reply).url).content == b"<s:Envelope/>"


def test_skips_an_interim_reply(serve):
    r = _post(PlainHttpAdapter(), serve(b"HTTP/1.1 100 Continue\r\n\r\n" + OK).url)
    assert r.content == b"hello"


def test_a_reply_cut_short_is_a_dropped_connection(serve):
    server = serve(CloseAfter(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"))
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        _post(PlainHttpAdapter(), server.url)
    assert translate(info.value, _target(server.url)).kind == "protocol"


@pytest.mark.parametrize("reply", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n",
                                   b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
                                   b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
                         ids=["not-http", "bad-status", "bad-header", "bad-length"])
def test_a_malformed_reply_is_a_protocol_failure(serve, reply):
    server = serve(reply)
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        _post(PlainHttpAdapter(), server.url)
    assert translate(info.value, _target(server.url)).kind == "protocol"


def test_headers_past_the_bound_are_refused(serve):
    server = serve(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n")
    with pytest.raises(requests.exceptions.ConnectionError, match="exceed"):
        _post(PlainHttpAdapter(), server.url)


def test_no_reply_in_time_is_a_read_timeout(serve):
    server = serve(b"")
    with pytest.raises(requests.exceptions.ReadTimeout) as info:
        _post(PlainHttpAdapter(), server.url, timeout=(5, 0.3))
    assert translate(info.value, _target(server.url)).kind == "timeout"


def test_a_closed_port_is_refused():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there after it
    url = f"http://127.0.0.1:{port}/wsman"
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        _post(PlainHttpAdapter(), url)
    assert translate(info.value, _target(url)).kind == "refused"


def test_serves_plain_http_only():
    with pytest.raises(requests.exceptions.InvalidURL):
        PlainHttpAdapter().send(requests.Request("POST", "https://127.0.0.1:1/wsman").prepare(), timeout=(1, 1))


@pytest.mark.parametrize(("endpoint", "adapter"), [("http://node1.example:5985/wsman", PlainHttpAdapter),
                                                   ("https://node1.example:5986/wsman", HTTPAdapter)],
                         ids=["http", "https"])
def test_the_ntlm_session_uses_it_over_plain_http_only(endpoint, adapter):
    p = Protocol(endpoint, transport="ntlm", username="auditor", password="pw", message_encryption="never")
    prepare_ntlm_session(p.transport)
    assert type(p.transport.session.get_adapter(endpoint)) is adapter
