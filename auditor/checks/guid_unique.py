"""GUID-UNIQUE: no two servers share a Management Service or Spooler Controller GUID."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import file_error, make, per_node
from auditor.cluster import Cluster, NodeView, normalize_guid
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="GUID-UNIQUE",
    title="Management Service and Spooler Controller GUIDs are unique across the cluster",
    severity=Severity.CRITICAL,
    rationale=(
        "Servers are identified by GUID (an opaque string, compared ignoring case and braces). "
        "Two Management servers or two Spooler Controllers with one GUID (typically a cloned VM "
        "or a reused installer answer file) overwrite each other's registration and break job "
        "routing. Management and SPOC GUIDs are separate name spaces and are checked separately."
    ),
    remediation=(
        "Give the cloned server a new GUID by reinstalling the affected subsystem on it (the "
        "installer generates one, or pass a new /CFG:localGUID=...), then update every spoc.conf "
        "that lists it. Contact support before changing the GUID of a registered Management server."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "spoc_conf.own_guid_key",
    "management_conf.guid_key",
)


def run(cluster: Cluster) -> Iterator[Finding]:
    mgmt: dict[str, list[str]] = {}
    spoc: dict[str, list[str]] = {}
    for n in cluster.nodes:
        if not n.reachable:
            continue
        if n.management and n.management.guid:
            mgmt.setdefault(normalize_guid(n.management.guid), []).append(n.name)
        if n.spoc and n.spoc.own_guid:
            spoc.setdefault(normalize_guid(n.spoc.own_guid), []).append(n.name)
    own_key = cluster.profile.spoc_conf.own_guid_key
    guid_key = cluster.profile.management_conf.guid_key

    def check_node(node: NodeView) -> Iterator[Finding]:
        if node.management is None and node.spoc is None:
            yield make(META, Status.SKIP, node.name, node.name, "not applicable: no Management Service or SPOC")
            return
        problems, unknown, have = [], [], {}
        if node.management is not None:
            g = node.management.guid
            if g:
                have["management"] = g
                others = [x for x in mgmt[normalize_guid(g)] if x != node.name]
                if others:
                    problems.append(f"Management GUID {g} also used by {', '.join(others)}")
            elif node.management.conf_errors():
                yield file_error(META, node, node.name, node.management.conf_errors()[0])
                return
            else:
                unknown.append(f"Management {guid_key} not found in conf\\*.properties")
        if node.spoc is not None:
            g = node.spoc.own_guid
            if g:
                have["spoc"] = g
                others = [x for x in spoc[normalize_guid(g)] if x != node.name]
                if others:
                    problems.append(f"SPOC GUID {g} also used by {', '.join(others)}")
            elif not node.spoc.conf.ok:
                yield file_error(META, node, node.name, node.spoc.conf)
                return
            else:
                unknown.append(f"SPOC {own_key} not found in spoc.conf")
        if problems:
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(problems), expected="unique", actual=have)
        elif unknown:
            yield make(META, Status.ERROR, node.name, node.name, "cannot evaluate: " + "; ".join(unknown),
                       actual=have)
        else:
            yield make(META, Status.PASS, node.name, node.name, "GUID(s) unique: " + ", ".join(
                f"{k}={v}" for k, v in have.items()), expected="unique", actual=have)

    yield from per_node(META, cluster, check_node)
