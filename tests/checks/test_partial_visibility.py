"""A Management server that was not collected never makes another node fail: its entries in the
Spooler Controllers' lists are "not verifiable" (error, naming it), never both stale and missing;
its identity comes from the inventory, the address its host name resolved to, or the consensus
of the Spooler Controllers, each expectation with its source."""

from __future__ import annotations

import pytest

from auditor.declared import Declarations, NodeDeclarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.lab.scenario_builder import MgmtSpec
from tests.checks.checklab import MGMT_CONF, SPOC_IMS, Lab, rewrite, spoc_conf_of

G1 = "6f1c2a01-3b7e-4c1d-9a55-000000000001"
G2 = "6f1c2a02-3b7e-4c1d-9a55-000000000002"
SPOC_CHECKS = ("SPOC-MGMT-LIST", "SPOC-IMS-ADDRESSES")


def drift_like() -> Lab:
    """SITE1 lists a removed server (MGMT0) too; SITE2 lists neither MGMT2 nor its IMS."""
    lab = Lab()
    lab.spec("SITE1").spoc_stale = [MgmtSpec("MGMT0", "10.0.10.10", "6f1c2a00-3b7e-4c1d-9a55-000000000000")]
    lab.spec("SITE2").spoc_lists = ["MGMT1"]
    lab.spec("SITE2").ims_lists = ["MGMT1"]
    return lab


@pytest.mark.parametrize("check", SPOC_CHECKS)
@pytest.mark.parametrize("down", ["MGMT1", "MGMT2"])
def test_uncollected_server_named_by_host_name_makes_no_node_fail(check, down):
    found = Lab().down(down, address=f"{down.lower()}.corp.example").run(check)
    assert {n: f.status for n, f in found.items() if f.status == Status.FAIL} == {}


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_entries_of_the_uncollected_server_are_not_verifiable_naming_it(check):
    f = Lab().down("MGMT2", address="mgmt2.corp.example").run(check)["SITE1"]
    assert (f.status, "MGMT2 was not collected (the user name or password was rejected)" in f.message) == (
        Status.ERROR, True), f.message


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_address_resolved_on_the_admin_host_recognises_the_server(check):
    f = Lab().down("MGMT2", address="mgmt2.corp.example", resolved=("10.0.10.12",)).run(check)["SITE1"]
    assert (f.status, "is MGMT2's by its" in f.message) == (Status.ERROR, True), f.message


@pytest.mark.parametrize("down", ["MGMT1", "MGMT2"])
def test_stale_entry_still_fails_while_a_server_is_down(down):
    f = drift_like().down(down, address=f"{down.lower()}.corp.example").run("SPOC-MGMT-LIST")["SITE1"]
    assert (f.status, "entry 3 (GUID 6f1c2a00" in f.message and "stale" in f.message) == (Status.FAIL, True), \
        f.message


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_server_missing_from_a_list_still_fails_while_it_is_down(check):
    f = drift_like().down("MGMT2", address="mgmt2.corp.example").run(check)["SITE2"]
    assert (f.status, "missing Management server MGMT2" in f.message) == (Status.FAIL, True), f.message


@pytest.mark.parametrize("check", SPOC_CHECKS)
@pytest.mark.parametrize("down", ["MGMT1", "MGMT2"])
def test_no_entry_is_both_stale_and_missing(check, down):
    for f in drift_like().down(down, address="").run(check).values():
        assert not ("stale" in f.message and f"missing Management server {down}" in f.message), f.message


def test_unknown_server_without_any_clue_leaves_unclaimed_entries_not_verifiable():
    lab = Lab(managements=2)
    lab.spec("SITE1").spoc_lists = ["MGMT1"]  # only SITE1's list is read besides MGMT1's own
    lab.down("MGMT2", address="mgmt2.corp.example")
    # the two lists that name MGMT2 disagree on its GUID: no consensus either
    lab.edit(lambda by: [rewrite(by[n], spoc_conf_of(by[n]), lambda t, n=n: t.replace(G2, f"g2-{n}"))
                         for n in ("MGMT1", "SITE2")])
    f = lab.run("SPOC-MGMT-LIST")["SITE2"]
    assert (f.status, "may be MGMT2" in f.message) == (Status.ERROR, True), f.message


def test_more_unclaimed_entries_than_unknown_servers_fail_without_naming_one():
    lab = Lab()
    lab.spec("SITE1").spoc_stale = [MgmtSpec("MGMTX", "10.0.10.90", "guid-x"), MgmtSpec("MGMTY", "10.0.10.91", "guid-y")]
    lab.down("MGMT2", address="mgmt2.corp.example")
    # no Spooler Controller agrees on MGMT2's GUID: its identity stays unknown
    lab.edit(lambda by: [rewrite(by[n], spoc_conf_of(by[n]), lambda t, n=n: t.replace(G2, f"g2-{n}"))
                         for n in ("MGMT1", "SITE1", "SITE2")])
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert (f.status, "at least 2 of them are stale" in f.message) == (Status.FAIL, True), f.message


def test_consensus_guid_carries_its_source():
    f = Lab().down("MGMT2", address="mgmt2.corp.example", resolved=("10.0.10.12",)).run("SPOC-MGMT-LIST")["SITE1"]
    guid = Lab().down("MGMT2", address="mgmt2.corp.example", resolved=("10.0.10.12",)).cluster() \
        .identities().of("MGMT2").guid
    assert (guid.value, guid.source, guid.detail) == (
        G2, ExpectationSource.CONSENSUS, "inferred from 3 of 3 Spooler Controllers that list MGMT2's address")
    assert f.status == Status.ERROR


def test_fully_declared_server_is_verifiable_while_down():
    declared = Declarations(source="cluster.yaml", nodes={
        "MGMT2": NodeDeclarations(guid=G2, cml_port=6010, bound_ip="10.0.10.12")})
    found = Lab().down("MGMT2", address="mgmt2.corp.example").run("SPOC-MGMT-LIST", declared=declared)
    assert found["SITE1"].status == Status.PASS


def test_entry_against_a_declared_address_of_a_down_server_fails():
    declared = Declarations(source="cluster.yaml", nodes={
        "MGMT2": NodeDeclarations(guid=G2, cml_port=6010, bound_ip="10.0.11.12")})
    f = Lab().down("MGMT2", address="mgmt2.corp.example").run("SPOC-MGMT-LIST", declared=declared)["SITE1"]
    assert (f.status, f.expected_sources["MGMT2 bound address"].source) == (Status.FAIL, ExpectationSource.DECLARED)


# ---- GUID-UNIQUE -----------------------------------------------------------------------------
def _without_local_guid(lab: Lab) -> Lab:
    for m in ("MGMT1", "MGMT2"):
        lab.edit(lambda by, m=m: rewrite(by[m], MGMT_CONF, lambda t: "".join(
            line for line in t.splitlines(keepends=True) if not line.startswith("localGUID="))))
    return lab


def test_guid_unique_uses_the_consensus_when_the_configuration_has_no_guid():
    f = _without_local_guid(Lab()).run("GUID-UNIQUE")["MGMT1"]
    assert (f.status, f.expected_sources["MGMT1 GUID"].source) == (Status.PASS, ExpectationSource.CONSENSUS)


def test_guid_unique_errors_only_when_nothing_is_known():
    lab = _without_local_guid(Lab())
    lab.edit(lambda by: [rewrite(by[n], spoc_conf_of(by[n]), lambda t: "".join(
        line for line in t.splitlines(keepends=True) if not line.startswith("localGUID=")))
        for n in ("MGMT1", "MGMT2", "SITE1", "SITE2")])
    lab.edit(lambda by: [rewrite(by[n], spoc_conf_of(by[n]), lambda t, n=n: t.replace(G1, f"g1-{n}"))
                         for n in ("MGMT1", "MGMT2", "SITE1", "SITE2")])
    found = lab.run("GUID-UNIQUE")
    assert (found["MGMT1"].status, found["MGMT2"].status) == (Status.ERROR, Status.PASS)


def test_guid_unique_clash_names_the_source():
    lab = Lab().edit(lambda by: rewrite(by["MGMT2"], MGMT_CONF, lambda t: t.replace(G2, G1)))
    f = lab.run("GUID-UNIQUE")["MGMT2"]
    assert (f.status, "(collected: " in f.message) == (Status.FAIL, True), f.message


def test_ims_address_of_a_down_server_is_kept_off_the_stale_list():
    lab = Lab().down("MGMT2", address="mgmt2.corp.example")
    lab.edit(lambda by: rewrite(by["SITE1"], SPOC_IMS, lambda t: t.replace("10.0.10.12:8443", "10.0.10.99:8443")))
    f = lab.run("SPOC-IMS-ADDRESSES")["SITE1"]
    assert (f.status, "10.0.10.99:8443 matches no collected Management server and may be MGMT2" in f.message) == (
        Status.ERROR, True), f.message
