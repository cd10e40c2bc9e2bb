"""The interface the services bind to: a Management server with two interfaces is reached only on
the one chosen in the installer (usedLocalIp); an entry naming its other interface fails, in
spoc.conf and in infrastructureServiceAddresses; only when the bound address is unknown is any
address accepted, with a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations, NodeDeclarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile
from tests.checks.checklab import MGMT_CONF, Lab, rewrite

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
SPOC_CHECKS = ("SPOC-MGMT-LIST", "SPOC-IMS-ADDRESSES")
OTHER = "10.0.11.11"


def two_interfaces() -> Lab:
    """MGMT1 on 10.0.10.11 (bound) and 10.0.11.11; SITE1 lists the bound one, SITE2 the other."""
    lab = Lab()
    lab.spec("MGMT1").extra_ips = [OTHER]
    lab.spec("SITE2").spoc_ips = {"MGMT1": OTHER}
    lab.spec("SITE2").ims_ips = {"MGMT1": OTHER}
    return lab


def without_used_local_ip(lab: Lab) -> Lab:
    return lab.edit(lambda by: rewrite(by["MGMT1"], MGMT_CONF, lambda t: t.replace("usedLocalIp=10.0.10.11\r\n", "")))


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_the_bound_interface_passes(check):
    assert two_interfaces().run(check)["SITE1"].status == Status.PASS


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_the_other_interface_fails_with_the_reason(check):
    f = two_interfaces().run(check)["SITE2"]
    assert (f.status, f"{OTHER} is another interface of MGMT1; its services bind only to 10.0.10.11" in f.message
            ) == (Status.FAIL, True), f.message


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_the_bound_address_names_its_source(check):
    f = two_interfaces().run(check)["SITE2"]
    assert f.expected_sources["MGMT1 bound address"].source == ExpectationSource.COLLECTED


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_without_a_configured_bound_address_the_consensus_decides(check):
    found = without_used_local_ip(two_interfaces()).run(check)
    # three Spooler Controllers list 10.0.10.11 and one the other interface: the consensus decides
    assert (found["SITE2"].status, found["SITE2"].expected_sources["MGMT1 bound address"].source) == (
        Status.FAIL, ExpectationSource.CONSENSUS)


@pytest.mark.parametrize("check", SPOC_CHECKS)
def test_without_bound_address_or_consensus_any_interface_passes_with_a_note(check):
    lab = without_used_local_ip(two_interfaces())
    lab.spec("SITE1").spoc_ips = {"MGMT1": OTHER}
    lab.spec("SITE1").ims_ips = {"MGMT1": OTHER}  # two lists each way: no majority
    f = lab.run(check)["SITE2"]
    assert (f.status, "any of its addresses (10.0.10.11, 10.0.11.11) is accepted" in f.message) == (
        Status.PASS, True), f.message


def test_declared_bound_address_wins_over_the_configuration():
    declared = Declarations(source="cluster.yaml", nodes={"MGMT1": NodeDeclarations(bound_ip=OTHER)})
    found = two_interfaces().run("SPOC-MGMT-LIST", declared=declared)
    assert (found["SITE1"].status, found["SITE2"].status) == (Status.FAIL, Status.PASS)


def test_the_scenario_fails_exactly_where_planted():
    manifest, states = load_cluster_folder(SCENARIOS / "two-interfaces")
    findings = run_checks(Cluster.build(states, load_profile()))
    assert {(f.check_id, f.node) for f in findings if f.failing} == {(p["check_id"], p["node"]) for p in manifest.planted}
