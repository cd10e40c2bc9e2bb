"""The lab WinRM endpoint against the real pywinrm client (no mocks): auth, encryption, TLS,
WS-Man replies, Windows limits and every protocol-level fault."""

from __future__ import annotations

import base64
import socket
import time

import pytest
import requests
import winrm
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMTransportError,
    WSManFaultError,
)

from auditor.lab.winrm.server import LabFaults
from tests.lab.lab_echo_handler import EchoHandler, big_output
from tests.lab.lab_support import PASSWORD, USER, lab_threads, session_for

pytestmark = pytest.mark.timeout(30)


def test_basic_http(lab_server, pki):
    srv = lab_server(auth="basic")
    r = session_for(srv, pki, transport="basic").run_ps("hello")
    assert (r.status_code, r.std_out, r.std_err) == (0, b"user=auditor\r\nhello\r\n", b"")
    c = srv.counters()
    assert c.requests == 5
    assert c.status == {200: 5}
    assert c.actions == {"Create": 1, "Command": 1, "Receive": 1, "Signal": 1, "Delete": 1}
    assert c.shells_open == 0
    assert c.commands_run == 1
    assert c.encrypted_requests == 0


def test_basic_http_refused_without_allow_unencrypted(lab_server, pki):
    srv = lab_server(auth="basic", allow_unencrypted=False)
    with pytest.raises(InvalidCredentialsError):
        session_for(srv, pki, transport="basic").run_ps("hello")


def test_basic_https_with_ca_file(lab_server, pki):
    srv = lab_server(auth="basic", tls=True)
    assert srv.url.startswith("https://127.0.0.1:")
    r = session_for(srv, pki, transport="basic").run_ps("over tls")
    assert r.status_code == 0
    assert r.std_out.endswith(b"over tls\r\n")


def test_ntlm_http_is_encrypted(lab_server, pki):
    srv = lab_server(auth="ntlm")
    r = session_for(srv, pki, transport="ntlm").run_ps("sealed")
    assert r.status_code == 0
    assert r.std_out == b"user=auditor\r\nsealed\r\n"
    c = srv.counters()
    # 3 empty handshake POSTs + 5 sealed operations; every SOAP message both ways was sealed
    assert c.requests == 8
    assert c.status == {401: 2, 200: 6}
    assert c.encrypted_requests == 5
    assert c.encrypted_replies == 5


def test_ntlm_http_plaintext_refused(lab_server, pki):
    srv = lab_server(auth="ntlm")
    with pytest.raises(WinRMTransportError) as exc:
        session_for(srv, pki, transport="ntlm", message_encryption="never").run_ps("x")
    assert exc.value.code == 400


def test_ntlm_https_with_channel_binding(lab_server, pki):
    srv = lab_server(auth="ntlm", tls=True)
    r = session_for(srv, pki, transport="ntlm").run_ps("cbt")
    assert r.status_code == 0
    assert r.std_out.endswith(b"cbt\r\n")
    assert srv.channel_bindings
    assert srv.channel_bindings.startswith(b"tls-server-end-point:")
    c = srv.counters()
    assert c.encrypted_requests == 0
    assert c.status == {401: 2, 200: 5}


def test_ntlm_https_without_cbt_rejected(lab_server, pki):
    srv = lab_server(auth="ntlm", tls=True)
    with pytest.raises(InvalidCredentialsError):
        session_for(srv, pki, transport="ntlm", send_cbt=False).run_ps("x")


def test_ntlm_https_encryption_always(lab_server, pki):
    srv = lab_server(auth="ntlm", tls=True)
    r = session_for(srv, pki, transport="ntlm", message_encryption="always").run_ps("both")
    assert r.status_code == 0
    assert srv.counters().encrypted_replies == 5


def test_both_auth_accepts_basic_and_ntlm(lab_server, pki):
    srv = lab_server(auth="both", tls=True)
    assert session_for(srv, pki, transport="basic").run_ps("b").status_code == 0
    assert session_for(srv, pki, transport="ntlm").run_ps("n").status_code == 0


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_wrong_password(lab_server, pki, transport):
    srv = lab_server(auth=transport, tls=True)
    with pytest.raises(InvalidCredentialsError):
        session_for(srv, pki, transport=transport, password="not-the-password").run_ps("x")
    assert srv.counters().commands_run == 0


def test_ntlm_user_known_to_process_but_not_to_this_node(lab_server, pki):
    """Another server in the process registered the account; this node must still refuse it."""
    lab_server(auth="ntlm")  # registers auditor/PASSWORD process-wide
    other = lab_server(auth="ntlm", accounts={"someone-else": "Other-Pw1"})
    with pytest.raises(InvalidCredentialsError):
        session_for(other, pki, transport="ntlm").run_ps("x")
    assert session_for(other, pki, transport="ntlm", user="someone-else", password="Other-Pw1").run_ps("y").status_code == 0


def test_domain_account(lab_server, pki):
    srv = lab_server(auth="ntlm", accounts={"LAB\\svc-audit": "Dom-Pw1"})
    r = session_for(srv, pki, transport="ntlm", user="LAB\\svc-audit", password="Dom-Pw1").run_ps("dom")
    assert r.status_code == 0
    assert b"svc-audit" in r.std_out


def test_command_line_limit(lab_server, pki):
    srv = lab_server(auth="basic")
    s = session_for(srv, pki, transport="basic")
    ok = s.run_ps("x" * 3000)
    assert ok.status_code == 0
    assert ok.std_out.endswith(b"x" * 100 + b"\r\n")
    too_long = s.run_ps("x" * 3100)
    assert too_long.status_code == 1
    assert too_long.std_err == b"The command line is too long.\r\n"
    assert too_long.std_out == b""


def test_command_line_limit_boundary(lab_server, pki):
    """27-char prefix + base64(UTF-16LE): 3061 characters is the longest script cmd.exe takes."""
    srv = lab_server(auth="basic")
    s = session_for(srv, pki, transport="basic")
    assert s.run_ps("z" * 3061).status_code == 0
    assert s.run_ps("z" * 3062).std_err == b"The command line is too long.\r\n"
    assert srv.status_codes == {200: 10}
    assert srv.actions["Command"] == 2


def test_skip_cmd_shell_allows_longer_lines(lab_server, pki):
    srv = lab_server(auth="basic")
    p = session_for(srv, pki, transport="basic").protocol
    script = "y" * 5000
    line = "powershell -encodedcommand " + base64.b64encode(script.encode("utf-16-le")).decode()
    shell = p.open_shell()
    try:
        cid = p.run_command(shell, line, skip_cmd_shell=True)
        out, err, code = p.get_command_output(shell, cid)
        p.cleanup_command(shell, cid)
        assert code == 0
        assert out.endswith(b"y\r\n")
        cid = p.run_command(shell, line, skip_cmd_shell=False)
        out, err, code = p.get_command_output(shell, cid)
        p.cleanup_command(shell, cid)
        assert code == 1
        assert err == b"The command line is too long.\r\n"
    finally:
        p.close_shell(shell)


def test_clixml_error_via_run_ps(lab_server, pki):
    srv = lab_server(auth="ntlm")
    r = session_for(srv, pki, transport="ntlm").run_ps("fail:boom from lab\nsecond <line> & _x0041_")
    assert r.status_code == 1
    # pywinrm only unescapes CRLF; a literal "_x0041_" arrives guarded, as from real PowerShell
    assert r.std_err == b"boom from lab\nsecond <line> & _x005F_x0041_"


def test_raw_stderr_is_clixml(lab_server, pki):
    srv = lab_server(auth="basic")
    p = session_for(srv, pki, transport="basic").protocol
    shell = p.open_shell()
    line = "powershell -encodedcommand " + base64.b64encode("fail:oops".encode("utf-16-le")).decode()
    cid = p.run_command(shell, line)
    out, err, code = p.get_command_output(shell, cid)
    p.cleanup_command(shell, cid)
    p.close_shell(shell)
    assert err.startswith(b"#< CLIXML\r\n<Objs Version=\"1.1.0.1\"")
    assert b'<S S="Error">oops_x000D__x000A_</S>' in err
    assert code == 1


def test_codepage_and_crlf(lab_server, pki):
    srv = lab_server(auth="basic")
    r = session_for(srv, pki, transport="basic").run_ps("caf\u00e9 \u4e2d\nnext")
    # cp437 has e-acute (0x82) but no CJK: replaced by '?', LF -> CRLF
    assert r.std_out == b"user=auditor\r\ncaf\x82 ?\r\nnext\r\n"


def test_environment_and_exit_code(lab_server, pki):
    srv = lab_server(auth="ntlm")
    p = session_for(srv, pki, transport="ntlm").protocol
    request = "{" + "x" * 20000 + "}"
    shell = p.open_shell(env_vars={"AUDIT_REQUEST": request})
    line = "powershell -encodedcommand " + base64.b64encode("env:AUDIT_REQUEST".encode("utf-16-le")).decode()
    cid = p.run_command(shell, line)
    out, err, code = p.get_command_output(shell, cid)
    p.cleanup_command(shell, cid)
    line = "powershell -encodedcommand " + base64.b64encode("exit:7".encode("utf-16-le")).decode()
    cid = p.run_command(shell, line)  # second command on the same shell
    _, _, code7 = p.get_command_output(shell, cid)
    p.cleanup_command(shell, cid)
    p.close_shell(shell)
    assert out.decode() == request
    assert code == 0
    assert code7 == 7
    assert srv.counters().shells_open == 0


def test_timeout_faults_recovered(lab_server, pki):
    srv = lab_server(auth="ntlm", faults=LabFaults(timeout_faults=2))
    r = session_for(srv, pki, transport="ntlm").run_ps("slow")
    assert r.status_code == 0
    assert r.std_out.endswith(b"slow\r\n")
    c = srv.counters()
    assert c.actions["Receive"] == 1
    assert c.actions["fault"] == 2
    assert c.status[500] == 2


def test_chunked_output_reassembled(lab_server, pki):
    srv = lab_server(auth="ntlm", faults=LabFaults(chunk_bytes=1000))
    r = session_for(srv, pki, transport="ntlm").run_ps("big:10500")
    assert r.std_out == big_output(10500).replace("\n", "\r\n").encode()
    n = len(r.std_out)
    assert srv.counters().actions["Receive"] == -(-n // 1000)


def test_large_output_under_max_envelope(lab_server, pki):
    srv = lab_server(auth="basic")
    r = session_for(srv, pki, transport="basic").run_ps("big:400000")
    assert len(r.std_out) > 400000
    assert srv.counters().actions["Receive"] == 4  # ~112 KiB raw per reply under 153600 bytes


def test_drop_mid_receive_is_a_bounded_client_error(lab_server, pki):
    srv = lab_server(auth="ntlm", faults=LabFaults(drop_mid_receive=True))
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        session_for(srv, pki, transport="ntlm").run_ps("dropped")
    assert time.monotonic() - t0 < 3
    assert srv.counters().dropped == 1
    # only the first Receive with output is dropped: the next attempt works
    assert session_for(srv, pki, transport="ntlm").run_ps("again").status_code == 0


def test_untrusted_certificate(lab_server, pki):
    srv = lab_server(auth="ntlm", tls=True, untrusted=True)
    with pytest.raises(requests.exceptions.SSLError):
        session_for(srv, pki, transport="ntlm").run_ps("x")
    # the server shrugs off the failed handshake and keeps serving
    with pytest.raises(requests.exceptions.SSLError):
        session_for(srv, pki, transport="ntlm").run_ps("x")


def test_delay_fault(lab_server, pki):
    srv = lab_server(auth="basic", faults=LabFaults(delay_seconds=0.1))
    t0 = time.monotonic()
    session_for(srv, pki, transport="basic").run_ps("late")
    assert time.monotonic() - t0 >= 0.5  # 5 requests x 0.1 s


def test_unknown_shell_fault(lab_server, pki):
    srv = lab_server(auth="ntlm")
    p = session_for(srv, pki, transport="ntlm").protocol
    with pytest.raises(WSManFaultError) as exc:
        p.run_command("1E5F2A1C-0000-0000-0000-000000000000", "ipconfig")
    assert exc.value.wsman_fault_code == 2150858843
    assert "failed because the shell was not found" in exc.value.reason
    p.transport.close_session()


def test_unsupported_action_fault(lab_server, pki):
    srv = lab_server(auth="basic")
    p = session_for(srv, pki, transport="basic").protocol
    req = {"env:Envelope": p.build_wsman_header(
        action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
        resource_uri="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service")}
    import xmltodict
    with pytest.raises(WSManFaultError) as exc:
        p.send_message(xmltodict.unparse(req))
    assert exc.value.fault_subcode == "a:ActionNotSupported"


def test_receive_timeout_fault_codes_are_real(lab_server, pki):
    """pywinrm only retries WSManFault 2150858793; prove the code is on the wire."""
    srv = lab_server(auth="basic", faults=LabFaults(timeout_faults=1))
    p = session_for(srv, pki, transport="basic").protocol
    shell = p.open_shell()
    cid = p.run_command(shell, "ipconfig")
    with pytest.raises(winrm.exceptions.WinRMOperationTimeoutError):
        p.get_command_output_raw(shell, cid)
    out, _, code, done = p.get_command_output_raw(shell, cid)
    assert done
    assert code == 0
    assert b"ipconfig" in out
    p.cleanup_command(shell, cid)
    p.close_shell(shell)


def test_http_details(lab_server):
    """Content-Length on every reply, keep-alive across a 401, TCP_NODELAY timing."""
    srv = lab_server(auth="ntlm")
    with socket.create_connection(srv.address, timeout=3) as s:
        for _ in range(2):
            s.sendall(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(4096)
            head = data.split(b"\r\n\r\n")[0].decode()
            assert head.startswith("HTTP/1.1 401")
            assert "Content-Length: 0" in head
            assert "WWW-Authenticate: Negotiate" in head
    assert srv.counters().requests == 2


def test_stop_closes_idle_keepalive_connections(lab_server, pki):
    srv = lab_server(auth="basic")
    p = session_for(srv, pki, transport="basic").protocol
    shell = p.open_shell()  # the pooled connection stays open and idle
    assert any(t.name.endswith("-conn") for t in lab_threads())
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 2
    assert not lab_threads()
    with pytest.raises(requests.exceptions.ConnectionError):
        p.close_shell(shell)


def test_concurrent_sessions(lab_server, pki):
    import concurrent.futures

    handler = EchoHandler()
    srv = lab_server(auth="ntlm", handler=handler)

    def work(i: int) -> bytes:
        s = session_for(srv, pki, transport="ntlm")
        return b"".join(s.run_ps(f"t{i}-{k}").std_out for k in range(3))

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(work, range(4)))
    assert all(f"t{i}-2".encode() in o for i, o in enumerate(outs))
    c = srv.counters()
    assert c.commands_run == 12
    assert c.shells_open == 0
    assert c.encrypted_replies == 60


def test_password_never_in_users_file_of_other_process(lab_server):
    """The NTLM users file is private to this process (0600) and named by NTLM_USER_FILE."""
    import os
    import stat

    lab_server(auth="ntlm")
    path = os.environ["NTLM_USER_FILE"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    from pathlib import Path

    assert f":{USER}:{PASSWORD}" in Path(path).read_text(encoding="utf-8")


def test_environment_variable_limit(lab_server, pki):
    srv = lab_server(auth="basic")
    p = session_for(srv, pki, transport="basic").protocol
    shell = p.open_shell(env_vars={"AUDIT_REQUEST": "x" * 32767})
    p.close_shell(shell, close_session=False)
    with pytest.raises(WSManFaultError) as exc:
        p.open_shell(env_vars={"AUDIT_REQUEST": "x" * 32768})
    assert "limit is 32767" in exc.value.reason
    p.transport.close_session()
    assert srv.counters().shells_open == 0


def test_request_over_server_envelope_limit(lab_server, pki):
    srv = lab_server(auth="basic")
    p = session_for(srv, pki, transport="basic").protocol
    with pytest.raises(WSManFaultError) as exc:
        p.open_shell(env_vars={f"V{i}": "x" * 30000 for i in range(20)})
    assert exc.value.fault_subcode == "w:EncodingLimit"
    p.transport.close_session()
