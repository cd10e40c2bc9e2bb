"""The order a fix rolls out in: the vendor's order, Management servers before Site servers.

The apply engine changes one node at a time and verifies it (its services running again,
its checks passing) before the next; this module decides which node comes first:

1. Management servers whose Infrastructure Service changes (its repository.path, its log-on
   account): a newly installed Management server gets the shared repository and the service
   account before any Spooler Controller is pointed at it;
2. the other Management servers;
3. the Site servers;

each group in inventory order. The update procedure has the same shape (Management servers
first, one at a time, then Site servers), and so does adding a Management server: the
Spooler Controllers of the Management servers learn of it first, then the Site servers'.
Because one node restarts at a time and must run again before the next, a SPOC group never
loses more than one member at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.cluster import Cluster
from auditor.fixers.plan import NodePlan

IMS_CHECKS = frozenset({"IMS-REPO-SHARED", "IMS-SERVICE-ACCOUNT"})
"""Checks whose fixes change a Management server's own Infrastructure Service."""


def _rank(cluster: Cluster, plan: NodePlan) -> int:
    view = cluster.node(plan.node)
    if view is None:
        return 3
    if view.is_management:
        return 0 if IMS_CHECKS & set(plan.check_ids) else 1
    return 2 if view.is_site else 3


def rollout_order(cluster: Cluster, plans: Sequence[NodePlan]) -> list[NodePlan]:
    """``plans`` (in inventory order) in the order they are applied."""
    position = {p.node.lower(): i for i, p in enumerate(plans)}
    return sorted(plans, key=lambda p: (_rank(cluster, p), position[p.node.lower()]))


__all__ = ["IMS_CHECKS", "rollout_order"]
