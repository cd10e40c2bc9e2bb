"""Fixer for IMS-REPO-SHARED: point every Management server's IMS repository at one shared path.

Which path is right is a decision, so it is taken conservatively:

- ``--repository-path`` when the admin gives one (it must be a UNC path: a drive-letter path
  is local to one node by definition);
- otherwise the path the check's judgement names (auditor.deviation): the inventory's
  ``ims_repository``, else the only UNC path in use, else the UNC path most Management servers
  use, written exactly as the declaration or the first such node spells it. A node whose admin
  plainly wrote a UNC path with single backslashes (read by Java as something else) counts
  with the path it means;
- otherwise nothing: two different shares (a tie), or no share at all, means the admin must
  choose (and probably copy content), so the fixer refuses and says how (declare
  ``ims_repository`` or give ``--repository-path``).

Only ``repository.path`` changes (value escaped as Java .properties require, by the one rule
:func:`auditor.parsers.properties.escape_value`: ``\\\\fs01\\paragon`` is written
``\\\\\\\\fs01\\\\paragon``); then the Infrastructure Service is
restarted (profile ``restart_after_change.management_ims_properties``). The repository's
*content* is not copied: the plan says so, because a node switched to an empty share serves
nothing until the content is there.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.checks.ims_repo_shared import is_shared, judgement, repository_key
from auditor.cluster import Cluster
from auditor.errors import InputError
from auditor.findings import Finding
from auditor.fixers._common import addresses, blocked_plan, current_bytes, decided_value, restart_name
from auditor.fixers.plan import FileEdit, FixOptions, NodePlan
from auditor.parsers import PropertiesDocument

CHECK_ID = "IMS-REPO-SHARED"


def shared_path(cluster: Cluster, options: FixOptions) -> str:
    """The repository path every Management server must use (see module docstring)."""
    if options.repository_path:
        if not is_shared(options.repository_path):
            raise InputError(f"--repository-path {options.repository_path!r} is not a UNC path "
                             "(\\\\server\\share\\folder); a local path cannot be shared")
        return options.repository_path.strip()
    return decided_value(judgement(cluster), cluster,
                         "or choose one with --repository-path \\\\server\\share\\folder").strip()


def plan(cluster: Cluster, findings: Sequence[Finding], options: FixOptions) -> list[NodePlan]:
    if not any(f.failing for f in findings) and not options.repository_path:
        return []
    target = shared_path(cluster, options)
    key = cluster.profile.management_ims.repository_key
    plans: list[NodePlan] = []
    for view in cluster.management_nodes:
        if not options.targets(view.name):
            continue
        m = view.management
        if not view.reachable or m is None:
            continue
        if m.repository_path and repository_key(m.repository_path) == repository_key(target):
            continue
        if not m.ims.ok or m.ims.path is None:
            plans.append(blocked_plan(view, CHECK_ID, f"cannot edit the IMS settings: {m.ims.problem()}"))
            continue
        old = current_bytes(view, m.ims.path)
        if old is None:
            plans.append(blocked_plan(view, CHECK_ID, f"{m.ims.path} content was not collected"))
            continue
        service = restart_name(cluster, view, "management_ims_properties", "infrastructure")
        if service is None:
            plans.append(blocked_plan(view, CHECK_ID, "the Infrastructure Service was not found, so a change "
                                                      "could not be picked up"))
            continue
        doc = PropertiesDocument(old, m.ims.path)
        doc.set(key, target)
        new = doc.render()
        plans.append(NodePlan(
            node=view.name,
            edits=[FileEdit(node=view.name, path=m.ims.path, old=old, new=new, check_id=CHECK_ID,
                            reason=f"set {key} from {m.repository_path or '(unset)'} to the shared {target}",
                            restart=service)],
            notes=[f"{view.name}: the repository content under {m.repository_path or '(unset)'} is not copied; "
                   f"make sure {target} holds it and that the {service} account can write there"],
            addresses=addresses(findings, view.name),
        ))
    return plans
