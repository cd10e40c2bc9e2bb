"""CONFIG-DUPLICATE-KEYS: no key is written twice in one configuration file."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="CONFIG-DUPLICATE-KEYS",
    title="No key appears twice in spoc.conf or a .properties file",
    severity=Severity.LOW,
    rationale=(
        "When a key is written twice the last occurrence wins (java.util.Properties semantics; "
        "assumed for spoc.conf). The earlier line is dead configuration that misleads whoever "
        "reads or edits the file next, and a later edit of the wrong line silently does nothing."
    ),
    remediation="Delete the earlier (ineffective) occurrence after checking which value is intended.",
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "subsystems.management",
    "subsystems.spooler_controller",
)


def run(cluster: Cluster) -> Iterator[Finding]:
    def check_node(node: NodeView) -> Iterator[Finding]:
        parsed = [r for r in node.config_files(key_value_only=True) if r.ok]
        dupes = []
        for r in parsed:
            for key, lines in r.doc.duplicates().items():
                dupes.append({"file": r.path, "key": key, "lines": lines})
        if dupes:
            first = dupes[0]
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(
                f"{d['key']} written {len(d['lines'])} times in {d['file']} (lines {', '.join(map(str, d['lines']))})"
                for d in dupes), file=first["file"], line=first["lines"][0], actual=dupes)
        elif not parsed:
            yield make(META, Status.SKIP, node.name, node.name, "no parsed key/value configuration file on this node")
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{len(parsed)} file(s) without duplicate keys")

    yield from per_node(META, cluster, check_node)
