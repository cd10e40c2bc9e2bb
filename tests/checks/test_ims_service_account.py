"""IMS-SERVICE-ACCOUNT: every log-on account classified, the kinds that cannot hold rights on the
repository share fail, and when Management servers disagree only the wrong one fails."""

from __future__ import annotations

import pytest

from auditor.declared import Declarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.lab.scenario_builder import ACCOUNT_KINDS
from auditor.vocab import NodeStatus
from tests.checks.checklab import Lab, declaring, failing

DOMAIN = "CORP\\svc-paragon"  # the lab's default account
KINDS = ACCOUNT_KINDS  # one account of each kind (the lab's servers run as CORP\svc-paragon)
FAILING_KINDS = ("built-in", "virtual", "local", "unknown form")


def lab_with(accounts: dict[str, str], managements: int = 2) -> Lab:
    return Lab(managements=managements).each("ims_account", accounts)


def declare(account: str) -> Declarations:
    return declaring("ims_service_account", account, line=9)


# ---- kinds on one node ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_kind_is_in_the_finding(kind):
    f = lab_with({"MGMT2": KINDS[kind]}, 3).run("IMS-SERVICE-ACCOUNT")["MGMT2"]
    assert f.details["account_kind"] == kind


@pytest.mark.parametrize("kind", FAILING_KINDS)
def test_a_kind_that_cannot_reach_the_share_fails_only_its_node(kind):
    assert failing(lab_with({"MGMT2": KINDS[kind]}).run("IMS-SERVICE-ACCOUNT")) == {"MGMT2"}


@pytest.mark.parametrize("kind", FAILING_KINDS)
def test_the_failure_says_why_the_kind_cannot_work(kind):
    f = lab_with({"MGMT2": KINDS[kind]}).run("IMS-SERVICE-ACCOUNT")["MGMT2"]
    assert "cannot hold rights on the repository share" in f.message


def test_the_reason_names_the_vendor_requirement():
    f = lab_with({"MGMT2": KINDS["local"]}).run("IMS-SERVICE-ACCOUNT")["MGMT2"]
    assert "full administrative rights on the local server and to the shared directory" in f.message


def test_the_server_own_name_makes_a_local_account():
    f = lab_with({"MGMT2": "MGMT2\\svc-paragon"}).run("IMS-SERVICE-ACCOUNT")["MGMT2"]
    assert (f.status, f.details["account_kind"]) == (Status.FAIL, "local")


def test_the_failing_node_is_fixable():
    assert lab_with({"MGMT2": KINDS["virtual"]}).run("IMS-SERVICE-ACCOUNT")["MGMT2"].fixable


def test_the_good_node_passes_naming_the_bad_one():
    f = lab_with({"MGMT2": KINDS["virtual"]}).run("IMS-SERVICE-ACCOUNT")["MGMT1"]
    assert f.message == "YSoftIms runs as CORP\\svc-paragon (domain account) (MGMT2 differs, see its finding)"


def test_the_only_account_that_can_work_is_the_expectation():
    f = lab_with({"MGMT2": KINDS["local"]}).run("IMS-SERVICE-ACCOUNT")["MGMT2"]
    assert (f.expected, f.expected_sources["Infrastructure Service account"].source) == (
        DOMAIN, ExpectationSource.COLLECTED)


# ---- kinds on all nodes -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", FAILING_KINDS)
def test_a_failing_kind_on_every_node_fails_every_node(kind):
    found = lab_with({"MGMT1": KINDS[kind], "MGMT2": KINDS[kind]}).run("IMS-SERVICE-ACCOUNT")
    assert failing(found) == {"MGMT1", "MGMT2"}


@pytest.mark.parametrize("kind", ["domain", "gMSA"])
def test_a_share_capable_kind_on_every_node_passes(kind):
    found = lab_with({"MGMT1": KINDS[kind], "MGMT2": KINDS[kind]}).run("IMS-SERVICE-ACCOUNT")
    assert failing(found) == set()


def test_nothing_valid_expects_a_share_capable_kind():
    f = lab_with({"MGMT1": "LocalSystem", "MGMT2": "LocalSystem"}).run("IMS-SERVICE-ACCOUNT")["MGMT1"]
    assert f.expected == "domain account or group managed service account (gMSA)"


# ---- who is wrong -----------------------------------------------------------------------------
def test_same_account_in_another_case_agrees():
    assert failing(lab_with({"MGMT2": "corp\\SVC-PARAGON"}).run("IMS-SERVICE-ACCOUNT")) == set()


def test_two_nodes_two_domain_accounts_tie():
    found = lab_with({"MGMT2": "CORP\\svc-other"}).run("IMS-SERVICE-ACCOUNT")
    assert failing(found) == {"MGMT1", "MGMT2"}


def test_the_tie_says_what_to_declare():
    f = lab_with({"MGMT2": "CORP\\svc-other"}).run("IMS-SERVICE-ACCOUNT")["MGMT1"]
    assert "tie:" in f.message
    assert "(key ims_service_account)" in f.message


def test_two_nodes_with_a_declaration_blame_the_other_one():
    found = lab_with({"MGMT2": "CORP\\svc-other"}).run("IMS-SERVICE-ACCOUNT", declared=declare("CORP\\svc-other"))
    assert failing(found) == {"MGMT1"}


def test_the_declaration_is_the_expectation():
    f = lab_with({"MGMT2": "CORP\\svc-other"}).run("IMS-SERVICE-ACCOUNT", declared=declare("corp\\svc-other"))["MGMT1"]
    assert f.expected_sources["Infrastructure Service account"].detail == "cluster.yaml line 9"


def test_three_nodes_the_majority_wins():
    found = lab_with({"MGMT3": "CORP\\svc-other"}, 3).run("IMS-SERVICE-ACCOUNT")
    assert failing(found) == {"MGMT3"}


def test_three_nodes_a_declaration_beats_the_majority():
    found = lab_with({"MGMT3": "CORP\\svc-other"}, 3).run("IMS-SERVICE-ACCOUNT", declared=declare("CORP\\svc-other"))
    assert failing(found) == {"MGMT1", "MGMT2"}


def test_a_declared_account_that_cannot_work_is_reported():
    f = lab_with({"MGMT1": ".\\svc", "MGMT2": ".\\svc"}).run("IMS-SERVICE-ACCOUNT", declared=declare(".\\svc"))["MGMT1"]
    assert "local account" in f.details["declared_problem"]


def test_unreachable_node_neither_votes_nor_fails():
    def down(states):
        states["MGMT1"].status = NodeStatus.REFUSED
    found = lab_with({"MGMT3": "CORP\\svc-other"}, 3).edit(down).run("IMS-SERVICE-ACCOUNT")
    assert (found["MGMT1"].status, failing(found)) == (Status.SKIP, {"MGMT2", "MGMT3"})


def test_service_missing_is_error():
    lab = Lab().edit(lambda s: setattr(s["MGMT1"], "services", [x for x in s["MGMT1"].services if x.name != "YSoftIms"]))
    assert lab.run("IMS-SERVICE-ACCOUNT")["MGMT1"].status == Status.ERROR


def test_the_finding_is_json_as_reports_write_it():
    import json

    f = lab_with({"MGMT2": KINDS["local"]}).run("IMS-SERVICE-ACCOUNT")["MGMT2"]
    assert json.loads(json.dumps(f.to_dict()))["expected_sources"]["Infrastructure Service account"]["value"] == DOMAIN
