"""``auditor fix`` plans nothing that depends on a Management server that was not collected:
no list written without it, none of its entries removed as stale, it is not added from a
guess; with its identity declared in the inventory the plan can go ahead."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations, NodeDeclarations
from auditor.fixers import FixOptions, FixPlan, build_plan
from auditor.manifest import load_cluster_folder
from auditor.nodestate import NodeState
from auditor.profile import load_profile
from auditor.vocab import NodeStatus

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
MGMT2_GUID = "6f1c2a02-3b7e-4c1d-9a55-000000000002"


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def drift_without(name: str) -> list[NodeState]:
    """The drift scenario with ``name`` not collected (wrong password), addressed by host name."""
    states = load_cluster_folder(SCENARIOS / "drift")[1]
    for i, st in enumerate(states):
        if st.name == name:
            states[i] = NodeState(name=name, roles=list(st.roles), address=f"{name.lower()}.corp.example",
                                  status=NodeStatus.AUTH, reason="the user name or password was rejected")
    return states


def plan_for(states: list[NodeState], profile, check: str, declared: Declarations | None = None,
             **opts) -> FixPlan:
    cluster = Cluster.build(states, profile, declared)
    return build_plan(cluster, run_checks(cluster, only={check}), FixOptions(**opts))


def changed_text(plan: FixPlan) -> str:
    return "\n".join(e.new.decode("utf-8", "replace") + e.reason for n in plan.nodes for e in n.edits)


@pytest.mark.parametrize("down", ["MGMT1", "MGMT2"])
def test_spoc_list_is_not_rewritten_while_a_management_server_is_down(profile, down):
    plan = plan_for(drift_without(down), profile, "SPOC-MGMT-LIST", remove_stale=True)
    assert not plan.has_changes


def test_the_plan_says_which_server_is_missing_and_how_to_declare_it(profile):
    plan = plan_for(drift_without("MGMT2"), profile, "SPOC-MGMT-LIST")
    reasons = " ".join(b.reason for b in plan.blocked)
    assert "MGMT2 was not collected" in reasons, reasons
    assert "declare guid, bound_ip and cml_port" in reasons, reasons


def test_a_declared_server_is_written_while_down(profile):
    declared = Declarations(nodes={"MGMT2": NodeDeclarations(guid=MGMT2_GUID, cml_port=6010, bound_ip="10.0.10.12")})
    plan = plan_for(drift_without("MGMT2"), profile, "SPOC-MGMT-LIST", declared)
    assert f"serverGUID2={MGMT2_GUID}\r\nserverIP2=10.0.10.12" in changed_text(plan)


def test_an_address_that_may_be_a_down_server_is_never_removed_as_stale(profile):
    states = drift_without("MGMT2")
    site1 = next(s for s in states if s.name == "SITE1")
    path = "C:\\DispatcherParagon\\SPOC\\ims\\application.properties"
    entry = site1.file(path)
    # MGMT2 under an alias nothing resolves, and MGMT1 listed twice (a duplicate to remove)
    entry.content = entry.content.replace(b"10.0.10.12:8443", b"ims-b.corp.example:8443,10.0.10.11:8443")
    plan = plan_for(states, profile, "SPOC-IMS-ADDRESSES", remove_stale=True)
    new = plan.node("SITE1").edits[0].new.decode()
    assert "infrastructureServiceAddresses=10.0.10.11:8443,ims-b.corp.example:8443\r\n" in new, new


def test_a_down_server_is_not_added_from_a_guess(profile):
    plan = plan_for(drift_without("MGMT2"), profile, "SPOC-IMS-ADDRESSES")
    assert "10.0.10.12" not in changed_text(plan)
