"""The order a fix rolls out in (auditor/fixers/order.py): Management servers whose
Infrastructure Service changes first, then the other Management servers, then the Site
servers, inventory order within each group, whatever order the inventory lists them in."""

from __future__ import annotations

from pathlib import Path

from auditor.cluster import Cluster
from auditor.fixers.order import rollout_order
from auditor.fixers.plan import NodePlan
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile

HEALTHY = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "healthy"


def _cluster_sites_first() -> Cluster:
    states = load_cluster_folder(HEALTHY)[1]
    states.sort(key=lambda s: (not s.name.startswith("SITE"), s.name))  # SITE1, SITE2, MGMT1, MGMT2
    return Cluster.build(states, load_profile())


def _plan(node: str, check_id: str) -> NodePlan:
    return NodePlan(node=node, addresses=[(check_id, node)])


def test_management_servers_come_before_site_servers_listed_first():
    plans = [_plan("SITE1", "SPOC-MGMT-LIST"), _plan("SITE2", "SPOC-MGMT-LIST"), _plan("MGMT1", "SPOC-MGMT-LIST"),
             _plan("MGMT2", "SPOC-MGMT-LIST")]
    assert [p.node for p in rollout_order(_cluster_sites_first(), plans)] == ["MGMT1", "MGMT2", "SITE1", "SITE2"]


def test_a_management_server_whose_infrastructure_service_changes_goes_first():
    plans = [_plan("SITE1", "SPOC-MGMT-LIST"), _plan("MGMT1", "SPOC-MGMT-LIST"), _plan("MGMT2", "IMS-REPO-SHARED")]
    assert [p.node for p in rollout_order(_cluster_sites_first(), plans)] == ["MGMT2", "MGMT1", "SITE1"]
