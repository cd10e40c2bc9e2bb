"""After a new Management server is installed: the follow-up plan, built and applied by ``auditor fix``.

The vendor procedure for adding a Management server ends with follow-up steps the fixers
already know one by one; this module only chooses them and has the last word on the plan:

* on the new server: ``repository.path`` on the cluster's share (IMS-REPO-SHARED) and the
  Infrastructure Service's log-on account (IMS-SERVICE-ACCOUNT);
* on every Spooler Controller (Management and Site servers): the new server's GUID, address
  and port under the next free suffix of ``spoc.conf`` (SPOC-MGMT-LIST), and its address in
  ``infrastructureServiceAddresses`` (SPOC-IMS-ADDRESSES).

The fix rollout (:mod:`auditor.fixers.rollout`) plans and applies them: dry run first, then
``--apply``; one node at a time in the order of :mod:`auditor.fixers.order` (the new server
first, then the other Management servers, then the Site servers), each node's services
running again and its checks passing before the next, so no two Spooler Controllers restart at
once. Its exit codes are ``auditor fix``'s (docs/exit-codes.md).

While the new server has nothing of the product installed, or runs another version than the
cluster, the plan is blocked: pointing every Spooler Controller at a server that cannot answer
would only break printing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.checks import run_checks
from auditor.checks._common import product_services
from auditor.cluster import Cluster
from auditor.fixers.plan import Blocked, FixOptions, FixPlan
from auditor.fixers.planning import Review
from auditor.fixers.rollout import FixRequest
from auditor.precheck.situation import failing

AFTER_CHECKS = ("IMS-REPO-SHARED", "IMS-SERVICE-ACCOUNT", "SPOC-MGMT-LIST", "SPOC-IMS-ADDRESSES")
"""The checks whose fixers do the follow-up steps (the plan's --check selection)."""

NOT_READY = "PRECHECK-AFTER"
"""The id of the blocked item that stops the follow-up while the new server is not ready."""


@dataclass(frozen=True)
class AfterRequest:
    """``auditor precheck add-management --after``, as the command parsed it."""

    inventory: Path
    new: str
    options: FixOptions
    state_dir: Path
    profile: Path | None = None
    apply: bool = False
    yes: bool = False
    journal: Path | None = None
    plan_json: Path | None = None
    progress: bool = True
    collect_options: Mapping[str, Any] = field(default_factory=dict)


def fix_request(request: AfterRequest) -> FixRequest:
    """The ``auditor fix`` request that plans (and with ``apply`` applies) the follow-up, after
    checking that ``request.new`` can be the new Management server (exit 2 before anything is
    contacted otherwise)."""
    from auditor.collect.cli_options import setup_from_options
    from auditor.precheck.run import check_new

    inv, _profile, _security = setup_from_options(request.inventory, request.profile, **request.collect_options)
    new = check_new(inv, request.new)
    return FixRequest(
        options=request.options, state_dir=request.state_dir, inventory=request.inventory, profile=request.profile,
        checks=AFTER_CHECKS, apply=request.apply, yes=request.yes, journal=request.journal,
        plan_json=request.plan_json, progress=request.progress, collect_options=request.collect_options,
        review=review_after(new))


def review_after(new: str) -> Review:
    """The follow-up's last word on the plan: blocked while ``new`` is not ready, and notes
    that say what the plan does and in which order."""

    def review(cluster: Cluster, plan: FixPlan) -> None:
        node = cluster.node(new)
        if node is None or not node.reachable:
            return  # the rollout reports the node not collected (exit 3) and applies nothing
        why = _not_ready(cluster, new)
        if why:
            plan.nodes = []
            plan.blocked = [Blocked(NOT_READY, [new], why)]
            return
        order = [n.node for n in plan.nodes if not n.empty]
        if order:
            plan.notes.insert(0, (f"Follow-up of adding {new}, one node at a time in this order: "
                                  f"{', '.join(order)}; each node's services run again and its checks pass "
                                  "before the next, so no two Spooler Controllers restart at once"))

    return review


def _not_ready(cluster: Cluster, new: str) -> str:
    """Why the follow-up must wait ("" when the new server is ready for it)."""
    node = cluster.node(new)
    assert node is not None
    if not product_services(cluster, node) or node.management is None:
        return (f"{new} has nothing of the product installed yet: install it first (server installer, "
                "'Additional Management server'), then run the follow-up again")
    behind = failing(run_checks(cluster, only={"VERSION-CONSISTENT"}), [new])
    if behind:
        return f"{new}: {behind[0].message}: install it with the cluster's version first"
    return ""


__all__ = ["AFTER_CHECKS", "NOT_READY", "AfterRequest", "fix_request", "review_after"]
