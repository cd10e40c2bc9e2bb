"""LabCluster: one real WinRM listener per scenario node, faults from the manifest and from
``--fault`` specs, and an inventory the collection code accepts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests
import yaml
from winrm.exceptions import InvalidCredentialsError

from auditor.errors import InputError
from auditor.lab.cluster import LabCluster, faults_from_specs, parse_fault_spec
from tests.lab.lab_echo_handler import EchoHandler, make_handler
from tests.lab.lab_support import session_for_url

pytestmark = pytest.mark.timeout(60)
PW = "Cluster-Pw1!"  # test-only


def _scenario_with_faults(src: Path, dst: Path, faults: dict[str, dict]) -> Path:
    shutil.copytree(src, dst)
    data = json.loads((dst / "manifest.json").read_text())
    for node in data["nodes"]:
        if node["name"] in faults:
            node["lab"] = {"faults": faults[node["name"]], "note": "kept for the executor"}
    (dst / "manifest.json").write_text(json.dumps(data))
    return dst


def test_https_ntlm_cluster_and_inventory(scenario_dir, tmp_path):
    with LabCluster(scenario_dir, handler_factory=make_handler, password=PW, workdir=tmp_path / "wd") as lab:
        assert set(lab.endpoints) == {"MGMT1", "MGMT2", "SITE1", "SITE2"}
        assert len({p for _, p in lab.endpoints.values()}) == 4
        assert lab.ca_file is not None
        assert lab.ca_file.is_file()
        for name in lab.endpoints:
            r = session_for_url(lab.url(name), transport="ntlm", password=PW, ca_file=lab.ca_file).run_ps("hostname")
            assert r.std_out == f"{name}\r\n".encode()
        inv_path = lab.write_inventory(tmp_path / "inv" / "inventory.yaml")
        text = inv_path.read_text()
        assert PW not in text
        data = yaml.safe_load(text)
        assert data["version"] == 1
        assert data["cluster"] == "healthy"
        assert data["defaults"] == {"transport": "ntlm", "scheme": "https", "ca_file": "lab-ca.pem",
                                    "username": "auditor", "credential": {"env": "PARAGON_LAB_PASSWORD"},
                                    "connect_timeout": 5, "read_timeout": 30, "deadline": 60, "concurrency": 16}
        assert data["nodes"][0] == {"name": "MGMT1", "address": "127.0.0.1", "port": lab.endpoints["MGMT1"][1],
                                    "roles": ["management"]}
        assert (inv_path.parent / "lab-ca.pem").read_bytes() == lab.ca_file.read_bytes()
        try:
            from auditor.collect.inventory import load_inventory
        except ImportError:  # the collection session's loader not present in this tree
            return
        inv = load_inventory(inv_path)
        assert [n.port for n in inv.nodes] == [lab.endpoints[n.name][1] for n in inv.nodes]
        assert inv.nodes[0].ca_file is not None
        assert Path(inv.nodes[0].ca_file).is_file()
    assert (tmp_path / "wd" / "pki").is_dir()  # a workdir we were given is kept


def test_http_basic_cluster(scenario_dir):
    with LabCluster(scenario_dir, handler_factory=make_handler, scheme="http", auth="basic", password=PW) as lab:
        wd = lab.workdir
        assert lab.ca_file is None
        r = session_for_url(lab.url("SITE2"), transport="basic", password=PW).run_ps("hostname")
        assert r.std_out == b"SITE2\r\n"
        assert lab.inventory_dict()["defaults"]["transport"] == "basic"
    assert not wd.exists()  # our own temporary workdir is removed


def test_faults_from_manifest_and_overrides(scenario_dir, tmp_path):
    src = _scenario_with_faults(scenario_dir, tmp_path / "sc", {
        "SITE1": {"refuse": True},
        "MGMT2": {"wrong_password": True},
        "SITE2": {"garbage_output": True},  # executor-level: passed through untouched
    })
    data = json.loads((src / "manifest.json").read_text())
    data["nodes"][0]["lab"] = {"faults": ["chunk_bytes_unused_marker"]}  # list form: names set to true
    (src / "manifest.json").write_text(json.dumps(data))
    seen: dict[str, dict] = {}

    def factory(entry, node_dir):
        seen[entry.name] = dict(entry.lab)
        assert (node_dir / "node.json").is_file()
        return EchoHandler(entry.name)

    overrides = faults_from_specs(["SITE2:timeout_faults=2", "mgmt1:chunk_bytes=4"])
    # (MGMT1 also has the list-form fault from the manifest, merged with the override)
    with LabCluster(src, handler_factory=factory, scheme="http", password=PW, faults=overrides) as lab:
        assert "SITE1" not in seen  # refused nodes get no handler
        assert seen["SITE2"]["faults"] == {"garbage_output": True, "timeout_faults": 2}
        assert seen["SITE2"]["note"] == "kept for the executor"
        assert seen["MGMT1"]["faults"] == {"chunk_bytes_unused_marker": True, "chunk_bytes": 4}
        # refused: a closed port
        with pytest.raises(requests.exceptions.ConnectionError):
            session_for_url(lab.url("SITE1"), transport="ntlm", password=PW).run_ps("x")
        # wrong_password: the cluster's credentials are rejected
        with pytest.raises(InvalidCredentialsError):
            session_for_url(lab.url("MGMT2"), transport="ntlm", password=PW).run_ps("x")
        # timeout faults recovered, chunking applied
        assert session_for_url(lab.url("SITE2"), transport="ntlm", password=PW).run_ps("hostname").std_out == b"SITE2\r\n"
        assert lab.server("SITE2").counters().actions["fault"] == 2
        assert session_for_url(lab.url("MGMT1"), transport="ntlm", password=PW).run_ps("hostname").std_out == b"MGMT1\r\n"
        assert lab.server("MGMT1").counters().actions["Receive"] == 2  # 7 bytes in 4-byte chunks
        inv = lab.inventory_dict()
        assert [n["name"] for n in inv["nodes"]] == ["MGMT1", "MGMT2", "SITE1", "SITE2"]


def test_scenario_is_served_from_a_copy(scenario_dir, tmp_path):
    before = (scenario_dir / "site1" / "node.json").read_bytes()
    dirs = []

    def factory(entry, node_dir):
        dirs.append(node_dir)
        (node_dir / "node.json").write_text("{}")  # a remote fix would change node files
        return EchoHandler(entry.name)

    with LabCluster(scenario_dir, handler_factory=factory, scheme="http", password=PW, workdir=tmp_path):
        assert all(str(d).startswith(str(tmp_path)) for d in dirs)
    assert (scenario_dir / "site1" / "node.json").read_bytes() == before


def test_fault_spec_parsing():
    assert parse_fault_spec("SITE1:refuse") == ("SITE1", "refuse", True)
    assert parse_fault_spec("SITE1:timeout_faults=2") == ("SITE1", "timeout_faults", 2)
    assert parse_fault_spec("SITE1:delay_seconds=0.5") == ("SITE1", "delay_seconds", 0.5)
    assert parse_fault_spec("MGMT1:hostname=OTHER") == ("MGMT1", "hostname", "OTHER")
    assert parse_fault_spec("MGMT1:untrusted_cert=no") == ("MGMT1", "untrusted_cert", False)
    assert parse_fault_spec("SITE1:service_start_fail=[YSoftIms, YSoftEtcd]") == (
        "SITE1", "service_start_fail", ["YSoftIms", "YSoftEtcd"])
    assert parse_fault_spec("SITE1:op_errors={read_file: access denied}") == (
        "SITE1", "op_errors", {"read_file": "access denied"})
    for bad in ("SITE1", "SITE1:", ":refuse"):
        with pytest.raises(InputError):
            parse_fault_spec(bad)


def test_bad_faults_are_input_errors(scenario_dir):
    with pytest.raises(InputError, match="no node 'NOPE'"):
        LabCluster(scenario_dir, handler_factory=make_handler, faults={"NOPE": {"refuse": True}})
    lab = LabCluster(scenario_dir, handler_factory=make_handler, faults={"SITE1": {"timeout_faults": -1}})
    with pytest.raises(InputError, match="SITE1"):
        lab.start()
    assert not lab.nodes or all(n.server is None or not n.server.running for n in lab.nodes)


def test_untrusted_cert_node(scenario_dir, tmp_path):
    with LabCluster(scenario_dir, handler_factory=make_handler, password=PW,
                    faults={"SITE2": {"untrusted_cert": True}}) as lab:
        with pytest.raises(requests.exceptions.SSLError):
            session_for_url(lab.url("SITE2"), transport="ntlm", password=PW, ca_file=lab.ca_file).run_ps("x")
        assert session_for_url(lab.url("SITE1"), transport="ntlm", password=PW,
                               ca_file=lab.ca_file).run_ps("hostname").std_out == b"SITE1\r\n"
