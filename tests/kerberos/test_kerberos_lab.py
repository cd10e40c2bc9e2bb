"""The lab WinRM endpoint accepting Kerberos, against the real pywinrm client and a real MIT KDC
(tests/conftest.py ``kerberos_realm``): mutual authentication, WinRM message encryption over
HTTP in both framings, strict channel binding over HTTPS, and no other mechanism accepted where
Kerberos alone is offered."""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Iterator

import pytest
import requests
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError

from auditor.lab.winrm.certs import LabPKI
from auditor.lab.winrm.server import LabWinRMServer
from tests.kerberos.krb_support import SPN_HOST, USER, kerberos_server, kerberos_session

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPKI:
    return LabPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def servers(kerberos_realm) -> Iterator[list[LabWinRMServer]]:
    started: list[LabWinRMServer] = []
    yield started
    for srv in started:
        srv.stop()


@pytest.fixture
def echo():
    from tests.lab.lab_echo_handler import EchoHandler  # tests/lab helper: echoes the command with the user

    return EchoHandler()


def _start(servers, kerberos_realm, echo, **kw) -> LabWinRMServer:
    srv = kerberos_server(kerberos_realm.kdc.service_keytab, echo, **kw)
    servers.append(srv)
    return srv


def test_http_is_authenticated_by_ticket_and_encrypted(servers, kerberos_realm, echo):
    srv = _start(servers, kerberos_realm, echo)
    r = kerberos_session(srv).run_ps("sealed")
    assert (r.status_code, r.std_out) == (0, b"user=auditor@LAB.TEST\r\nsealed\r\n")
    c = srv.counters()
    # one empty POST carrying the AP-REQ (200 + AP-REP), then the 5 operations, all sealed
    assert c.status == {200: 6}
    assert c.encrypted_requests == 5
    assert c.encrypted_replies == 5
    assert c.encrypted_by == {"kerberos": 5}
    assert c.auth_tokens == {"kerberos": 1}


def test_https_channel_binding_is_required(servers, kerberos_realm, echo, pki):
    srv = _start(servers, kerberos_realm, echo, pki=pki)
    r = kerberos_session(srv, pki).run_ps("bound")
    assert r.std_out.endswith(b"bound\r\n")
    c = srv.counters()
    # the first token is sent before the client has seen the certificate (no bindings): refused,
    # as by Windows with CbtHardeningLevel=Strict; the retry carries them
    assert c.status == {401: 1, 200: 5}
    assert c.auth_tokens == {"kerberos": 2}
    assert c.encrypted_requests == 0


def test_https_without_channel_binding_is_refused(servers, kerberos_realm, echo, pki):
    srv = _start(servers, kerberos_realm, echo, pki=pki)
    with pytest.raises(InvalidCredentialsError):
        kerberos_session(srv, pki, send_cbt=False).run_ps("x")
    assert srv.counters().commands_run == 0


def test_plaintext_kerberos_over_http_is_refused(servers, kerberos_realm, echo):
    srv = _start(servers, kerberos_realm, echo)
    with pytest.raises(WinRMTransportError) as exc:
        kerberos_session(srv, message_encryption="never").run_ps("x")
    assert exc.value.code == 400


def test_kerberos_only_listener_refuses_ntlm(servers, kerberos_realm, echo):
    from tests.lab.lab_support import session_for_url

    srv = _start(servers, kerberos_realm, echo, accounts={USER: "Lab-Passw0rd!"})
    # requests_ntlm gives up when the 401 to its NEGOTIATE carries no challenge
    with pytest.raises(PermissionError, match="NTLM challenge"):
        session_for_url(srv.url, transport="ntlm", password="Lab-Passw0rd!").run_ps("x")
    c = srv.counters()
    assert c.commands_run == 0
    assert "kerberos" not in c.auth_tokens


def test_negotiate_listener_accepts_kerberos_and_ntlm(servers, kerberos_realm, echo):
    from tests.lab.lab_support import session_for_url

    srv = _start(servers, kerberos_realm, echo, auth="negotiate", accounts={USER: "Lab-Passw0rd!"})
    assert kerberos_session(srv).run_ps("k").std_out.startswith(b"user=auditor@LAB.TEST")
    assert session_for_url(srv.url, transport="ntlm", password="Lab-Passw0rd!").run_ps("n").status_code == 0
    c = srv.counters()
    assert c.encrypted_by == {"kerberos": 5, "ntlm": 5}


def test_ticket_for_another_hosts_spn_is_refused(servers, kerberos_realm, echo):
    """A ticket for a principal the node holds no key for (an SPN registered to another machine)."""
    kerberos_realm.kdc.add_service_principal("other.lab.test")
    srv = _start(servers, kerberos_realm, echo)
    with pytest.raises(InvalidCredentialsError):
        kerberos_session(srv, kerberos_hostname_override="other.lab.test").run_ps("x")
    assert srv.counters().commands_run == 0


def test_unknown_principal_is_refused(servers, kerberos_realm, echo):
    """The ticket is good, but the node does not grant this user access."""
    srv = _start(servers, kerberos_realm, echo, accounts={"someone-else": "x"})
    with pytest.raises(InvalidCredentialsError):
        kerberos_session(srv).run_ps("x")


def test_kerberos_scheme_with_kerberos_session_encryption(servers, kerberos_realm, echo):
    """MS-WSMV 2.2.9.1.2: ``Authorization: Kerberos`` and application/HTTP-Kerberos-session-encrypted.

    pywinrm speaks Negotiate, so this client is built from pykerberos by hand; the lab must
    answer in the Kerberos framing and seal with the same context.
    """
    import kerberos

    srv = _start(servers, kerberos_realm, echo)
    _, ctx = kerberos.authGSSClientInit(f"HTTP@{SPN_HOST}",
                                        gssflags=kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG)
    kerberos.authGSSClientStep(ctx, "")
    protocol = "application/HTTP-Kerberos-session-encrypted"
    with requests.Session() as http:
        http.trust_env = False
        r = http.post(srv.url, data=b"", headers={"Authorization": "Kerberos " + kerberos.authGSSClientResponse(ctx)})
        assert r.status_code == 200
        m = re.match(r"Kerberos (\S+)", r.headers["WWW-Authenticate"])
        assert m is not None
        assert kerberos.authGSSClientStep(ctx, m.group(1)) == 1  # the node proved its identity
        envelope = _create_shell_envelope()
        sealed, header = kerberos.authGSSWinRMEncryptMessage(ctx, envelope)
        body = (b"--Encrypted Boundary\r\n\tContent-Type: " + protocol.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(envelope)).encode()
                + b"\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<I", len(header)) + header + sealed + b"--Encrypted Boundary--\r\n")
        r = http.post(srv.url, data=body, headers={
            "Content-Type": f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'})
    assert r.status_code == 200
    assert f'protocol="{protocol}"' in r.headers["Content-Type"]
    payload = r.content.split(b"\tContent-Type: application/octet-stream\r\n", 1)[1].removesuffix(
        b"--Encrypted Boundary--\r\n")
    (sig_len,) = struct.unpack("<I", payload[:4])
    plain = kerberos.authGSSWinRMDecryptMessage(ctx, payload[4 + sig_len:], payload[4:4 + sig_len])
    assert b"ResourceCreated" in plain
    assert srv.counters().encrypted_by == {"kerberos": 1}


def _create_shell_envelope() -> bytes:
    """A WS-Management Create (shell) message as pywinrm builds it."""
    from winrm.protocol import Protocol

    p = Protocol("http://127.0.0.1:1/wsman", transport="plaintext", username="x", password="x")
    captured: list[bytes] = []
    p.send_message = lambda message: captured.append(message.encode() if isinstance(message, str) else message) or ""
    with contextlib.suppress(Exception):  # the empty reply does not parse; only the request matters
        p.open_shell()
    return captured[0]
