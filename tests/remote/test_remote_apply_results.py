"""Apply answers decoded once into typed results (auditor/remote/apply_results.py), from the
lab executor's real protocol output; a malformed answer is a protocol failure naming the place."""

from __future__ import annotations

import copy
import hashlib

import pytest

from auditor.remote import RemoteError, build_apply_request
from auditor.remote.apply_results import (
    CheckInstallersResult,
    RestartServiceResult,
    RestoreFileResult,
    RunningProcess,
    SetServiceAccountResult,
    WriteFileResult,
    decode_apply_response,
)
from auditor.remote.protocol import (
    check_installers_op,
    restart_service_op,
    restore_file_op,
    set_service_account_op,
    write_file_op,
)
from auditor.vocab import OpStatus
from tests.remote.remote_helpers import copy_scenario, entry, respond

SPOC = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"


@pytest.fixture
def drift(tmp_path):
    return copy_scenario(tmp_path)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_apply_op_answer_becomes_its_typed_result(drift):
    spoc_file = entry(drift, "SITE1")[1] / "files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf"
    old = spoc_file.read_bytes()
    new = old + b"# edited\r\n"
    request = build_apply_request([
        check_installers_op(["ysq-*install*"]),
        write_file_op(SPOC, new, _sha(old)),
        restart_service_op("YSoftSQ-SPOC", 30),
        set_service_account_op("YSoftImsProxy", "CORP\\svc-paragon", None),
    ])
    installers, write, restart, account = decode_apply_response("SITE1", respond(drift, "SITE1", request), request)
    assert isinstance(installers, CheckInstallersResult)
    assert installers.running == ()
    assert isinstance(write, WriteFileResult)
    assert write.ok
    assert write.sha256 == _sha(new)
    assert write.previous_sha256 == _sha(old)
    assert write.backup_path is not None
    assert write.backup_path.endswith(".paragon-auditor.bak")
    assert isinstance(restart, RestartServiceResult)
    assert restart.state == "Running"
    assert isinstance(account, SetServiceAccountResult)
    assert account.account == "CORP\\svc-paragon"
    undo = build_apply_request([restore_file_op(SPOC, write.backup_path, _sha(new))])
    (restore,) = decode_apply_response("SITE1", respond(drift, "SITE1", undo), undo)
    assert isinstance(restore, RestoreFileResult)
    assert restore.sha256 == _sha(old)


def test_a_refused_op_carries_the_node_error_and_the_rest_are_skipped(drift):
    request = build_apply_request([check_installers_op(["ysq-*install*"]), restart_service_op("YSoftSQ-SPOC")])
    answer = respond(drift, "SITE1", request, faults={"installer_running": True})
    installers, restart = decode_apply_response("SITE1", answer, request)
    assert installers.status is OpStatus.FAILED
    assert "installer running: ysq-management-server-install-6.0.113.exe (pid 4242)" in installers.problem
    assert restart.status is OpStatus.SKIPPED
    assert not restart.ok
    assert str(RunningProcess("setup.exe", 7)) == "setup.exe (pid 7)"


def test_a_malformed_answer_is_a_protocol_failure_naming_the_place(drift):
    request = build_apply_request([write_file_op("C:\\DispatcherParagon\\SPOC\\conf\\modules\\new.conf", b"x", None)])
    answer = respond(drift, "SITE1", request)
    bad = copy.deepcopy(answer)
    bad["results"][0]["data"]["backup_path"] = 5
    with pytest.raises(RemoteError) as exc:
        decode_apply_response("SITE1", bad, request)
    assert exc.value.kind == "protocol"
    assert "results[0] (0:write_file).data.backup_path: expected string or null, got int" in exc.value.message
    missing = copy.deepcopy(answer)
    del missing["results"][0]["data"]["sha256"]
    with pytest.raises(RemoteError, match=r"missing \['sha256'\]"):
        decode_apply_response("SITE1", missing, request)
