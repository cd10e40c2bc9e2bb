"""Admin-declared truth in the inventory: parsed and validated with the line, recorded in the
snapshot manifest, and read back by ``audit --from`` as the same typed object."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from auditor.collect.inventory import load_inventory, parse_inventory
from auditor.collect.runner import CollectionResult, NodeStats
from auditor.collect.snapshot import write_snapshot
from auditor.declared import DatabaseDeclaration, Declarations, NodeDeclarations
from auditor.errors import InputError
from auditor.expectations import ExpectationSource
from auditor.manifest import ClusterManifest, NodeEntry, load_manifest, save_manifest
from auditor.nodestate import NodeState
from auditor.profile import load_profile

DECLARING = """\
version: 1
cluster: prod
database: {class: MSSQL, host: sql01.corp.example, port: 1433}
ims_repository: \\\\fs01.corp.example\\paragon\\ims-repository
expected_version: '6.0.112.4'
ims_service_account: CORP\\svc-paragon
defaults:
  username: CORP\\auditor
  credential: {env: PARAGON_PW}
nodes:
  - name: MGMT1
    address: mgmt1.corp.example
    roles: [management]
    guid: 6f1c2a01-3b7e-4c1d-9a55-000000000001
    cml_port: 6010
    bound_ip: 10.0.10.11
  - name: MGMT2
    roles: [management]
  - name: SITE1
    roles: [site]
"""


def inventory_error(text: str) -> InputError:
    with pytest.raises(InputError) as exc:
        parse_inventory(textwrap.dedent(text), "cluster.yaml")
    return exc.value


def test_declarations_are_typed():
    declared = parse_inventory(DECLARING, "cluster.yaml").declared
    assert declared.node("mgmt1") == NodeDeclarations(guid="6f1c2a01-3b7e-4c1d-9a55-000000000001", cml_port=6010,
                                                      bound_ip="10.0.10.11")
    assert declared.database == DatabaseDeclaration(db_class="MSSQL", host="sql01.corp.example", port=1433)
    assert declared.ims_repository == "\\\\fs01.corp.example\\paragon\\ims-repository"
    assert declared.expected_version == "6.0.112.4"
    assert declared.ims_service_account == "CORP\\svc-paragon"


def test_undeclared_node_has_empty_declarations():
    declared = parse_inventory(DECLARING, "cluster.yaml").declared
    assert declared.node("MGMT2").empty


def test_declared_expectation_names_file_and_line():
    expected = parse_inventory(DECLARING, "cluster.yaml").declared.expected("guid", "MGMT1")
    assert expected is not None
    assert expected.source == ExpectationSource.DECLARED
    assert expected.detail == "cluster.yaml line 14"


def test_inventory_without_declarations_declares_nothing():
    inv = parse_inventory("version: 1\ndefaults: {username: u, credential: {env: X}}\n"
                          "nodes: [{name: MGMT1, roles: [management]}]\n", "cluster.yaml")
    assert inv.declared.empty


@pytest.mark.parametrize(("snippet", "line", "words"), [
    ("  - {name: SITE9, roles: [site], guid: abc}\n", 21, "describes a Management server"),
    ("  - {name: MGMT9, roles: [management], cml_port: 70000}\n", 21, "between 1 and 65535"),
    ("  - {name: MGMT9, roles: [management], bound_ip: mgmt9.corp.example}\n", 21, "IPv4 address"),
    ("  - {name: MGMT9, roles: [management], bound_ip: 127.0.0.1}\n", 21, "not IPv6, loopback"),
    ("  - {name: MGMT9, roles: [management], guid: 12345}\n", 21, "write it in quotes"),
    ("  - {name: MGMT9, roles: [management], guid: '{6F1C2A01-3B7E-4C1D-9A55-000000000001}'}\n", 21,
     "declared for both MGMT1 and MGMT9"),
])
def test_bad_node_declaration_names_the_line(snippet, line, words):
    err = inventory_error(DECLARING + snippet)
    assert (err.line, words in err.message) == (line, True), err.message


def test_bad_database_key_names_its_own_line():
    err = inventory_error(DECLARING.replace("database: {class: MSSQL, host: sql01.corp.example, port: 1433}",
                                            "database:\n  class: MSSQL\n  klass: PGSQL"))
    assert (err.line, "unknown key 'klass'" in err.message) == (5, True), err.message


def test_expected_version_written_as_a_number_is_refused():
    err = inventory_error(DECLARING.replace("expected_version: '6.0.112.4'", "expected_version: 6.1"))
    assert "write it in quotes" in err.message


def test_manifest_round_trips_declarations(tmp_path):
    declared = parse_inventory(DECLARING, "cluster.yaml").declared
    save_manifest(ClusterManifest(kind="snapshot", nodes=[NodeEntry(name="MGMT1")], declared=declared), tmp_path)
    assert load_manifest(tmp_path).declared == declared


def test_manifest_with_a_bad_declaration_is_an_input_error(tmp_path):
    save_manifest(ClusterManifest(kind="snapshot", nodes=[NodeEntry(name="MGMT1")]), tmp_path)
    path = tmp_path / "manifest.json"
    data = json.loads(path.read_text())
    data["declared"] = {"nodes": {"MGMT1": {"cml_port": "six"}}}
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="cml_port: expected a whole number"):
        load_manifest(tmp_path)


def test_collect_records_the_inventory_declarations_in_the_snapshot(tmp_path):
    inv_path = tmp_path / "cluster.yaml"
    inv_path.write_text(DECLARING)
    inv = load_inventory(inv_path)
    nodes = [NodeState(name=n.name, roles=list(n.roles), status="refused", reason="connection refused")
             for n in inv.nodes]
    result = CollectionResult(nodes=nodes, started_at="s", finished_at="f", stats=[NodeStats(n.name) for n in nodes])
    write_snapshot(result, inv, load_profile(None), tmp_path / "snap")
    assert load_manifest(tmp_path / "snap").declared == inv.declared


def test_empty_declarations_leave_the_manifest_unchanged(tmp_path):
    save_manifest(ClusterManifest(kind="snapshot", nodes=[NodeEntry(name="A")]), tmp_path)
    assert "declared" not in json.loads((tmp_path / "manifest.json").read_text())


def test_declarations_reach_the_cluster_model_from_a_snapshot(tmp_path: Path):
    from auditor.audit import build_cluster
    from auditor.manifest import load_cluster_folder

    declared = Declarations(source="cluster.yaml", nodes={"MGMT1": NodeDeclarations(cml_port=6011)})
    save_manifest(ClusterManifest(kind="snapshot", nodes=[NodeEntry(name="MGMT1", roles=["management"],
                                                                    status="refused")], declared=declared), tmp_path)
    manifest, states = load_cluster_folder(tmp_path)
    cluster = build_cluster(states, load_profile(None), manifest.declared)
    assert cluster.declared.node("MGMT1").cml_port == 6011
