"""IMS-REPO-SHARED: all Management servers keep the IMS repository on one shared UNC path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from auditor import winpath
from auditor.checks._common import file_error, make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.deviation import Declare, Judgement, judge
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.parsers import Entry
from auditor.parsers.properties import java_line
from auditor.parsers.text import line_body, split_lines

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
        "reach the share (probe collected from the node); without a probe the finding is error. "
        "The file is read with java.util.Properties rules: a UNC path written with single "
        "backslashes (\\\\fs01\\imsrepo) reaches the service as \\fs01imsrepo; the finding then "
        "shows the line as written, the value the service reads and the corrected line. "
        "Who is wrong when the servers differ: the inventory's ims_repository when declared, else "
        "a path that is not shared (it cannot be the cluster's), else the path most servers use "
        "(a server whose single-backslash line the service misreads counts with the path its "
        "admin meant); only the deviating servers fail, the others pass naming them; two servers "
        "on two different shares, nothing declared, is a tie and both fail until ims_repository "
        "is declared."
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


@dataclass(frozen=True)
class Misread:
    """A repository.path the admin plainly wrote as a UNC path that the service reads as
    something else, because java.util.Properties takes each single backslash as an escape."""

    raw_line: str  # the line(s) as written
    read: str  # what the Infrastructure Service reads
    intended: str  # the UNC path as written, normalised
    corrected_line: str  # the same key with the path escaped (backslashes doubled)
    corrected_line_slashes: str  # the same key with the path in forward slashes (no escapes needed)


def misread(entry: Entry | None) -> Misread | None:
    """The :class:`Misread` of a repository.path entry, None when the service reads what is written
    (or what is written is no UNC path either)."""
    if entry is None or entry.raw_value is None:
        return None
    written = entry.raw_value.strip()
    if is_shared(entry.value) or not is_shared(written):
        return None
    intended = winpath.normalize(written)
    raw_line = "\n".join(line_body(x) for x in split_lines(entry.raw))
    return Misread(raw_line=raw_line, read=entry.value, intended=intended,
                   corrected_line=java_line(entry.key, intended, entry.sep, entry.indent),
                   corrected_line_slashes=java_line(entry.key, intended.replace("\\", "/"), entry.sep, entry.indent))


def intended_path(node: NodeView) -> str | None:
    """The shared path a Management server means: what its service reads when that is a UNC
    path, else the UNC path its admin plainly wrote (see :func:`misread`), else None."""
    mgmt = node.management
    if not (node.reachable and mgmt and mgmt.ims.ok and mgmt.repository_path):
        return None
    if is_shared(mgmt.repository_path):
        return mgmt.repository_path.strip()
    wrong = misread(mgmt.repository_entry)
    return wrong.intended if wrong else None


WHAT = "repository.path"
DECLARE = Declare("ims_repository", "add `ims_repository: \\\\server\\share\\folder` at the top level of the "
                                    "inventory")


def not_shared(path: str) -> str | None:
    """Why a repository path cannot be the cluster's (None: it is a UNC path)."""
    if is_shared(path):
        return None
    kind = "a local drive path" if _DRIVE.match(path.strip()) else "not a UNC path"
    return f"{WHAT} {path.strip()} is {kind}, so the other Management servers cannot share it"


def judgement(cluster: Cluster) -> Judgement:
    """Which Management servers use the wrong repository (shared with the fixer). Each server
    votes with the path it means (:func:`intended_path`, else what it has); servers whose
    setting could not be read or is empty do not vote."""
    values: dict[str, str] = {}
    silent: list[str] = []
    for node in cluster.management_nodes:
        mgmt = node.management
        meant = intended_path(node)
        if meant is None and node.reachable and mgmt and mgmt.ims.ok and (mgmt.repository_path or "").strip():
            meant = mgmt.repository_path.strip()
        if meant is None:
            silent.append(node.name)
        else:
            values[node.name] = meant
    return judge(values, what=WHAT, declared=cluster.declared.expected("ims_repository"), valid=not_shared,
                 key=repository_key, absent=silent, declare=DECLARE)


def run(cluster: Cluster) -> Iterator[Finding]:
    key = cluster.profile.management_ims.repository_key
    j = judgement(cluster)
    reference = j.reference if j.reference is not None else "a UNC path shared by all Management servers"
    sources = {WHAT: j.expected} if j.expected is not None else {}

    def check_node(node: NodeView) -> Iterator[Finding]:
        mgmt = node.management
        if not mgmt.ims.ok:
            yield file_error(META, node, node.name, mgmt.ims)
            return
        raw = mgmt.repository_path
        kw = {"file": mgmt.ims.path, "line": mgmt.repository_line, "actual": raw, "expected_sources": sources}
        if raw is None or not raw.strip():
            yield make(META, Status.FAIL, node.name, node.name, f"{key} is not set", expected=reference, **kw)
            return
        verdict = j.of(node.name)
        wrong = misread(mgmt.repository_entry)
        if wrong is not None:
            also = f"; {verdict.reason}" if verdict is not None and verdict.fails else ""
            yield make(META, Status.FAIL, node.name, node.name,
                       f"{key} is written {wrong.intended} but the Infrastructure Service reads {wrong.read!r} "
                       f"(java.util.Properties takes a single backslash as an escape); write "
                       f"{wrong.corrected_line} or {wrong.corrected_line_slashes}{also}",
                       expected=wrong.intended if not also else reference,
                       details={"raw_line": wrong.raw_line, "read_value": wrong.read,
                                "corrected_line": wrong.corrected_line,
                                "corrected_line_slashes": wrong.corrected_line_slashes}, **kw)
            return
        if verdict is not None and verdict.fails:
            yield make(META, Status.FAIL, node.name, node.name, verdict.reason, expected=reference,
                       details={"verdict": verdict.verdict.value}, **kw)
            return
        note = f" ({verdict.note})" if verdict is not None and verdict.note else ""
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
            yield make(META, Status.PASS, node.name, node.name, f"{raw} is shared and reachable{note}",
                       expected=reference, **kw)

    yield from per_node(META, cluster, check_node, management_only=True)
