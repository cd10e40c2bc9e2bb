"""CONFIG-PARSEABLE: every configuration file the auditor reads can be read and parsed."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="CONFIG-PARSEABLE",
    title="Configuration files are readable and syntactically valid",
    severity=Severity.MEDIUM,
    rationale=(
        "A configuration file that cannot be read (access denied, truncated) or parsed (a broken "
        "line in spoc.conf, a malformed \\uXXXX escape in a .properties file, broken or "
        "DOCTYPE-carrying XML) is either broken for the product too or, for spoc.conf whose "
        "syntax is not publicly documented, written in a form the auditor's profile does not "
        "know; either way every check that needs the file reports error. This check lists all "
        "of them in one place, with file and line."
    ),
    remediation=(
        "Open the file at the reported line and correct it (keep the encoding and line endings), "
        "then restart the owning service. If the product accepts the syntax, adjust the profile "
        "(for example spoc_conf.comment_prefixes) and report it to the auditor's maintainers."
    ),
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
        problems = node.file_problems
        if problems:
            first = problems[0]
            yield make(META, Status.FAIL, node.name, node.name,
                       "; ".join(p.problem() + (f" (line {p.line})" if p.line else "") for p in problems),
                       file=first.path, line=first.line,
                       actual=[{"file": p.path, "status": p.status, "line": p.line, "error": p.error} for p in problems])
        else:
            yield make(META, Status.PASS, node.name, node.name, "all collected configuration files parse")

    yield from per_node(META, cluster, check_node)
