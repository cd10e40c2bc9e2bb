"""NODES-COLLECTED: every node of the inventory answered and was read completely."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Scope, Situation, failing

META = Precondition(
    id="NODES-COLLECTED",
    title="Every node of the inventory was collected",
    rationale=(
        "A change is validated against the whole cluster: a node that could not be read could be "
        "running an installer, another version or the embedded database, and nothing about it can "
        "be confirmed. NODE-REACHABLE decides."
    ),
    remediation=(
        "Make the node reachable over WinRM (the reason says what failed: down, firewall, listener, "
        "credentials, certificate), then run the precheck again."
    ),
    reuses=("NODE-REACHABLE",),
)


def evaluate(s: Situation) -> Outcome:
    findings = s.findings("NODE-REACHABLE", Scope.ALL)
    bad = failing(findings)
    if bad:
        return Outcome(Verdict.NO_GO, "not collected: " + "; ".join(
            f"{f.node} ({f.message.removeprefix('not collected: ')})" for f in bad),
            nodes=tuple(f.node or "" for f in bad), evidence=tuple(bad))
    new = f", {s.new_name} included" if s.new_name else ""
    return Outcome(Verdict.GO, f"all {len(findings)} node(s) collected{new}")
