"""IMS-REPO-SHARED: all Management servers keep the IMS repository on one shared UNC path."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor import winpath
from auditor.checks._common import file_error, majority, make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="IMS-REPO-SHARED",
    title="IMS repository.path is one shared UNC path, identical and reachable on every Management server",
    severity=Severity.HIGH,
    rationale=(
        "Management\\ims\\application.properties repository.path is where the Infrastructure "
        "Service keeps its repository. In a cluster every Management server must use the same "
        "shared storage, otherwise each node serves different content. Paths are compared "
        "normalised (case, forward slashes, doubled and trailing separators, the \\\\?\\UNC\\ "
        "prefix), so //server/share is \\\\server\\share. A drive-letter "
        "path is local to one node even if the folder exists. The node itself must be able to "
        "reach the share (probe collected from the node); without a probe the finding is error."
    ),
    remediation=(
        "Put the repository on one UNC share (\\\\server\\share\\folder) reachable by the "
        "Infrastructure Service account of every Management server, copy the existing content "
        "there, set repository.path to it on each Management server one node at a time and "
        "restart the Infrastructure Service (YSoftIms) after each change."
    ),
    fixable=True,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "management_ims.file",
    "management_ims.repository_key",
)

_DRIVE = re.compile(r"^[A-Za-z]:")


def repository_key(path: str) -> str:
    """How two repository.path values are compared: the Windows path key of the value
    (auditor.winpath) without the spaces around it."""
    return winpath.path_key(path.strip())


def is_shared(path: str) -> bool:
    """A UNC path (``\\\\server\\share``, ``//server/share``, ``\\\\?\\UNC\\server\\share``)."""
    return winpath.is_unc(path.strip())


def run(cluster: Cluster) -> Iterator[Finding]:
    key = cluster.profile.get("management_ims.repository_key", "repository.path")
    values: dict[str, str] = {}
    for node in cluster.management_nodes:
        mv = node.management
        if node.reachable and mv and mv.ims.ok and mv.repository_path and is_shared(mv.repository_path):
            values[node.name] = repository_key(mv.repository_path)
    reference, strict = majority(values)

    def check_node(node: NodeView) -> Iterator[Finding]:
        mv = node.management
        if not mv.ims.ok:
            yield file_error(META, node, node.name, mv.ims)
            return
        raw = mv.repository_path
        kw = {"file": mv.ims.path, "line": mv.repository_line, "actual": raw}
        if raw is None or not raw.strip():
            yield make(META, Status.FAIL, node.name, node.name, f"{key} is not set", expected="a UNC path",
                       **kw)
            return
        problems = []
        if not is_shared(raw):
            kind = "a local drive path" if _DRIVE.match(raw.strip()) else "not a UNC path"
            problems.append(f"{key} {raw} is {kind}")
        norm = repository_key(raw)
        if reference is not None and norm != reference:
            others = sorted(n for n, v in values.items() if v != norm)
            problems.append(f"differs from {', '.join(others)} ({reference})")
        elif reference is not None and not strict and len(set(values.values())) > 1:
            problems.append("Management servers use different shared paths: " + ", ".join(
                f"{n}={v}" for n, v in sorted(values.items())))
        if problems:
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(problems),
                       expected=reference or "a UNC path shared by all Management servers", **kw)
            return
        probe = node.state.probe(raw)
        if probe is None:
            yield make(META, Status.ERROR, node.name, node.name,
                       f"cannot evaluate reachability: {raw} was not probed from the node",
                       expected=reference, **kw)
        elif not probe.exists:
            yield make(META, Status.FAIL, node.name, node.name,
                       f"{raw} is not reachable from the node" + (f" ({probe.error})" if probe.error else ""),
                       expected=reference, details={"probe_error": probe.error}, **kw)
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{raw} is shared and reachable",
                       expected=reference, **kw)

    yield from per_node(META, cluster, check_node, management_only=True)
