"""The lab executor: every op against a (copied) scenario node, apply ops that really change the
node folder, faults, loud failures for anything it cannot interpret, and the round trip
node folder -> response -> NodeState -> node folder."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.lab.executor import FAULTS, NAIVE_COMMANDS, make_handler
from auditor.nodefolder import load_node, save_node
from auditor.nodestate import path_key
from auditor.profile import load_profile
from auditor.remote import (
    RemoteError,
    bootstrap,
    build_apply_request,
    build_collect_request,
    check_installers_op,
    node_state_from_response,
    restart_service_op,
    restore_file_op,
    set_service_account_op,
    write_file_op,
)
from auditor.remote.protocol import encode_output, parse_output, response_json
from auditor.vocab import NodeStatus
from tests.remote.remote_helpers import copy_scenario, encoded, entry, respond, result, run_request, shell

pytestmark = pytest.mark.timeout(60)

SPOC = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"


@pytest.fixture
def drift(tmp_path: Path) -> Path:
    return copy_scenario(tmp_path)


@pytest.fixture(scope="module")
def collect_req() -> dict:
    return build_collect_request(load_profile(), request_id="req-1")


def test_collect_every_op_on_a_management_node(drift, collect_req):
    resp = respond(drift, "MGMT1", collect_req)
    assert resp["protocol"] == 1
    assert resp["kind"] == "collect"
    assert resp["request_id"] == "req-1"
    assert resp["hostname"] == "MGMT1"
    assert [r["id"] for r in resp["results"]] == [op["id"] for op in collect_req["ops"]]
    assert all(r["status"] == "ok" for r in resp["results"]), [r for r in resp["results"] if r["status"] != "ok"]

    facts = result(resp, "facts")["data"]
    assert facts["hostname"] == "MGMT1"
    assert facts["fqdn"] == "mgmt1.corp.example"
    assert facts["os"]["build"] == "20348"
    assert facts["dotnet_release"] == 528449
    assert facts["environment"] == {"SAFEQ_HOME": "C:\\DispatcherParagon\\Management"}
    assert facts["interfaces"] == [{"name": "Ethernet0", "ipv4": ["10.0.10.11"]}]

    services = {s["name"]: s for s in result(resp, "services")["data"]["services"]}
    assert services["YSoftSQ-SPOCGS"]["state"] == "Stopped"
    assert services["YSoftSQ-SPOCGS"]["pid"] is None
    assert services["YSoftIms"]["account"] == "CORP\\svc-paragon"
    assert list(services["YSoftPGSQL"]) == ["name", "display_name", "state", "start_mode", "account",
                                            "image_path", "start_time", "pid"]
    assert result(resp, "processes")["data"] == {"processes": []}
    assert result(resp, "ports")["data"]["ports"] == [{"address": "0.0.0.0", "port": 443, "pid": 1000},
                                                      {"address": "0.0.0.0", "port": 5433, "pid": 1200},
                                                      {"address": "0.0.0.0", "port": 6010, "pid": 1000}]
    reg = result(resp, "registry")["data"]["keys"]
    assert list(reg) == ["HKLM\\SOFTWARE\\WOW6432Node\\Y Soft Corporation\\YSoft SafeQ 6"]

    files = result(resp, "files:management")["data"]
    assert files["service"] == "YSoftSQ-Management"
    assert files["install_dir"] == "C:\\DispatcherParagon\\Management"  # "\tomcat\bin" stripped
    paths = [f["path"] for f in files["files"]]
    assert paths == ["C:\\DispatcherParagon\\Management\\conf\\management.properties",
                     "C:\\DispatcherParagon\\Management\\ims\\application.properties",
                     "C:\\DispatcherParagon\\Management\\management-server-install.log"]
    f0 = files["files"][0]
    assert f0["exists"]
    assert f0["mtime"] == "2026-10-01T08:00:00Z"
    assert not f0["truncated"]
    assert f0["error"] is None
    on_disk = (drift / "mgmt1/files/c/DispatcherParagon/Management/conf/management.properties").read_bytes()
    assert base64.b64decode(f0["content_b64"]) == on_disk
    assert f0["size"] == len(on_disk)

    spoc = result(resp, "files:spooler_controller")["data"]
    assert spoc["install_dir"] == "C:\\DispatcherParagon\\SPOC"  # from a quoted ImagePath with arguments

    probe = result(resp, "probe:management")["data"]["probes"]
    assert probe == [{"path": "C:\\DispatcherParagon\\Management\\PGSQL-data", "exists": True, "is_dir": True,
                      "error": None}]
    prop = result(resp, "probe_property:management:repository.path")["data"]
    assert prop["found"]
    assert prop["value"] == "\\\\fs01.corp.example\\paragon\\ims-repository"  # unescaped
    assert prop["probe"] == {"path": prop["value"], "exists": True, "is_dir": True, "error": None}


def test_site_node_and_missing_subsystems(drift, collect_req):
    resp = respond(drift, "SITE2", collect_req)
    mg = result(resp, "files:management")["data"]
    assert mg == {"subsystem": "management", "service": None, "install_dir": None, "files": []}
    assert result(resp, "probe_property:management:repository.path")["data"]["found"] is False
    wps = result(resp, "files:workflow_processing")["data"]
    assert wps["files"] == []


def test_probe_property_reads_and_probes_what_java_reads(drift, collect_req):
    """Single backslashes are escapes for Java: the value reported (and probed) is what the
    service reads, not the share declared reachable; a file Java cannot load is not found."""
    ims = drift / "mgmt1/files/c/DispatcherParagon/Management/ims/application.properties"
    ims.write_bytes(b"repository.path=\\\\fs01.corp.example\\paragon\\ims-repository\r\n")
    prop = result(respond(drift, "MGMT1", collect_req), "probe_property:management:repository.path")["data"]
    assert prop["value"] == "\\fs01.corp.exampleparagonims-repository"
    assert prop["probe"] is None
    ims.write_bytes(b"repository.path=\\\\\\\\fs01\\\\r\r\nbroken=\\u12G4\r\n")
    prop = result(respond(drift, "MGMT1", collect_req), "probe_property:management:repository.path")["data"]
    assert prop["found"] is False


def test_missing_file_and_drive_d_node(tmp_path, collect_req):
    healthy = copy_scenario(tmp_path, "healthy")
    (healthy / "site2/files/d/SafeQ6/SPOC/conf/remoteConfImg.xml").unlink()
    resp = respond(healthy, "SITE2", collect_req)
    spoc = result(resp, "files:spooler_controller")["data"]
    assert spoc["install_dir"] == "D:\\SafeQ6\\SPOC"
    missing = [f for f in spoc["files"] if not f["exists"]]
    assert missing == [{"path": "D:\\SafeQ6\\SPOC\\conf\\remoteConfImg.xml", "exists": False, "mtime": None,
                        "size": None, "content_b64": None, "truncated": False, "error": None}]
    st = node_state_from_response("SITE2", resp)
    assert st.file("d:\\safeq6\\spoc\\conf\\REMOTECONFIMG.xml").exists is False


def test_truncation_and_case_insensitive_paths(drift):
    req = build_collect_request(load_profile(), request_id="r")
    for op in req["ops"]:
        if op["op"] == "files":
            for f in op["files"]:
                f["max_bytes"] = 10
                f["path"] = f["path"].upper()
    resp = respond(drift, "MGMT1", req)
    f = result(resp, "files:spooler_controller")["data"]["files"][0]
    assert f["path"] == "C:\\DispatcherParagon\\SPOC\\CONF\\MODULES\\spoc.conf"  # dir as asked, name as on disk
    assert f["truncated"]
    assert len(base64.b64decode(f["content_b64"])) == 10
    assert f["size"] > 10
    st = node_state_from_response("MGMT1", resp)
    entry_ = st.file(SPOC)
    assert entry_.truncated
    assert entry_.error == "truncated at 10 bytes"


def test_round_trip_node_folder_response_nodestate_folder(drift, tmp_path, collect_req):
    """collect(scenario) -> save -> serve the snapshot -> collect -> save: identical data."""
    for node in ("MGMT1", "MGMT2", "SITE1", "SITE2"):
        original = load_node(entry(drift, node)[1])
        first = node_state_from_response(node, respond(drift, node, collect_req))
        # everything the scenario has that the profile asks for came back unchanged
        for key, f in original.files.items():
            if "pgsql-data" in key:
                continue  # only probed, not collected
            got = first.files[key]
            assert (got.path, got.content, got.mtime, got.exists) == (f.path, f.content, f.mtime, True)
        for key, p in first.probes.items():  # declared probes the request did not ask for stay behind
            assert original.probes.get(key, p) == p
        if node == "MGMT1":
            assert first.probe("\\\\fs01.corp.example\\paragon\\ims-repository").exists
        assert [s.name for s in first.services] == [s.name for s in original.services]
        assert first.services == original.services
        assert (first.os, first.hostname, first.fqdn, first.registry, first.environment) == \
            (original.os, original.hostname, original.fqdn, original.registry, original.environment)

        snap1 = tmp_path / "snap1" / node.lower()
        save_node(first, snap1)
        snap_entry = entry(drift, node)[0]
        env = bootstrap.shell_env(response_json(collect_req))
        res = make_handler(snap_entry, snap1).run(shell(env), bootstrap.command_line(), [], False)
        second = node_state_from_response(node, parse_output(res.stdout.encode()))
        first.collected_at = second.collected_at = None
        assert second == first
        snap2 = tmp_path / "snap2" / node.lower()
        save_node(second, snap2)
        save_node(first, snap1)
        assert (snap2 / "node.json").read_bytes() == (snap1 / "node.json").read_bytes()
        files1 = sorted(p.relative_to(snap1) for p in snap1.rglob("*") if p.is_file())
        files2 = sorted(p.relative_to(snap2) for p in snap2.rglob("*") if p.is_file())
        assert files1 == files2
        for rel in files1:
            assert (snap1 / rel).read_bytes() == (snap2 / rel).read_bytes()


def test_output_format_is_one_ascii_line(drift, collect_req):
    res = run_request(drift, "MGMT1", collect_req)
    assert res.stdout.startswith("PARAGON-AUDITOR/1 ")
    assert res.stdout.endswith("\n")
    assert res.stdout.count("\n") == 1
    assert res.stdout.isascii()
    resp = parse_output(res.stdout.encode())
    # the exact bytes executor.ps1 writes: compact ASCII JSON, base64, CRLF
    assert encode_output(resp).replace("\r\n", "\n") == res.stdout


# ---- apply ops --------------------------------------------------------------------------------

def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_write_restore_restart_account_installers(drift):
    node_dir = entry(drift, "SITE1")[1]
    spoc_file = node_dir / "files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf"
    old = spoc_file.read_bytes()
    new = old.replace(b"maxJobSizeMB=2048", b"maxJobSizeMB=4096")
    req = build_apply_request([
        check_installers_op(["ysq-*install*"]),
        write_file_op(SPOC.lower(), new, _sha(old)),
        restart_service_op("YSoftSQ-SPOC", 30),
        set_service_account_op("YSoftImsProxy", "CORP\\svc-paragon", "PA_S_PW"),
    ])
    resp = respond(drift, "SITE1", req, secrets={"PA_S_PW": "S3cret-not-stored"})
    assert [r["status"] for r in resp["results"]] == ["ok", "ok", "ok", "ok"], resp["results"]
    w = resp["results"][1]["data"]
    assert spoc_file.read_bytes() == new
    assert w["sha256"] == _sha(new)
    assert w["previous_sha256"] == _sha(old)
    assert w["backup_path"].startswith(SPOC.lower() + ".")
    assert w["backup_path"].endswith(".paragon-auditor.bak")
    backups = list(spoc_file.parent.glob("spoc.conf.*.paragon-auditor.bak"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == old
    data = json.loads((node_dir / "node.json").read_text())
    times = {path_key(k): v for k, v in data["file_times"].items()}
    assert times[path_key(SPOC)] == w["mtime"] != "2026-10-01T08:00:00Z"
    assert times[path_key(w["backup_path"])] == "2026-10-01T08:00:00Z"  # a copy keeps the mtime
    svc = {s["name"]: s for s in data["services"]}
    r = resp["results"][2]["data"]
    assert r["state"] == "Running"
    assert svc["YSoftSQ-SPOC"]["start_time"] == r["start_time"] != "2026-11-20T02:00:00Z"
    assert svc["YSoftSQ-SPOC"]["pid"] == r["pid"]
    assert svc["YSoftImsProxy"]["account"] == "CORP\\svc-paragon"
    assert "S3cret" not in (node_dir / "node.json").read_text()

    # stale plan: the file changed since it was read -> refused, later ops skipped
    again = build_apply_request([write_file_op(SPOC, b"x", _sha(old)), restart_service_op("YSoftSQ-SPOC")])
    resp2 = respond(drift, "SITE1", again)
    assert [r["status"] for r in resp2["results"]] == ["failed", "skipped"]
    assert "changed since it was read" in resp2["results"][0]["error"]
    assert spoc_file.read_bytes() == new

    # restore from the backup (atomically), guarded by the content we wrote
    resp3 = respond(drift, "SITE1", build_apply_request([restore_file_op(SPOC, w["backup_path"], _sha(new))]))
    assert resp3["results"][0]["status"] == "ok"
    assert spoc_file.read_bytes() == old
    assert resp3["results"][0]["data"]["mtime"] == "2026-10-01T08:00:00Z"
    collected = node_state_from_response("SITE1", respond(drift, "SITE1", build_collect_request(load_profile())))
    assert collected.file(SPOC).content == old


def test_write_new_file_backup_dir_and_refusals(drift):
    node_dir = entry(drift, "MGMT2")[1]
    newfile = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\extra.conf"
    resp = respond(drift, "MGMT2", build_apply_request([write_file_op(newfile, b"a=1\r\n", None)]))
    assert resp["results"][0]["status"] == "ok"
    assert resp["results"][0]["data"]["backup_path"] is None
    assert (node_dir / "files/c/DispatcherParagon/SPOC/conf/modules/extra.conf").read_bytes() == b"a=1\r\n"
    # exists now: a plan that expects no file is refused
    resp = respond(drift, "MGMT2", build_apply_request([write_file_op(newfile, b"b", None)]))
    assert "exists but the plan expected none" in resp["results"][0]["error"]
    # backup into another folder
    resp = respond(drift, "MGMT2", build_apply_request(
        [write_file_op(newfile, b"b=2\r\n", _sha(b"a=1\r\n"), backup_dir="C:\\ParagonBackups\\run1")]))
    bk = resp["results"][0]["data"]["backup_path"]
    assert bk.startswith("C:\\ParagonBackups\\run1\\extra.conf.")
    assert list((node_dir / "files/c/ParagonBackups/run1").iterdir())[0].read_bytes() == b"a=1\r\n"
    # a folder that does not exist
    resp = respond(drift, "MGMT2", build_apply_request([write_file_op("C:\\Nope\\x.conf", b"x", None)]))
    assert resp["results"][0]["error"] == "folder C:\\Nope does not exist"


def test_apply_faults_service_start_fail_installer_and_missing_password(drift):
    faults = {"service_start_fail": ["YSoftSQ-SPOC"], "installer_running": True}
    resp = respond(drift, "SITE1", build_apply_request([restart_service_op("YSoftSQ-SPOC", 5)]), faults=faults)
    r = resp["results"][0]
    assert r["status"] == "failed"
    assert r["error"] == "service YSoftSQ-SPOC did not reach Running within 5 s (state: Stopped)"
    data = json.loads((entry(drift, "SITE1")[1] / "node.json").read_text())
    spoc = next(s for s in data["services"] if s["name"] == "YSoftSQ-SPOC")
    assert spoc["state"] == "Stopped"
    assert spoc["pid"] is None
    assert spoc["start_time"] is None

    resp = respond(drift, "SITE1", build_apply_request([check_installers_op(list(load_profile().installer_processes)),
                                                        restart_service_op("YSoftImsProxy")]), faults=faults)
    assert [r["status"] for r in resp["results"]] == ["failed", "skipped"]
    assert resp["results"][0]["error"].startswith("installer running: ysq-management-server-install-6.0.113.exe (pid 4242)")
    col = respond(drift, "SITE1", build_collect_request(load_profile()), faults=faults)
    assert [p["name"] for p in result(col, "processes")["data"]["processes"]] == ["ysq-management-server-install-6.0.113.exe"]

    resp = respond(drift, "SITE1", build_apply_request([set_service_account_op("YSoftImsProxy", "CORP\\x", "PA_S_MISSING"),
                                                        restart_service_op("NoSuchService")]))
    assert resp["results"][0]["error"] == "password variable PA_S_MISSING is not set in the shell"
    resp = respond(drift, "SITE1", build_apply_request([restart_service_op("NoSuchService")]))
    assert resp["results"][0]["error"] == "service NoSuchService not found"


def test_output_faults_and_wrong_hostname(drift, collect_req):
    garbage = run_request(drift, "SITE1", collect_req, faults={"garbage_output": True})
    assert garbage.exit_code == 0
    assert "PARAGON-AUDITOR" not in garbage.stdout
    trunc = run_request(drift, "SITE1", collect_req, faults={"truncated_output": True})
    assert trunc.stdout.startswith("PARAGON-AUDITOR/1 ")
    assert not trunc.stdout.endswith("\n")
    huge = run_request(drift, "SITE1", collect_req, faults={"huge_output": 300_000})
    assert len(huge.stdout) > 300_000
    assert parse_output(huge.stdout.encode())["kind"] == "collect"
    resp = respond(drift, "SITE1", collect_req, faults={"wrong_hostname": "SITE9"})
    assert resp["hostname"] == "SITE9"
    assert result(resp, "facts")["data"]["fqdn"] == "site9.corp.example"
    with pytest.raises(RemoteError) as ei:
        node_state_from_response("SITE1", resp, expect_hostname="SITE1")
    assert ei.value.kind == "protocol"
    assert "answered as 'SITE9'" in ei.value.message
    resp = respond(drift, "SITE1", collect_req, faults={"op_errors": {"registry": "Access is denied."}})
    st = node_state_from_response("SITE1", resp)
    assert st.status is NodeStatus.ERROR
    assert st.reason == "collection incomplete: registry: Access is denied."
    assert st.services  # the other ops still delivered
    assert set(FAULTS) >= {"garbage_output", "truncated_output", "huge_output", "wrong_hostname",
                           "service_start_fail", "installer_running"}


# ---- loud failures ----------------------------------------------------------------------------

def _run_raw(drift: Path, env: dict, command_line: str, arguments: list[str] | None = None):
    e, d = entry(drift, "MGMT1")
    return make_handler(e, d).run(shell(env), command_line, arguments or [], False)


def test_unknown_scripts_ops_versions_fail_loudly(drift, collect_req):
    env = bootstrap.shell_env(response_json(collect_req))
    cases = [
        (encoded("Get-Process"), "unrecognised script"),
        (encoded(bootstrap.bootstrap_script() + " "), "unrecognised script"),
        ("cmd /c dir", "cannot interpret command line"),
        ("powershell -EncodedCommand !!!", "cannot interpret command line"),
    ]
    for line, text in cases:
        res = _run_raw(drift, env, line)
        assert res.exit_code == 1
        assert text in res.error
        assert res.stdout == ""
    res = _run_raw(drift, env, bootstrap.command_line(), ["extra"])
    assert res.exit_code == 1
    assert "unexpected command arguments" in res.error

    tampered = dict(env)
    tampered["PA_X0"] = bootstrap.pack(bootstrap.executor_script() + "\n# changed")
    res = _run_raw(drift, tampered, bootstrap.command_line())
    assert res.exit_code == 1
    assert "is not the shipped executor.ps1" in res.error
    res = _run_raw(drift, {k: v for k, v in env.items() if not k.startswith("PA_R")}, bootstrap.command_line())
    assert res.exit_code == 1
    assert "PA_R0 is missing" in res.error

    def with_request(req: dict) -> str:
        e = dict(env)
        e["PA_R0"] = bootstrap.pack(json.dumps(req))
        res = _run_raw(drift, e, bootstrap.command_line())
        assert res.exit_code == 1
        assert res.stdout == ""
        return res.error

    assert "unsupported protocol version 2" in with_request(dict(collect_req, protocol=2))
    assert "unknown op 'format_disk'" in with_request(dict(collect_req, ops=[{"op": "format_disk", "id": "x"}]))
    assert "unknown op 'write_file' for a collect request" in with_request(
        dict(collect_req, ops=[dict(write_file_op("C:\\a.txt", b"", None), id="w")]))
    assert "unexpected field(s) ['bogus']" in with_request(dict(collect_req, ops=[{"op": "ports", "id": "p", "bogus": 1}]))
    e = dict(env)
    e["PA_R0"] = bootstrap.pack("{not json")
    res = _run_raw(drift, e, bootstrap.command_line())
    assert res.exit_code == 1
    assert "request is not valid JSON" in res.error


# ---- naive one-liners -------------------------------------------------------------------------

def test_naive_one_liners(drift):
    def run(script: str):
        return _run_raw(drift, {}, encoded(script))

    r = run(f"Get-Content -Raw -LiteralPath '{SPOC.upper()}'")
    assert r.exit_code == 0
    assert "serverGUID=" in r.stdout
    assert "\r" not in r.stdout
    r = run("Get-Content -Raw -LiteralPath 'C:\\nope.txt'")
    assert r.exit_code == 1
    assert "Cannot find path 'C:\\nope.txt'" in r.error
    r = run("Get-Service -Name 'ysoftsq-spoc' | Select-Object Name,Status,StartType | ConvertTo-Json")
    assert r.stdout == '{\n    "Name":  "YSoftSQ-SPOC",\n    "Status":  4,\n    "StartType":  2\n}\n'
    r = run("Get-Service -Name 'Nope' | Select-Object Name,Status,StartType | ConvertTo-Json")
    assert r.exit_code == 1
    assert "Cannot find any service with service name 'Nope'" in r.error
    assert run("Test-Path -LiteralPath '\\\\fs01.corp.example\\paragon\\ims-repository'").stdout == "True\n"
    assert run("Test-Path -LiteralPath 'C:\\DispatcherParagon\\Management\\PGSQL-data'").stdout == "True\n"
    assert run("Test-Path -LiteralPath 'C:\\Nope'").stdout == "False\n"
    assert run("hostname").stdout == "MGMT1\n"
    r = run("Get-ItemPropertyValue -LiteralPath 'HKLM:\\SOFTWARE\\WOW6432Node\\Y Soft Corporation\\YSoft SafeQ 6' "
            "-Name 'Version'")
    assert r.stdout == "6.0.112.4\n"
    r = run("(Get-CimInstance Win32_Service -Filter \"Name='YSoftIms'\").StartName")
    assert r.stdout == "CORP\\svc-paragon\n"
    r = run("Get-Content -Raw -LiteralPath 'C:\\a.txt'; Remove-Item C:\\ -Recurse")
    assert r.exit_code == 1
    assert "unrecognised script" in r.error
    assert len(NAIVE_COMMANDS) == 6


def test_concurrent_requests_on_one_node_are_serialised(drift):
    """Many threads write the same file through separate handlers: every write sees the
    previous one (lock per node folder), node.json stays valid."""
    node_dir = entry(drift, "SITE1")[1]
    target = node_dir / "files/c/DispatcherParagon/SPOC/conf/remoteConfImg.xml"
    path = "C:\\DispatcherParagon\\SPOC\\conf\\remoteConfImg.xml"
    ok: list[int] = []
    errors: list[str] = []

    def worker(i: int) -> None:
        for _ in range(20):
            cur = target.read_bytes()
            resp = respond(drift, "SITE1", build_apply_request([write_file_op(path, cur + b"<!-- %d -->" % i, _sha(cur))]))
            r = resp["results"][0]
            if r["status"] == "ok":
                ok.append(i)
            elif "changed since it was read" not in r["error"]:
                errors.append(r["error"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert target.read_bytes().count(b"<!--") == len(ok) > 0
    json.loads((node_dir / "node.json").read_text())


def test_fault_typos_fail_loudly_and_cli_strings_are_understood(drift):
    e, d = entry(drift, "SITE1", {"garbage_ouput": True})
    with pytest.raises(InputError, match=r"unknown fault kind\(s\) \['garbage_ouput'\]"):
        make_handler(e, d)
    e, d = entry(drift, "SITE1", {"service_start_fail": "YSoftSQ-SPOC, YSoftImsProxy", "timeout_faults": 2,
                                  "op_errors": "ports:Access is denied."})
    h = make_handler(e, d)
    assert h.faults["service_start_fail"] == ["YSoftSQ-SPOC", "YSoftImsProxy"]
    assert h.faults["op_errors"] == {"ports": "Access is denied."}
    e, d = entry(drift, "SITE1", {"huge_output": "lots"})
    with pytest.raises(InputError, match="huge_output"):
        make_handler(e, d)


def test_broken_node_json_fails_loudly(drift, collect_req):
    node_dir = entry(drift, "SITE1")[1]
    data = json.loads((node_dir / "node.json").read_text())
    data["services"][0]["colour"] = "blue"
    (node_dir / "node.json").write_text(json.dumps(data))
    res = run_request(drift, "SITE1", collect_req)
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.error.startswith("lab: cannot simulate SITE1: TypeError")
