"""End to end with real pywinrm against the lab WinRM endpoints: ``execute()`` over NTLM with
message encryption (HTTP) and NTLM over HTTPS with the lab CA, every failure kind, and apply
requests that change the served node folder."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.lab.cluster import LabCluster
from auditor.lab.executor import make_handler
from auditor.nodefolder import load_node
from auditor.profile import load_profile
from auditor.remote import (
    RemoteError,
    Target,
    build_apply_request,
    build_collect_request,
    execute,
    node_state_from_response,
    restart_service_op,
    set_service_account_op,
    write_file_op,
)
from auditor.remote import client as client_mod
from auditor.remote.protocol import CheckedResponse
from auditor.vocab import NodeStatus
from tests.remote.remote_helpers import SCENARIOS

pytestmark = pytest.mark.timeout(90)
PW = "Rx-9937-remote-e2e!"  # test-only password for 127.0.0.1 listeners
SPOC = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Callable[..., LabCluster]]:
    """``lab(scheme="http", faults={...})`` -> a started cluster on a tmp copy of drift (stopped at teardown)."""
    started: list[LabCluster] = []

    def make(scheme: str = "http", faults: dict | None = None, scenario: str = "drift") -> LabCluster:
        n = len(started)
        cluster = LabCluster(SCENARIOS / scenario, handler_factory=make_handler, scheme=scheme, password=PW,
                             workdir=tmp_path / f"lab-{n}", faults=faults)
        started.append(cluster)
        return cluster.start()

    yield make
    for c in started:
        c.stop()


def target(cluster: LabCluster, node: str, **kw) -> Target:
    opts = dict(name=node, host="127.0.0.1", port=cluster.endpoints[node][1], scheme=cluster.scheme,
                transport="ntlm", username=cluster.username, password=PW,
                ca_file=str(cluster.ca_file) if cluster.ca_file else None,
                connect_timeout=5, read_timeout=10, operation_timeout=5, deadline=30)
    opts.update(kw)
    return Target(**opts)


@pytest.fixture(scope="module")
def request_() -> dict:
    return build_collect_request(load_profile())


def _same_as_scenario(cluster: LabCluster, node: str, state) -> None:
    original = load_node(cluster.node(node).node_dir)
    for key, f in original.files.items():
        if "pgsql-data" not in key:
            assert state.files[key].content == f.content
            assert state.files[key].mtime == f.mtime
    assert state.services == original.services
    assert state.hostname == original.hostname


def test_ntlm_with_message_encryption_over_http(lab, request_):
    cluster = lab("http")
    t0 = time.perf_counter()
    resp = execute(target(cluster, "MGMT1"), request_)
    elapsed = time.perf_counter() - t0
    assert isinstance(resp, CheckedResponse)  # checked against the request: not checked again by the decoder
    state = node_state_from_response("MGMT1", resp, expect_hostname="MGMT1")
    assert state.status is NodeStatus.OK, state.reason
    _same_as_scenario(cluster, "MGMT1", state)
    assert state.probe("\\\\fs01.corp.example\\paragon\\ims-repository").exists
    srv = cluster.server("MGMT1")
    c = srv.counters()
    assert c.encrypted_requests >= 5
    assert c.encrypted_replies >= 5  # really sealed, not plaintext
    assert c.commands_run == 1
    assert c.shells_open == 0  # ONE command, shell closed
    print(f"\ncollect MGMT1 over NTLM+encryption/HTTP: {elapsed * 1000:.0f} ms")


def test_ntlm_pre_emptive_negotiate_and_classic_fallback(lab, request_):
    """The empty POST that sets up encryption carries the NTLM NEGOTIATE (no anonymous 401);
    a listener that ignores that token gets the classic three-step exchange instead."""
    cluster = lab("http", faults={"SITE1": {"challenge_first": True}})
    for node in ("MGMT1", "SITE1"):
        state = node_state_from_response(node, execute(target(cluster, node), request_), expect_hostname=node)
        assert state.status is NodeStatus.OK, state.reason
    pre_emptive = cluster.server("MGMT1").counters()
    classic = cluster.server("SITE1").counters()
    assert pre_emptive.status == {401: 1, 200: 6}
    assert classic.status == {401: 2, 200: 6}
    assert classic.encrypted_replies == 5
    assert classic.auth_failures == 0


def test_ntlm_over_https_with_ca_file_all_nodes(lab, request_):
    cluster = lab("https")
    for node in ("MGMT1", "MGMT2", "SITE1", "SITE2"):
        t0 = time.perf_counter()
        resp = execute(target(cluster, node), request_)
        elapsed = time.perf_counter() - t0
        state = node_state_from_response(node, resp)
        assert state.status is NodeStatus.OK
        _same_as_scenario(cluster, node, state)
        assert cluster.server(node).counters().shells_open == 0
        print(f"\ncollect {node} over NTLM/HTTPS: {elapsed * 1000:.0f} ms")


def test_failure_kinds(lab, request_):
    cluster = lab("https", faults={
        "MGMT1": {"garbage_output": True}, "MGMT2": {"truncated_output": True},
        "SITE1": {"huge_output": 2_000_000, "timeout_faults": 2}, "SITE2": {"refuse": True},
    })

    def kind_of(node: str, **kw) -> RemoteError:
        with pytest.raises(RemoteError) as ei:
            execute(target(cluster, node, **kw), request_)
        return ei.value

    e = kind_of("MGMT1", password="wrong-password")
    assert e.kind == "auth"
    assert e.message.startswith("authentication failed for auditor (NTLM) at 127.0.0.1:")
    assert "wrong-password" not in e.message
    e = kind_of("MGMT1")
    assert e.kind == "protocol"
    assert "no 'PARAGON-AUDITOR/1' line" in e.message
    e = kind_of("MGMT2")
    assert e.kind == "protocol"
    assert "truncated output?" in e.message
    e = kind_of("SITE1", max_output_bytes=500_000)
    assert e.kind == "too_large"
    assert "exceeded 500000 bytes" in e.message
    assert cluster.server("SITE1").counters().shells_open == 0  # closed even after giving up
    big = execute(target(cluster, "SITE1"), request_)  # 2 MB of noise + 2 timeout faults: still fine
    assert node_state_from_response("SITE1", big).status is NodeStatus.OK
    e = kind_of("SITE2")
    assert e.kind == "refused"
    assert e.message == f"connection refused at 127.0.0.1:{cluster.endpoints['SITE2'][1]}"
    e = kind_of("MGMT1", ca_file=None)
    assert e.kind == "tls"
    assert e.message.startswith("certificate verify failed:")
    assert "give the CA that signed the listener's certificate as ca_file in the inventory" in e.message


def test_http_unencrypted_and_tls_untrusted(lab, request_):
    cluster = lab("https", faults={"MGMT2": {"untrusted_cert": True}, "SITE1": {"delay_seconds": 3}})
    with pytest.raises(RemoteError) as ei:
        execute(target(cluster, "MGMT2"), request_)
    assert ei.value.kind == "tls"
    assert "certificate verify failed" in ei.value.message
    assert "does not hold the CA that signed this listener's certificate" in ei.value.message
    with pytest.raises(RemoteError) as ei:
        execute(target(cluster, "SITE1", read_timeout=2, operation_timeout=1), request_)
    assert ei.value.kind == "timeout"
    assert "127.0.0.1" in ei.value.message
    # verify=False accepts the untrusted certificate (documented as unsafe)
    assert execute(target(cluster, "MGMT2", verify=False), request_)["hostname"] == "MGMT2"


def test_executor_failure_is_remote_with_clean_text(lab, request_, monkeypatch):
    cluster = lab("http")
    real = client_mod.bootstrap.shell_env

    def tampered(request_json, secrets=None):
        env = real(request_json, secrets)
        env["PA_X0"] = client_mod.bootstrap.pack("Write-Output 'not the executor'")
        return env

    monkeypatch.setattr(client_mod.bootstrap, "shell_env", tampered)
    monkeypatch.setattr(client_mod, "_PREPARED", {})  # a request packed by an earlier test would skip it
    with pytest.raises(RemoteError) as ei:
        execute(target(cluster, "MGMT1"), request_)
    assert ei.value.kind == "remote"
    assert "failed with exit code 1: lab: the executor sent" in ei.value.message
    assert "CLIXML" not in ei.value.message
    assert "_x000D_" not in ei.value.message


def test_apply_over_winrm_changes_the_node_and_recollect_sees_it(lab, request_):
    cluster = lab("http")
    t = target(cluster, "SITE1")
    before = node_state_from_response("SITE1", execute(t, request_))
    old = before.file(SPOC).content
    new = old.replace(b"maxJobSizeMB=2048", b"maxJobSizeMB=1024")
    req = build_apply_request([
        write_file_op(SPOC, new, hashlib.sha256(old).hexdigest()),
        set_service_account_op("YSoftImsProxy", "CORP\\svc-proxy", "PA_S_PROXY"),
        restart_service_op("YSoftSQ-SPOC", 30),
    ])
    secret = "Zz-proxy-Secret-77"
    resp = execute(t, req, secrets={"PA_S_PROXY": secret})
    assert [r["status"] for r in resp["results"]] == ["ok", "ok", "ok"], resp["results"]
    after = node_state_from_response("SITE1", execute(t, request_))
    assert after.file(SPOC).content == new
    assert after.file(SPOC).mtime != before.file(SPOC).mtime
    assert after.service("YSoftImsProxy").account == "CORP\\svc-proxy"
    assert after.service("YSoftSQ-SPOC").start_time != before.service("YSoftSQ-SPOC").start_time
    node_json = (cluster.node("SITE1").node_dir / "node.json").read_text()
    assert secret not in node_json
    # the collection runner's form: values to keep out of messages, nothing sent
    with pytest.raises(RemoteError) as ei:
        execute(target(cluster, "SITE1", password="wrong-" + secret), request_, secrets=[secret])
    assert ei.value.kind == "auth"
    assert secret not in ei.value.message
    # a secret that is not a PA_S_ variable is refused before anything is sent
    with pytest.raises(ValueError, match="secret variable names"):
        execute(t, req, secrets={"PASSWORD": secret})
