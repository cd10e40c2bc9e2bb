"""MGMT-CONFIG-CONSISTENT: Management servers share one Management Service configuration."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.checks._common import file_error, majority, make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="MGMT-CONFIG-CONSISTENT",
    title="Management servers have the same Management Service configuration (conf\\*.properties)",
    severity=Severity.MEDIUM,
    rationale=(
        "All Management servers of a cluster share the same data and configuration, and the files "
        "in Management\\conf are not meant to be hand-edited, so a key that differs between nodes "
        "is drift. Keys that are node-specific by design (profile management_conf.node_specific_keys) "
        "are ignored. The database host is compared after normalisation: localhost on node X equals "
        "X's own address, and a host name equals the node it resolves to. Values of keys matching "
        "the profile's secret_key_patterns are compared but never shown."
    ),
    remediation=(
        "Decide which value is right (usually the one of the first installed Management server), "
        "correct the others through the management interface where possible, or edit the file "
        "on the odd node and restart its Management Service (YSoftSQ-Management). Review the "
        "difference before copying: a differing key can also mean a failed update."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "management_conf.files",
    "management_conf.node_specific_keys",
)

ABSENT = "<absent>"


def _normalized_map(cluster: Cluster, node: NodeView, skip: set[str], db_host_key: str) -> dict[str, tuple[str, str]]:
    """'file:key' -> (comparison value, display value)."""
    out = {}
    for fname, res in node.management.conf_files.items():
        for key in res.doc:
            if key.lower() in skip:
                continue
            value = res.doc.get(key) or ""
            cmp = value.strip()
            if key == db_host_key and cmp:
                cmp = cluster.db_host_key(cmp, from_node=node)
            out[f"{fname}:{key}"] = (cmp, value)
    return out


def run(cluster: Cluster) -> Iterator[Finding]:
    prof = cluster.profile
    skip = {k.lower() for k in prof.management_conf.node_specific_keys}
    secrets = [re.compile(p) for p in prof.management_conf.secret_key_patterns]
    db_host_key = prof.management_conf.db.host_key

    def secret(k: str) -> bool:
        key = k.split(":", 1)[1]
        return any(p.search(key) for p in secrets)

    maps: dict[str, dict[str, tuple[str, str]]] = {}
    for node in cluster.management_nodes:
        mgmt = node.management
        if node.reachable and mgmt and mgmt.conf_files and not mgmt.conf_errors():
            maps[node.name] = _normalized_map(cluster, node, skip, db_host_key)
    all_keys = sorted({k for m in maps.values() for k in m})
    bad: dict[str, list[dict]] = {n: [] for n in maps}
    for key in all_keys:
        values = {n: m.get(key, (ABSENT, ABSENT))[0] for n, m in maps.items()}
        if len(set(values.values())) <= 1:
            continue
        reference, strict = majority(values)
        for n, v in values.items():
            if v != reference or not strict:
                shown_ref = reference if strict else None
                entry = {"key": key, "actual": maps[n].get(key, (ABSENT, ABSENT))[1], "expected": shown_ref,
                         "others": {o: maps[o].get(key, (ABSENT, ABSENT))[1] for o in maps if o != n}}
                if secret(key):
                    entry = {"key": key, "actual": "<secret, differs>", "expected": "<secret>",
                             "others": {o: "<secret>" for o in entry["others"]}}
                elif shown_ref is not None:
                    # show the reference as written by one node that has it
                    holder = next(o for o, val in values.items() if val == reference)
                    entry["expected"] = maps[holder].get(key, (ABSENT, ABSENT))[1]
                bad[n].append(entry)

    def check_node(node: NodeView) -> Iterator[Finding]:
        mgmt = node.management
        errors = mgmt.conf_errors()
        if errors:
            yield file_error(META, node, node.name, errors[0])
            return
        if not mgmt.conf_files:
            yield make(META, Status.ERROR, node.name, node.name,
                       "cannot evaluate: no Management conf\\*.properties collected"
                       + ("" if mgmt.install_dir else " (Management Service not found)"))
            return
        if len(maps) < 2:
            yield make(META, Status.SKIP, node.name, node.name,
                       "nothing to compare: only one Management server with a readable configuration")
            return
        diffs = bad.get(node.name, [])
        others = sorted(n for n in maps if n != node.name)
        if diffs:
            keys = ", ".join(d["key"] for d in diffs)
            yield make(META, Status.FAIL, node.name, node.name,
                       f"{len(diffs)} key(s) differ from the other Management server(s): {keys}",
                       expected={d["key"]: d["expected"] for d in diffs},
                       actual={d["key"]: d["actual"] for d in diffs},
                       details={"differences": diffs, "compared_with": others})
        else:
            yield make(META, Status.PASS, node.name, node.name,
                       f"same configuration as {', '.join(others)} ({len(maps[node.name])} keys compared)")

    yield from per_node(META, cluster, check_node, management_only=True)
