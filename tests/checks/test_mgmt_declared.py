"""MGMT-DECLARED: a collected value that disagrees with the inventory's declaration is a finding
naming both; the declared value is the expectation, with its source."""

from __future__ import annotations

from auditor.declared import Declarations, NodeDeclarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from tests.checks.checklab import MGMT_CONF, Lab, rewrite

G1 = "6f1c2a01-3b7e-4c1d-9a55-000000000001"


def declare(**mgmt1) -> Declarations:
    return Declarations(source="cluster.yaml", nodes={"MGMT1": NodeDeclarations(**mgmt1)},
                        lines={f"nodes.mgmt1.{k}": 20 + i for i, k in enumerate(mgmt1)})


def test_agreeing_declarations_pass():
    found = Lab().run("MGMT-DECLARED", declared=declare(guid=G1.upper(), cml_port=6010, bound_ip="10.0.10.11"))
    assert found["MGMT1"].status == Status.PASS


def test_disagreeing_guid_fails_naming_both_values():
    f = Lab().run("MGMT-DECLARED", declared=declare(guid="mgmt-one"))["MGMT1"]
    assert f.status == Status.FAIL
    assert "declares mgmt-one (cluster.yaml line 20)" in f.message
    assert f"says {G1} (C:\\DispatcherParagon\\Management\\conf\\management.properties line 2: localGUID (assumed key))" in f.message


def test_disagreeing_port_fails():
    f = Lab().run("MGMT-DECLARED", declared=declare(cml_port=6011))["MGMT1"]
    assert f.status == Status.FAIL


def test_declared_value_is_the_expectation_with_its_source():
    f = Lab().run("MGMT-DECLARED", declared=declare(cml_port=6011))["MGMT1"]
    assert f.expected_sources["MGMT1 CML port"].source == ExpectationSource.DECLARED


def test_bound_ip_that_is_not_an_address_of_the_server_fails():
    lab = Lab().edit(lambda by: rewrite(by["MGMT1"], MGMT_CONF,
                                        lambda t: t.replace("usedLocalIp=10.0.10.11\r\n", "")))
    f = lab.run("MGMT-DECLARED", declared=declare(bound_ip="10.0.11.11"))["MGMT1"]
    assert (f.status, "not an address of this server" in f.message) == (Status.FAIL, True), f.message


def test_declaration_without_a_collected_value_is_not_a_finding():
    lab = Lab().edit(lambda by: rewrite(by["MGMT1"], MGMT_CONF,
                                        lambda t: t.replace(f"localGUID={G1}\r\n", "")))
    f = lab.run("MGMT-DECLARED", declared=declare(guid=G1))["MGMT1"]
    assert (f.status, "nothing collected" in f.message) == (Status.SKIP, True), f.message


def test_servers_without_declarations_are_skipped():
    found = Lab().run("MGMT-DECLARED", declared=declare(guid=G1))
    assert found["MGMT2"].status == Status.SKIP
