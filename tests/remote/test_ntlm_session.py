"""The NTLM connection's HTTP session (auditor.remote.ntlm_session): the lean WinRMSession
prepares the same request requests.Session prepares, and pywinrm's NTLM transport gets it.
The wire behaviour (7 requests per node, every message sealed) is checked against the lab in
tests/perf/test_perf_structure.py and tests/remote/test_remote_e2e.py."""

from __future__ import annotations

import pytest
import requests
from winrm.protocol import Protocol

from auditor.remote.ntlm_session import PreemptiveNtlmAuth, WinRMSession, prepare_ntlm_session

URL = "http://node1.example:5985/wsman"
HEADERS = {"Content-Type": "application/soap+xml;charset=UTF-8", "User-Agent": "Python WinRM client"}


def _prepared(session: requests.Session, data: bytes | None) -> requests.PreparedRequest:
    session.headers.update(HEADERS)
    return session.prepare_request(requests.Request("POST", URL, data=data))


@pytest.mark.parametrize("data", [None, b"<s:Envelope>\xc3\xa9</s:Envelope>"], ids=["empty-post", "message"])
def test_prepares_what_requests_session_prepares(data):
    plain = requests.Session()
    plain.trust_env = False
    expected = _prepared(plain, data)
    lean = _prepared(WinRMSession(), data)
    assert (lean.method, lean.url, lean.body) == (expected.method, expected.url, expected.body)
    assert dict(lean.headers) == dict(expected.headers)


def test_the_session_auth_runs_on_every_request():
    session = WinRMSession()
    session.auth = PreemptiveNtlmAuth("auditor", "pw")
    first = _prepared(session, None)
    second = _prepared(session, b"<x/>")
    assert first.headers["Authorization"].startswith("Negotiate ")  # the pre-emptive NEGOTIATE
    assert "Authorization" not in second.headers  # the connection is authenticated by then
    assert second.hooks["response"] == [session.auth.response_hook]


def test_ntlm_transport_gets_the_lean_session():
    p = Protocol("https://node1.example:5986/wsman", transport="ntlm", username="auditor", password="pw")
    prepare_ntlm_session(p.transport)
    assert isinstance(p.transport.session, WinRMSession)
