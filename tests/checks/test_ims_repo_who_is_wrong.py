"""IMS-REPO-SHARED decides who is wrong: the declared ims_repository, then a path that is not
shared, then the majority; only the deviating servers fail."""

from __future__ import annotations

from auditor.declared import Declarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.vocab import NodeStatus
from tests.checks.checklab import Lab, declaring, failing

SHARE = "\\\\fs01.corp.example\\paragon\\ims-repository"  # the lab's default
OTHER = "\\\\fs02\\other"


def lab_with(paths: dict[str, str], managements: int = 2) -> Lab:
    return Lab(managements=managements).each("repository_path", paths)


def declare(path: str) -> Declarations:
    return declaring("ims_repository", path)


def test_two_shares_on_two_nodes_tie():
    found = lab_with({"MGMT2": OTHER}).run("IMS-REPO-SHARED")
    assert failing(found) == {"MGMT1", "MGMT2"}


def test_the_tie_says_what_to_declare():
    f = lab_with({"MGMT2": OTHER}).run("IMS-REPO-SHARED")["MGMT2"]
    assert "(key ims_repository)" in f.message


def test_two_nodes_the_declared_share_blames_the_other():
    found = lab_with({"MGMT2": OTHER}).run("IMS-REPO-SHARED", declared=declare(OTHER))
    assert failing(found) == {"MGMT1"}


def test_the_declared_share_is_the_expectation():
    f = lab_with({"MGMT2": OTHER}).run("IMS-REPO-SHARED", declared=declare(OTHER))["MGMT1"]
    assert (f.expected, f.expected_sources["repository.path"].source) == (OTHER, ExpectationSource.DECLARED)


def test_a_local_path_loses_against_a_share():
    found = lab_with({"MGMT1": "C:\\repo"}).run("IMS-REPO-SHARED")
    assert failing(found) == {"MGMT1"}


def test_the_node_on_the_share_passes_naming_the_other():
    f = lab_with({"MGMT1": "C:\\repo"}).run("IMS-REPO-SHARED")["MGMT2"]
    assert f.message == f"{SHARE} is shared and reachable (MGMT1 differs, see its finding)"


def test_three_nodes_the_majority_wins():
    found = lab_with({"MGMT3": OTHER}, 3).run("IMS-REPO-SHARED")
    assert failing(found) == {"MGMT3"}


def test_three_nodes_the_majority_names_its_holders():
    f = lab_with({"MGMT3": OTHER}, 3).run("IMS-REPO-SHARED")["MGMT3"]
    assert f.message == f"repository.path {OTHER} differs from {SHARE}, the value of MGMT1, MGMT2 (2 of 3)"


def test_three_nodes_the_declaration_beats_the_majority():
    found = lab_with({"MGMT3": OTHER}, 3).run("IMS-REPO-SHARED", declared=declare(OTHER))
    assert failing(found) == {"MGMT1", "MGMT2"}


def test_a_declared_path_is_compared_normalised():
    found = lab_with({}).run("IMS-REPO-SHARED", declared=declare("//FS01.corp.example/paragon/ims-repository/"))
    assert failing(found) == set()


def test_a_node_not_collected_neither_votes_nor_fails():
    def down(states):
        states["MGMT1"].status = NodeStatus.TIMEOUT
    found = lab_with({"MGMT3": OTHER}, 3).edit(down).run("IMS-REPO-SHARED")
    assert (found["MGMT1"].status, failing(found)) == (Status.SKIP, {"MGMT2", "MGMT3"})
