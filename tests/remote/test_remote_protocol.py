"""Protocol 1 definitions shared by both executors: request builders and validation, the
rules both sides implement (wildcards, ImagePath -> install folder, Java properties), the
output line, and the strict decoder."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from auditor.profile import load_profile
from auditor.remote import (
    RemoteError,
    Target,
    build_apply_request,
    build_collect_request,
    node_state_from_response,
    set_service_account_op,
    write_file_op,
)
from auditor.remote.protocol import (
    CheckedResponse,
    ProtocolError,
    encode_output,
    parse_output,
    read_java_property,
    validate_request,
    validate_response,
    wild_match,
)
from auditor.winpath import image_executable, install_dir


def test_collect_request_from_profile():
    req = build_collect_request(load_profile(), request_id="abc")
    assert req["protocol"] == 1
    assert req["kind"] == "collect"
    assert req["request_id"] == "abc"
    ops = {op["id"]: op for op in req["ops"]}
    assert ops["services"]["patterns"] == ["YSoft*", "YSQ*"]
    assert ops["facts"]["env"] == ["SAFEQ_HOME"]
    assert "SafeQ6.exe" in ops["processes"]["patterns"]
    spoc = ops["files:spooler_controller"]
    assert spoc["install"] == {"services": ["YSoftSQ-SPOC"], "strip": ["\\bin"]}
    assert {"path": "conf\\modules\\*.conf", "max_bytes": 1048576} in spoc["files"]
    assert {"path": "management-server-install.log", "max_bytes": 65536} in ops["files:management"]["files"]
    assert ops["probe:management"]["paths"] == ["PGSQL-data"]
    pp = ops["probe_property:management:repository.path"]
    assert (pp["file"], pp["key"], pp["subsystem"]) == ("ims\\application.properties", "repository.path", "management")
    assert len(json.dumps(req)) < 10_000


def test_validate_request_rejects_precisely():
    good = build_collect_request(load_profile())
    validate_request(good)
    cases = [
        (dict(good, protocol=2), "unsupported protocol version 2"),
        (dict(good, kind="nuke"), "unknown kind 'nuke'"),
        (dict(good, ops=[]), "non-empty"),
        (dict(good, extra=1), "unexpected field(s) ['extra']"),
        (dict(good, ops=[{"op": "ports"}]), "id missing"),
        (dict(good, ops=[{"op": "services", "id": "s", "patterns": "YSoft*"}]), "invalid value for 'patterns'"),
    ]
    for req, text in cases:
        with pytest.raises(ProtocolError) as ei:
            validate_request(req)
        assert text in str(ei.value)
    bad = copy.deepcopy(good)
    bad["ops"][5]["files"][0]["path"] = "conf\\*\\x.conf"
    with pytest.raises(ProtocolError, match="invalid value for 'files'"):
        validate_request(bad)
    with pytest.raises(ProtocolError, match="'path'"):
        build_apply_request([write_file_op("relative\\x.conf", b"", None)])
    with pytest.raises(ProtocolError, match="password_env"):
        build_apply_request([set_service_account_op("YSoftIms", "CORP\\x", "MY_PASSWORD")])


def test_apply_request_builders():
    req = build_apply_request([write_file_op("C:\\a\\b.conf", b"\x00\xff", "0" * 64, backup_dir="D:\\bk"),
                               set_service_account_op("YSoftIms", "CORP\\svc", "PA_S_IMS")])
    w, s = req["ops"]
    assert w["content_b64"] == base64.b64encode(b"\x00\xff").decode()
    assert w["id"] == "0:write_file"
    assert s == {"op": "set_service_account", "name": "YSoftIms", "account": "CORP\\svc", "password_env": "PA_S_IMS",
                 "id": "1:set_service_account"}
    assert "password" not in json.dumps(req).lower().replace("password_env", "")


@pytest.mark.parametrize("image, strip, expected", [
    ('"C:\\DP\\Management\\tomcat\\bin\\tomcat9.exe" //RS//YSoftSQ-Management', ["\\tomcat\\bin", "\\bin"],
     "C:\\DP\\Management"),
    ('"C:\\DP\\SPOC\\bin\\wrapper.exe" -s "C:\\DP\\SPOC\\conf\\wrapper.conf"', ["\\bin"], "C:\\DP\\SPOC"),
    ("C:\\Program Files\\DP\\SPOC\\BIN\\wrapper.exe -s x", ["\\bin"], "C:\\Program Files\\DP\\SPOC"),
    ("C:\\DP\\WPS\\WpsService.exe", [], "C:\\DP\\WPS"),
    ('"C:\\DP\\FSP\\Service\\FlexiSpooler.exe"', ["\\Service"], "C:\\DP\\FSP"),
    ("C:\\bin\\x.exe", ["\\bin"], "C:"),
    ("\\bin\\x.exe", ["\\bin"], "\\bin"),  # never strip to nothing
    ("wrapper.exe", ["\\bin"], None),
])
def test_install_dir_from_image_path(image, strip, expected):
    assert install_dir(image, strip) == expected


def test_image_executable_unquoted_forms():
    assert image_executable("C:\\x\\a.EXE") == "C:\\x\\a.EXE"
    assert image_executable("C:\\x\\prunsrv //RS//Svc") == "C:\\x\\prunsrv"
    assert image_executable('"C:\\no end') == "C:\\no end"


def test_wildcards():
    assert wild_match("YSoft*", "ysoftsq-spoc")
    assert wild_match("*paragon*setup*", "Dispatcher-Paragon-Setup.exe")
    assert wild_match("SafeQ6.exe", "safeq6.EXE")
    assert not wild_match("SafeQ6.exe", "SafeQ6xexe")  # the dot is literal
    assert wild_match("a?c", "abc")
    assert not wild_match("a?c", "ac")
    assert not wild_match("[ab]*", "a1")  # brackets are literal, unlike -like
    assert wild_match("*.conf", "spoc.conf")
    assert not wild_match("*.conf", "spoc.config")


@pytest.mark.parametrize("text, key, value", [
    (b"repository.path=\\\\\\\\fs01\\\\share\\\\repo\r\n", "repository.path", "\\\\fs01\\share\\repo"),
    (b"# c\n! c\n  a : b c  \n", "a", "b c  "),
    (b"a=1\na=2\n", "a", "2"),
    (b"a b\n", "a", "b"),
    (b"a = x\\\n    y\\\n  z\n", "a", "xyz"),
    (b"a=ends\\\\\n", "a", "ends\\"),
    (b"k\\:ey=v\n", "k:ey", "v"),
    (b"u=\\u00e9t\\u00E9\\t!\n", "u", "\u00e9t\u00e9\t!"),
    (b"\xef\xbb\xbfbom=1\n", "bom", "1"),
    (b"latin=caf\xe9\n", "latin", "caf\u00e9"),
    (b"empty=\n", "empty", ""),
    (b"only\n", "only", ""),
    (b"#a=1\n", "a", None),
])
def test_java_properties(text, key, value):
    assert read_java_property(text, key) == value


def test_parse_output_errors_are_precise():
    resp = {"protocol": 1, "kind": "collect", "request_id": "r", "hostname": "H", "started": None, "finished": None,
            "results": []}
    line = encode_output(resp)
    assert parse_output(("WARNING: noise\r\n" + line).encode()) == resp
    with pytest.raises(ProtocolError, match="no 'PARAGON-AUDITOR/1' line.*starts with: 'hello world'"):
        parse_output(b"hello world")
    with pytest.raises(ProtocolError, match="empty"):
        parse_output(b"")
    with pytest.raises(ProtocolError, match="protocol '2'"):
        parse_output(line.replace("/1 ", "/2 ").encode())
    with pytest.raises(ProtocolError, match="not valid base64|not valid JSON"):
        parse_output(line[: len(line) // 2].encode())
    with pytest.raises(ProtocolError, match="2 'PARAGON-AUDITOR' lines"):
        parse_output((line + line).encode())
    with pytest.raises(ProtocolError, match="request_id does not match"):
        validate_response(resp, {"kind": "collect", "request_id": "other", "ops": []})


def _resp(results):
    return {"protocol": 1, "kind": "collect", "request_id": "r", "hostname": "H", "started": "2026-01-01T00:00:00Z",
            "finished": "2026-01-01T00:00:01Z", "results": results}


def test_the_decoder_checks_the_envelope_once(monkeypatch):
    """execute checks an answer's envelope against its request; the decoder does not repeat that."""
    import auditor.remote.decode as decode

    checked: list[dict] = []
    monkeypatch.setattr(decode, "validate_response", lambda resp, request=None: checked.append(resp))
    node_state_from_response("N", CheckedResponse(_resp([])))
    plain = _resp([])
    node_state_from_response("N", plain)
    assert checked == [plain]


def test_decoder_is_strict_and_names_the_place():
    ok_services = {"op": "services", "id": "services", "status": "ok", "error": None, "data": {"services": [
        {"name": "YSoftIms", "display_name": "x", "state": "Running", "start_mode": "Auto", "account": "LocalSystem",
         "image_path": "", "start_time": "2026-01-01T00:00:00Z", "pid": 4}]}}
    st = node_state_from_response("N", _resp([ok_services]))
    assert st.service("ysoftims").pid == 4
    assert st.collected_at == "2026-01-01T00:00:01Z"
    assert st.hostname == "H"
    bad = copy.deepcopy(ok_services)
    bad["data"]["services"][0]["pid"] = "4"
    with pytest.raises(RemoteError) as ei:
        node_state_from_response("N", _resp([bad]))
    assert ei.value.kind == "protocol"
    assert "results[0] (services).data.services[0].pid: expected integer or null, got str" in ei.value.message
    bad = copy.deepcopy(ok_services)
    bad["data"]["services"][0]["start_time"] = "yesterday"
    with pytest.raises(RemoteError, match="expected an ISO 8601 UTC time"):
        node_state_from_response("N", _resp([bad]))
    bad = copy.deepcopy(ok_services)
    bad["data"]["services"][0]["evil"] = 1
    with pytest.raises(RemoteError, match="unexpected \\['evil'\\]"):
        node_state_from_response("N", _resp([bad]))
    files = {"op": "files", "id": "f", "status": "ok", "error": None, "data": {
        "subsystem": "s", "service": None, "install_dir": None, "files": [
            {"path": "C:\\a", "exists": True, "mtime": None, "size": 1, "content_b64": "!!", "truncated": False,
             "error": None}]}}
    with pytest.raises(RemoteError, match=r"files\[0\].content_b64: not valid base64"):
        node_state_from_response("N", _resp([files]))
    with pytest.raises(RemoteError, match="fields must be op, id, status, error, data"):
        node_state_from_response("N", _resp([{"op": "facts"}]))
    with pytest.raises(RemoteError, match="expected 'collect'"):
        node_state_from_response("N", dict(_resp([]), kind="apply"))
    with pytest.raises(RemoteError, match="expected a JSON object"):
        node_state_from_response("N", [])  # type: ignore[arg-type]


def test_target_never_shows_the_password():
    t = Target(name="n", host="10.0.0.1", username="CORP\\auditor", password="Sup3r-Secret")
    assert "Sup3r-Secret" not in repr(t)
    assert "Sup3r-Secret" not in str(t)
    assert t.endpoint == "https://10.0.0.1:5986/wsman"
    assert Target(name="v6", host="fe80::1", scheme="http", port=5985).endpoint == "http://[fe80::1]:5985/wsman"
    with pytest.raises(ValueError, match="read_timeout"):
        Target(name="n", host="h", read_timeout=5, operation_timeout=5)
    with pytest.raises(ValueError, match="unknown RemoteError kind"):
        RemoteError("weird", "x")


@pytest.mark.parametrize("override, text", [
    ("max_file_bytes: -1", "max_file_bytes must be a whole number"),
    ("max_file_bytes: true", "max_file_bytes(: expected a number| must be a whole number)"),
    ("installer_processes: [1, 2]", "installer_processes(: expected a list of texts| must be a list of strings)"),
    ("subsystems: {management: {services: []}}", "no service to find its install folder"),
    ("management_ims: {subsystem: nope}", "no subsystem 'nope'"),
])
def test_bad_profile_values_are_input_errors(tmp_path, override, text):
    from auditor.errors import InputError

    path = tmp_path / "override.yaml"
    path.write_text(override + "\n")
    with pytest.raises(InputError, match=text):
        build_collect_request(load_profile(path))


@pytest.mark.parametrize("path", ["C:\\..\\escaped.txt", "/etc/passwd", "escaped.txt", "\\\\srv\\share\\x",
                                  "C:\\a\\x\x00.txt"])
def test_decoder_refuses_hostile_file_paths(path):
    files = {"op": "files", "id": "f", "status": "ok", "error": None, "data": {
        "subsystem": "s", "service": None, "install_dir": None, "files": [
            {"path": path, "exists": True, "mtime": None, "size": 1, "content_b64": "eA==", "truncated": False,
             "error": None}]}}
    with pytest.raises(RemoteError) as ei:
        node_state_from_response("N", _resp([files]))
    assert ei.value.kind == "protocol"
    assert "files[0].path" in ei.value.message
