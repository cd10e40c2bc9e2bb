"""GUID-UNIQUE: no two servers share a Management Service or Spooler Controller GUID."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import file_error, make, per_node
from auditor.cluster import Cluster, NodeView, normalize_guid
from auditor.expectations import Expected
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="GUID-UNIQUE",
    title="Management Service and Spooler Controller GUIDs are unique across the cluster",
    severity=Severity.CRITICAL,
    rationale=(
        "Servers are identified by GUID (an opaque string, compared ignoring case and braces). "
        "Two Management servers or two Spooler Controllers with one GUID (typically a cloned VM "
        "or a reused installer answer file) overwrite each other's registration and break job "
        "routing. Management and SPOC GUIDs are separate name spaces and are checked separately. "
        "How it decides: a Management server's GUID is the one its configuration holds (profile key, "
        "assumed: the vendor shows the GUID in the Management interface, Dashboard > System info), "
        "else the one declared in the inventory, else the one most Spooler Controllers list for its "
        "address; the finding names the source. A server that was not collected takes part only "
        "with a declared GUID. The result is error only when no GUID of the node is known at all; "
        "a node whose SPOC GUID (or Management GUID) alone is unknown passes on what is known, "
        "saying what was not checked."
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


def _management_guids(cluster: Cluster) -> dict[str, Expected]:
    """Each Management server's GUID for uniqueness: the one its configuration holds (what it
    uses), else the best known one (declared, consensus); a server that was not collected takes
    part only with a declared GUID (a consensus about it is a guess)."""
    out: dict[str, Expected] = {}
    for s in cluster.identities().servers:
        mv = s.node.management
        value = (mv.collected("guid") if mv else None) or s.guid
        if value is not None and s.trusted(value):
            out[s.name] = value
    return out


def run(cluster: Cluster) -> Iterator[Finding]:
    mgmt_guid = _management_guids(cluster)
    mgmt: dict[str, list[str]] = {}
    for name, g in mgmt_guid.items():
        mgmt.setdefault(normalize_guid(str(g.value)), []).append(name)
    spoc: dict[str, list[str]] = {}
    for n in cluster.nodes:
        if n.reachable and n.spoc and n.spoc.own_guid:
            spoc.setdefault(normalize_guid(n.spoc.own_guid), []).append(n.name)
    own_key = cluster.profile.spoc_conf.own_guid_key
    guid_key = cluster.profile.management_conf.guid_key

    def check_node(node: NodeView) -> Iterator[Finding]:
        if node.management is None and node.spoc is None:
            yield make(META, Status.SKIP, node.name, node.name, "not applicable: no Management Service or SPOC")
            return
        problems, unknown, have, sources = [], [], {}, {}
        if node.management is not None:
            g = mgmt_guid.get(node.name)
            if g is not None:
                have["management"] = g.value
                sources[f"{node.name} GUID"] = g
                others = [x for x in mgmt[normalize_guid(str(g.value))] if x != node.name]
                if others:
                    problems.append(f"Management GUID {g.describe()} also used by {', '.join(others)}")
            elif node.management.conf_errors():
                yield file_error(META, node, node.name, node.management.conf_errors()[0])
                return
            else:
                unknown.append(f"Management GUID unknown ({guid_key} not in conf\\*.properties, not declared, no "
                               "consensus of the Spooler Controllers): declare guid for it in the inventory")
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
                unknown.append(f"SPOC GUID unknown ({own_key} not in spoc.conf)")
        kw = {"actual": have, "expected_sources": sources}
        if problems:
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(problems), expected="unique", **kw)
        elif not have:  # nothing to compare at all
            yield make(META, Status.ERROR, node.name, node.name, "cannot evaluate: " + "; ".join(unknown), **kw)
        else:
            msg = "GUID(s) unique: " + ", ".join(
                f"{k}={sources[f'{node.name} GUID'].describe() if k == 'management' else v}" for k, v in have.items())
            if unknown:
                msg += " (not checked: " + "; ".join(unknown) + ")"
            yield make(META, Status.PASS, node.name, node.name, msg, expected="unique",
                       details={"not_checked": unknown} if unknown else {}, **kw)

    yield from per_node(META, cluster, check_node)
