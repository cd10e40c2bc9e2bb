"""The order of an update: Management servers one at a time, then the Site servers.

The vendor's procedure ("Updating Using the Server Installer"): update one Management server
first (it upgrades the database), then the other Management servers one at a time, then the
Site servers; do not start the Management Services by hand until every Management server is
updated. Told the target version, servers already on it are marked done, so the list says
which server is next during a rolling update.
"""

from __future__ import annotations

from auditor.checks.version_consistent import version_key
from auditor.cluster import Cluster, NodeView
from auditor.expectations import Expected
from auditor.precheck.model import Step, StepState


def update_order(cluster: Cluster, target: Expected | None) -> list[Step]:
    """Every Management and Site server in update order, each done / next / pending."""
    goal = str(target.value) if target is not None else None

    def done(node: NodeView) -> bool:
        return goal is not None and bool(node.version) and version_key(node.version or "") == version_key(goal)

    mgmt, sites = cluster.management_nodes, cluster.site_nodes
    ordered = ([n for n in mgmt if done(n)] + [n for n in mgmt if not done(n)]
               + [n for n in sites if done(n)] + [n for n in sites if not done(n)])
    first_site = next((n for n in ordered if not n.is_management), None)
    steps: list[Step] = []
    first_next = True
    for number, node in enumerate(ordered, start=1):
        state = StepState.DONE if done(node) else (StepState.NEXT if first_next else StepState.PENDING)
        first_next = first_next and state is StepState.DONE
        role = "management" if node.is_management else "site"
        if number == 1:
            note = "the first Management server updated upgrades the database"
        elif node.is_management:
            note = "one at a time; do not start Management Services by hand until every Management server is updated"
        elif node is first_site:
            note = "Site servers only after every Management server"
        else:
            note = ""
        steps.append(Step(number, node.name, role, node.version if node.reachable else None, state, note))
    return steps


__all__ = ["update_order"]
