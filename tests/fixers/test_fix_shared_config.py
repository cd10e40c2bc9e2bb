"""The MGMT-CONFIG-CONSISTENT fixer on the shipped disagree and tie scenarios: a deviating
server's shared keys are aligned with the cluster's value (added, set, removed) in a minimal
edit restarting the service that reads the file; secrets, node-specific keys and undecided keys
are never changed (blocked with the reason)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations
from auditor.findings import Status
from auditor.fixers import FixOptions, build_plan
from auditor.fixers.plan import FileEdit, FixPlan, combine_edits
from auditor.lab.scenario_builder import LAB_SHARED_SECRET
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, NodeState, path_key
from auditor.profile import load_profile

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
CHECK = "MGMT-CONFIG-CONSISTENT"
MGMT_CONF = "C:\\DispatcherParagon\\Management\\conf\\management.properties"
MGMT_IMS = "C:\\DispatcherParagon\\Management\\ims\\application.properties"


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def states(name: str) -> list[NodeState]:
    return load_cluster_folder(SCENARIOS / name)[1]


def plan_for(nodes: list[NodeState], profile, declared: Declarations | None = None,
             only: set[str] | None = None) -> FixPlan:
    cluster = Cluster.build(nodes, profile, declared)
    return build_plan(cluster, run_checks(cluster, only=only or {CHECK}), FixOptions())


def edit(plan: FixPlan, node: str, path: str):
    return next(e for e in plan.node(node).edits if e.path.lower() == path.lower())


def applied(nodes: list[NodeState], plan: FixPlan) -> list[NodeState]:
    out = copy.deepcopy(nodes)
    for np in plan.nodes:
        st = next(n for n in out if n.name == np.node)
        for e in np.edits:
            st.files[path_key(e.path)] = FileEntry(path=e.path, content=e.new, mtime="2026-11-27T08:00:00Z")
    return out


def config_findings(nodes: list[NodeState], profile):
    return {f.node: f for f in run_checks(Cluster.build(nodes, profile), only={CHECK})}


def test_the_missing_key_is_added_after_the_key_that_precedes_it_elsewhere(profile):
    e = edit(plan_for(states("disagree"), profile), "MGMT2", MGMT_CONF)
    assert b"dbUser=sqdb6user\r\nsessionTimeoutMinutes=30\r\nwebPort=443\r\n" in e.new


def test_the_management_service_restarts_after_its_file_changes(profile):
    assert edit(plan_for(states("disagree"), profile), "MGMT2", MGMT_CONF).restart == "YSoftSQ-Management"


def test_the_differing_value_is_set_and_the_extra_key_removed(profile):
    e = edit(plan_for(states("disagree"), profile), "MGMT3", MGMT_IMS)
    assert e.new.decode() == e.old.decode().replace("server.port=8080", "server.port=5111").replace(
        "logging.level.root=DEBUG\r\n", "")


def test_the_infrastructure_service_restarts_after_its_file_changes(profile):
    assert edit(plan_for(states("disagree"), profile), "MGMT3", MGMT_IMS).restart == "YSoftIms"


def test_a_secret_is_blocked_and_never_in_the_plan(profile):
    plan = plan_for(states("disagree"), profile)
    text = json.dumps(plan.to_dict())
    assert (LAB_SHARED_SECRET in text, "another-Secret-77" in text, "security.token.secret: a secret differs" in text) \
        == (False, False, True)


def test_the_node_with_only_a_node_specific_difference_gets_no_plan(profile):
    assert plan_for(states("disagree"), profile).node("MGMT1") is None


def test_after_the_fix_only_the_secret_still_differs(profile):
    nodes = states("disagree")
    after = config_findings(applied(nodes, plan_for(nodes, profile)), profile)
    assert ({n for n, f in after.items() if f.failing}, after["MGMT3"].details["problems"]) == (
        {"MGMT3"}, ["ims\\application.properties security.token.secret differs"])


def test_the_repository_fix_and_the_shared_keys_are_one_edit_of_the_file(profile):
    """IMS-REPO-SHARED and MGMT-CONFIG-CONSISTENT both change MGMT3's ims\\application.properties:
    one edit carries both changes (neither undoes the other), one restart."""
    plan = plan_for(states("disagree"), profile, only={CHECK, "IMS-REPO-SHARED"})
    e = edit(plan, "MGMT3", MGMT_IMS)
    assert (b"repository.path=\\\\\\\\fs01.corp.example" in e.new, b"server.port=5111" in e.new,
            [a.service for a in plan.node("MGMT3").actions]) == (True, True, ["YSoftIms"])


def test_a_tie_is_blocked_saying_what_to_declare(profile):
    plan = plan_for(states("tie"), profile)
    assert (plan.has_changes, ["shared_config" in b.reason for b in plan.blocked]) == (False, [True, True])


def test_a_declaration_decides_the_tie(profile):
    decl = Declarations(source="cluster.yaml", shared_config={"ims\\application.properties": {"server.port": "8080"}})
    plan = plan_for(states("tie"), profile, decl)
    assert ([n.node for n in plan.nodes], b"server.port=8080" in edit(plan, "MGMT1", MGMT_IMS).new) == (["MGMT1"], True)


def test_the_check_fails_what_the_plan_fixes(profile):
    findings = {f.node: f.status for f in run_checks(Cluster.build(states("disagree"), profile), only={CHECK})}
    assert findings == {"MGMT1": Status.PASS, "MGMT2": Status.FAIL, "MGMT3": Status.FAIL, "SITE1": Status.SKIP}


def test_a_server_whose_keys_are_all_blocked_is_not_expected_to_pass_after_the_fix(profile):
    """Its finding stays (blocked): the verification after another fixer's change on the same
    server must not wait for it to pass."""
    plan = plan_for(states("tie"), profile)
    assert [(n.node, n.addresses) for n in plan.nodes] == [("MGMT1", []), ("MGMT2", [])]


# ---- two fixers, one file ---------------------------------------------------------------------
def _edit(old: bytes, new: bytes, path: str = "C:\\x\\a.properties", restart: str | None = "YSoftIms"):
    return FileEdit(node="MGMT1", path=path, old=old, new=new, check_id="C", reason="r", restart=restart)


def test_two_edits_of_one_properties_file_combine_without_undoing_each_other():
    old = b"a=1\r\nb=2\r\nc=3\r\n"
    first, second = _edit(old, b"a=9\r\nb=2\r\nc=3\r\n"), _edit(old, b"a=1\r\nc=4\r\nd=5\r\n")
    assert combine_edits(first, second).new == b"a=9\r\nc=4\r\nd=5\r\n"


def test_two_edits_of_another_kind_of_file_are_refused():
    old = b"serverIP=1\r\n"
    with pytest.raises(ValueError):
        combine_edits(_edit(old, b"serverIP=2\r\n", "C:\\x\\spoc.conf"), _edit(old, b"x\r\n", "C:\\x\\spoc.conf"))
