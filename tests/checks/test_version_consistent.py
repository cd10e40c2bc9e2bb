"""VERSION-CONSISTENT decides who is wrong: the declared expected_version, else the newest
Management server's build (the database was upgraded by it); only the others fail."""

from __future__ import annotations

from auditor.declared import Declarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.nodestate import NodeState
from auditor.vocab import NodeStatus
from tests.checks.checklab import Lab, failing

NEW = "6.0.113.1"
OLD = "6.0.112.4"  # the lab's default build


def declare(version: str) -> Declarations:
    return Declarations(source="cluster.yaml", expected_version=version, lines={"expected_version": 7})


def only_management(lab: Lab) -> Lab:
    lab.specs = [s for s in lab.specs if "management" in s.roles]
    return lab


def two_versions(managements: int = 2) -> Lab:
    lab = only_management(Lab(managements=managements))
    lab.spec("MGMT1").version = NEW
    return lab


def test_two_nodes_without_declaration_blame_the_older():
    assert failing(two_versions().run("VERSION-CONSISTENT")) == {"MGMT2"}


def test_the_newest_passes_naming_the_other():
    f = two_versions().run("VERSION-CONSISTENT")["MGMT1"]
    assert f.message == f"version {NEW} (MGMT2 differs, see its finding)"


def test_the_older_is_behind_the_clusters_build():
    f = two_versions().run("VERSION-CONSISTENT")["MGMT2"]
    assert f.message == f"version {OLD} is behind the cluster's {NEW} (newest on MGMT1)"


def test_newest_is_the_expectation_collected_from_its_node():
    f = two_versions().run("VERSION-CONSISTENT")["MGMT2"]
    assert f.expected_sources["product version"].source is ExpectationSource.COLLECTED


def test_three_nodes_the_newest_wins_over_the_majority():
    assert failing(two_versions(3).run("VERSION-CONSISTENT")) == {"MGMT2", "MGMT3"}


def test_two_nodes_declared_older_build_blames_the_newer():
    found = two_versions().run("VERSION-CONSISTENT", declared=declare(OLD))
    assert failing(found) == {"MGMT1"}


def test_declared_build_message_says_where_it_was_declared():
    f = two_versions().run("VERSION-CONSISTENT", declared=declare(OLD))["MGMT1"]
    assert f.message == f"version {NEW} is ahead of the declared {OLD} (cluster.yaml line 7)"


def test_declared_build_is_the_expectation():
    f = two_versions().run("VERSION-CONSISTENT", declared=declare(OLD))["MGMT2"]
    assert f.expected_sources["product version"].source is ExpectationSource.DECLARED


def test_three_nodes_declared_newest_blames_the_majority():
    found = two_versions(3).run("VERSION-CONSISTENT", declared=declare(NEW))
    assert failing(found) == {"MGMT2", "MGMT3"}


def test_three_nodes_declared_build_nobody_runs_blames_all():
    found = two_versions(3).run("VERSION-CONSISTENT", declared=declare("6.1.0.1"))
    assert failing(found) == {"MGMT1", "MGMT2", "MGMT3"}


def test_site_servers_are_judged_against_the_declaration():
    found = Lab().run("VERSION-CONSISTENT", declared=declare(NEW))
    assert failing(found) == {"MGMT1", "MGMT2", "SITE1", "SITE2"}


def unreachable(st: NodeState) -> None:
    st.status = NodeStatus.REFUSED
    st.reason = "connection refused"


def test_a_node_not_collected_never_votes_nor_fails():
    lab = two_versions(3).edit(lambda s: unreachable(s["MGMT1"]))
    found = lab.run("VERSION-CONSISTENT")
    assert (found["MGMT1"].status, failing(found)) == (Status.SKIP, set())


def test_a_node_not_collected_is_named_as_not_voting():
    lab = two_versions(3).edit(lambda s: unreachable(s["MGMT1"]))
    assert "MGMT1: no value collected, did not vote" in lab.run("VERSION-CONSISTENT")["MGMT2"].message
