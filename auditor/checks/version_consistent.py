"""VERSION-CONSISTENT: one product build on every server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.deviation import Basis, Declare, Judgement, judge
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="VERSION-CONSISTENT",
    title="One product version on all Management and Site servers",
    severity=Severity.HIGH,
    rationale=(
        "Every component must run the same build; a mixed-version cluster after a partial update "
        "is a known failure state. Who is wrong: the inventory's expected_version when it is "
        "declared; otherwise the newest version found on a Management server, because the update "
        "order is one Management server first (it upgrades the database), then the other "
        "Management servers one at a time, then Site servers: a Management server behind the "
        "newest one runs against a database already upgraded, so its version is not the "
        "cluster's even when more servers share it. Only the servers behind (or ahead of) the "
        "reference fail; the others pass naming them. Site servers are judged against the "
        "reference and do not vote (they vote among themselves only when no Management server "
        "reported a version). The version comes from the profile's version sources (registry "
        "values, then the Management install log); a node without one is error and does not vote."
    ),
    remediation=(
        "Finish the update: run the server installer of the reference build on each listed node, "
        "one node at a time, Management servers before Site servers; then re-activate the "
        "licence (it is bound to the build number). If the newest build is the wrong one (a "
        "test install), declare the intended build as expected_version in the inventory."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "version.registry",
    "version.install_log",
)

WHAT = "product version"


def version_key(v: str) -> tuple:
    return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"[.\-]", v.strip()))


@dataclass(frozen=True)
class Versions:
    """The judgement of the voters' versions, who voted (by ``id``), who holds the newest."""

    judgement: Judgement
    voters: frozenset[int]
    newest_on: tuple[str, ...]


def judge_versions(cluster: Cluster) -> Versions:
    """Who runs the wrong version. Management servers vote; only when none reported a version
    do the Site servers vote."""
    relevant = [n for n in cluster.nodes if n.is_management or n.is_site]
    electorate = cluster.management_nodes
    voters = [n for n in electorate if n.reachable and n.version]
    if not voters:
        electorate = relevant
        voters = [n for n in relevant if n.reachable and n.version]
    values = {n.name: n.version for n in voters}
    newest = max(values.values(), key=version_key) if values else ""
    holders = tuple(sorted((n for n, v in values.items() if version_key(v) == version_key(newest)), key=str.lower))

    def not_the_clusters(v: str) -> str | None:
        if version_key(v) >= version_key(newest):
            return None
        return (f"version {v} is behind {newest} of {', '.join(holders)}: the update upgrades the database from "
                "the first Management server updated, so the newest build is the cluster's")

    declared = cluster.declared.expected("expected_version")
    j = judge(values, what=WHAT, declared=declared, valid=None if declared else not_the_clusters,
              key=version_key, absent=[n.name for n in electorate if not (n.reachable and n.version)],
              declare=Declare("expected_version",
                              "add `expected_version: '<build>'` at the top level of the inventory"))
    return Versions(j, frozenset(id(n) for n in voters), holders)


def run(cluster: Cluster) -> Iterator[Finding]:
    relevant_ids = {id(n) for n in cluster.nodes if n.is_management or n.is_site}
    versions = judge_versions(cluster)
    j = versions.judgement
    reference = j.reference
    if j.basis is Basis.DECLARED:
        against = f"the declared {reference} ({j.expected.detail})"
    else:
        against = f"the cluster's {reference} (newest on {', '.join(versions.newest_on)})"
    sources = {WHAT: j.expected} if j.expected is not None else {}

    def check_node(node: NodeView) -> Iterator[Finding]:
        if id(node) not in relevant_ids:
            yield make(META, Status.SKIP, node.name, node.name, "not applicable: no product role")
            return
        kw = {"expected": reference, "expected_sources": sources}
        if not node.version:
            yield make(META, Status.ERROR, node.name, node.name,
                       "cannot evaluate: no product version found (profile version sources)", **kw)
            return
        kw.update(actual=node.version, details={"source": node.version_source})
        verdict = j.of(node.name) if id(node) in versions.voters else None
        if reference is None:
            # only a tie leaves no reference, and only voters can tie
            yield make(META, Status.FAIL, node.name, node.name, verdict.reason if verdict else
                       f"cannot compare version {node.version}: {j.undecided()}", **kw)
        elif version_key(node.version) == version_key(reference) and (verdict is None or not verdict.fails):
            note = verdict.note if verdict else ""
            yield make(META, Status.PASS, node.name, node.name, f"version {node.version}"
                       + (f" ({note})" if note else ""), **kw)
        else:
            rel = "behind" if version_key(node.version) < version_key(reference) else "ahead of"
            yield make(META, Status.FAIL, node.name, node.name, f"version {node.version} is {rel} {against}", **kw)

    yield from per_node(META, cluster, check_node)
