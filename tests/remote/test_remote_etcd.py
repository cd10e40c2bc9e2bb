"""The ``etcd`` collect op: read-only, allow-listed, loopback only, secrets refused on both sides
and never sent; the lab answers from node.json's ``etcd`` object; the decoder and node.json
reader keep the same typed facts (docs/protocol.md, docs/node-format.md)."""

from __future__ import annotations

import json
import re

import pytest

from auditor.errors import InputError
from auditor.lab.collect_ops import op_etcd
from auditor.lab.node_data import LabNode, OpFailed
from auditor.nodefolder import load_node, save_node
from auditor.nodestate import EtcdMember
from auditor.remote import RemoteError, bootstrap, node_state_from_response
from auditor.remote.protocol import ETCD_SECRET_FLOOR, ProtocolError, etcd_op, validate_request
from tests.remote.remote_helpers import copy_scenario, entry, respond, result, run_request

pytestmark = pytest.mark.timeout(60)

DB_KEYS = ["dbClass", "dbDbName", "dbHost", "dbPort", "dbDbUsername", "embeddedDb"]
SECRET = "ENC(c2VjcmV0LXZhbHVlLTQyNzE=)"


def request(keys=DB_KEYS, patterns=("*token*",), list_names=True) -> dict:
    op = etcd_op(["YSoftEtcd"], "http://127.0.0.1:2379", keys, patterns, list_names, 3000)
    return {"protocol": 1, "kind": "collect", "request_id": "r-etcd", "ops": [op]}


@pytest.fixture
def healthy(tmp_path):
    return copy_scenario(tmp_path, "healthy")


def node_json(scenario, folder: str) -> dict:
    return json.loads((scenario / folder / "node.json").read_text())


def write_node_json(scenario, folder: str, data: dict) -> None:
    (scenario / folder / "node.json").write_text(json.dumps(data, indent=2))


def test_management_node_answers_allow_listed_keys_members_and_names(healthy):
    data = result(respond(healthy, "MGMT1", request()), "etcd")["data"]
    assert data["service"] == "YSoftEtcd"
    assert data["error"] is None
    assert data["healthy"] is True
    assert data["values"] == {"dbClass": "MSSQL", "dbDbName": "SQDB6", "dbHost": "sql01.corp.example",
                              "dbPort": "1433", "dbDbUsername": "sqdb6user", "embeddedDb": "0"}
    assert [m["name"] for m in data["members"]] == ["MGMT1", "MGMT2"]
    assert data["members"][1]["peer_urls"] == ["http://10.0.10.12:2380"]
    assert "encryptedUserPassword" in data["key_names"]


def test_only_the_asked_keys_are_answered_and_names_only_on_request(healthy):
    data = result(respond(healthy, "MGMT1", request(keys=["dbHost"], list_names=False)), "etcd")["data"]
    assert data["values"] == {"dbHost": "sql01.corp.example"}
    assert data["key_names"] is None


def test_node_without_the_etcd_service_is_not_asked(healthy):
    data = result(respond(healthy, "SITE1", request()), "etcd")["data"]
    assert data == {"service": None, "endpoint": "http://127.0.0.1:2379", "error": None, "healthy": None,
                    "values": {}, "members": [], "key_names": None}


def test_no_etcd_object_means_etcd_does_not_answer(healthy):
    data = node_json(healthy, "mgmt2")
    del data["etcd"]
    write_node_json(healthy, "mgmt2", data)
    got = result(respond(healthy, "MGMT2", request()), "etcd")["data"]
    assert got["error"].startswith("GET http://127.0.0.1:2379/v2/members: Unable to connect to the remote server")
    assert got["values"] == {}


def test_an_etcd_error_is_reported_as_the_node_saw_it(healthy):
    data = node_json(healthy, "mgmt2")
    data["etcd"] = {"endpoint": "http://127.0.0.1:2379", "error": "GET http://127.0.0.1:2379/v2/members: HTTP 500: "
                                                                   "Raft Internal Error"}
    write_node_json(healthy, "mgmt2", data)
    got = result(respond(healthy, "MGMT2", request()), "etcd")["data"]
    assert got["error"] == "GET http://127.0.0.1:2379/v2/members: HTTP 500: Raft Internal Error"


def test_secret_values_held_by_etcd_never_leave_the_node(healthy):
    data = node_json(healthy, "mgmt1")
    data["etcd"]["values"]["encryptedUserPassword"] = SECRET
    write_node_json(healthy, "mgmt1", data)
    res = run_request(healthy, "MGMT1", request())
    answer = result(respond(healthy, "MGMT1", request()), "etcd")["data"]
    assert "encryptedUserPassword" not in answer["values"]
    assert "encryptedUserPassword" in answer["key_names"]
    assert SECRET not in json.dumps(answer)
    assert "c2VjcmV0LXZhbHVlLTQyNzE" not in res.stdout  # nor inside the base64 line


@pytest.mark.parametrize("key, pattern", [("encryptedUserPassword", "encrypted*"), ("dbPassword", "*pass*"),
                                          ("ldapPwd", "*pwd*"), ("apiToken", "*token*")])
def test_a_secret_key_is_refused_by_the_request_and_by_the_executor(healthy, key, pattern):
    req = request(keys=["dbHost", key])
    with pytest.raises(ProtocolError, match=f"refusing to read etcd key '{key}': it matches the secret pattern "
                                            f"'{re.escape(pattern)}'"):
        validate_request(req)
    res = run_request(healthy, "MGMT1", req)  # the lab validates before it runs anything
    assert res.exit_code == 1
    assert "refusing to read etcd key" in res.error
    node = LabNode(*entry(healthy, "MGMT1"))  # and the op itself refuses too
    with pytest.raises(OpFailed, match=f"refusing to read etcd key {key}"):
        op_etcd(node, req["ops"][0], node.load(), {})


@pytest.mark.parametrize("field, value", [
    ("endpoint", "http://10.0.10.11:2379"), ("endpoint", "https://127.0.0.1:2379"),
    ("endpoint", "http://127.0.0.1:2379/v2/keys"), ("keys", ["../v2/members"]), ("keys", ["a/b"]),
    ("keys", [".."]), ("secret_patterns", ["*token*"]), ("timeout_ms", 0), ("list_names", "yes"), ("services", []),
])
def test_request_validation_is_strict(field, value):
    req = request()
    req["ops"][0][field] = value
    with pytest.raises(ProtocolError):
        validate_request(req)


def test_the_floor_cannot_be_dropped_and_the_executor_has_the_same_floor():
    assert request()["ops"][0]["secret_patterns"][:len(ETCD_SECRET_FLOOR)] == list(ETCD_SECRET_FLOOR)
    src = bootstrap.executor_script()
    floor = re.search(r"^\$script:PAEtcdSecretFloor = @\(([^)]*)\)$", src, re.M)
    assert floor is not None
    assert tuple(x.strip().strip("'") for x in floor.group(1).split(",")) == ETCD_SECRET_FLOOR
    # loopback only and plain key names, as the protocol module says
    assert r"'^http://(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}\z'" in src
    assert r"'^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\z'" in src


def test_decoded_facts_round_trip_through_node_json(healthy, tmp_path):
    resp = respond(healthy, "MGMT1", request())
    state = node_state_from_response("MGMT1", resp)
    assert state.etcd is not None
    assert state.etcd.values["dbHost"] == "sql01.corp.example"
    assert state.etcd.members[0] == EtcdMember("MGMT1", ("http://10.0.10.11:2380",), ("http://10.0.10.11:2379",))
    save_node(state, tmp_path / "out")
    again = load_node(tmp_path / "out", "MGMT1")
    assert again.etcd == state.etcd
    site = node_state_from_response("SITE1", respond(healthy, "SITE1", request()))
    assert site.etcd is None
    save_node(site, tmp_path / "site")
    assert "etcd" not in json.loads((tmp_path / "site" / "node.json").read_text())


def test_decoder_refuses_a_secret_value_sent_by_a_node(healthy):
    resp = respond(healthy, "MGMT1", request())
    result(resp, "etcd")["data"]["values"]["encryptedClusterPassword"] = SECRET
    with pytest.raises(RemoteError, match="may hold a secret"):
        node_state_from_response("MGMT1", resp)


def test_decoder_refuses_etcd_data_without_a_service(healthy):
    resp = respond(healthy, "SITE1", request())
    result(resp, "etcd")["data"]["values"] = {"dbHost": "x"}
    with pytest.raises(RemoteError, match="without an etcd service"):
        node_state_from_response("SITE1", resp)


@pytest.mark.parametrize("etcd, message", [
    ({"endpoint": "x", "values": {"dbHost": 5}}, "etcd.values: expected an object of texts"),
    ({"endpoint": "x", "healthy": "yes"}, "etcd.healthy: expected true, false or null"),
    ({"endpoint": "x", "members": [{"name": "A"}]}, "etcd.members[0]: expected an object with name"),
    ({"endpoint": "x", "surprise": 1}, "unexpected ['surprise']"),
])
def test_node_json_etcd_object_is_checked(healthy, etcd, message):
    data = node_json(healthy, "mgmt1")
    data["etcd"] = etcd
    write_node_json(healthy, "mgmt1", data)
    with pytest.raises(InputError, match=re.escape(message)):
        load_node(healthy / "mgmt1")
