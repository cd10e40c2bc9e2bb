"""docs/protocol.md's JSON Schemas are the contract: every request the builders make and every
response the lab executor gives (collect, apply, failures) must validate against them.
(A small validator for the keywords the schemas use; jsonschema is not a dependency.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.profile import load_profile
from auditor.remote import (
    build_apply_request,
    build_collect_request,
    check_installers_op,
    restart_service_op,
    restore_file_op,
    set_service_account_op,
    write_file_op,
)
from tests.remote.remote_helpers import copy_scenario, respond

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def schemas() -> tuple[dict, dict]:
    blocks = re.findall(r"```json\n(\{\n  \"\$schema\".*?)\n```", DOC.read_text(), re.S)
    assert len(blocks) == 2
    req, resp = (json.loads(b) for b in blocks)
    assert req["$id"].endswith(":request")
    assert resp["$id"].endswith(":response")
    return req, resp


def _is(value: Any, t: str) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[t]) and not (t != "boolean" and isinstance(value, bool))


def errors(schema: dict, value: Any, root: dict, where: str = "$") -> list[str]:
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        return errors(target, value, root, where) + (errors(extra, value, root, where) if extra else [])
    out: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, t) for t in types):
            return [f"{where}: {type(value).__name__} is not {types}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} !~ {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: too short")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: < minimum")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: > maximum")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k in props:
                out += errors(props[k], v, root, f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{where}: unexpected {k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += errors(schema["additionalProperties"], v, root, f"{where}.{k}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{where}: too few items")
        if "items" in schema:
            for i, v in enumerate(value):
                out += errors(schema["items"], v, root, f"{where}[{i}]")
    if "oneOf" in schema:
        ok = [s for s in schema["oneOf"] if not errors(s, value, root, where)]
        if len(ok) != 1:
            out.append(f"{where}: matches {len(ok)} of oneOf")
    if "anyOf" in schema and not any(not errors(s, value, root, where) for s in schema["anyOf"]):
        out.append(f"{where}: matches none of anyOf")
    return out


def test_the_validator_rejects():
    req_schema, _ = schemas()
    bad = build_collect_request(load_profile())
    bad["ops"][0]["bogus"] = 1
    assert errors(req_schema, bad, req_schema)
    assert errors(req_schema, dict(bad, protocol=2), req_schema)


def test_the_validator_rejects_bad_responses(tmp_path):
    _, resp_schema = schemas()
    resp = respond(copy_scenario(tmp_path), "MGMT1", build_collect_request(load_profile()))
    assert errors(resp_schema, resp, resp_schema) == []
    resp["results"][1]["data"]["services"][0]["pid"] = "12"
    assert errors(resp_schema, resp, resp_schema)
    resp["results"][1]["data"]["services"][0]["pid"] = 12
    resp["results"][0]["data"]["os"]["extra"] = 1
    assert errors(resp_schema, resp, resp_schema)


def test_requests_and_lab_responses_match_the_documented_schemas(tmp_path):
    req_schema, resp_schema = schemas()
    drift = copy_scenario(tmp_path)
    collect = build_collect_request(load_profile())
    assert errors(req_schema, collect, req_schema) == []
    for node in ("MGMT1", "SITE2"):
        resp = respond(drift, node, collect, faults={"installer_running": True, "op_errors": {"ports": "denied"}})
        assert errors(resp_schema, resp, resp_schema) == []
    spoc = drift / "site1/files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf"
    import hashlib
    sha = hashlib.sha256(spoc.read_bytes()).hexdigest()
    path = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
    apply = build_apply_request([check_installers_op(["nothing*"]), write_file_op(path, b"x=1\r\n", sha),
                                 restart_service_op("YSoftSQ-SPOC"), set_service_account_op("YSoftImsProxy", "LocalSystem", None)])
    assert errors(req_schema, apply, req_schema) == []
    resp = respond(drift, "SITE1", apply)
    assert [r["status"] for r in resp["results"]] == ["ok"] * 4
    assert errors(resp_schema, resp, resp_schema) == []
    backup = resp["results"][1]["data"]["backup_path"]
    restore = build_apply_request([restore_file_op(path, backup, None), check_installers_op(["*"])])
    assert errors(req_schema, restore, req_schema) == []
    resp = respond(drift, "SITE1", restore, faults={"installer_running": True})
    assert errors(resp_schema, resp, resp_schema) == []
    failed = respond(drift, "SITE1", build_apply_request([restart_service_op("Nope"), restart_service_op("YSoftSQ-SPOC")]))
    assert [r["status"] for r in failed["results"]] == ["failed", "skipped"]
    assert errors(resp_schema, failed, resp_schema) == []


@pytest.mark.parametrize("what", ["request", "response"])
def test_schema_blocks_are_valid_json(what):
    req, resp = schemas()
    assert (req if what == "request" else resp)["properties"]["protocol"] == {"const": 1}
