"""MGMT-CONFIG-CONSISTENT: Management servers share one configuration (Management Service and
Infrastructure Service files), key by key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.checks._common import file_error, make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.deviation import Basis
from auditor.evidence import Mark, marks_detail
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.profile import Profile
from auditor.sharedconfig import Comparison, SharedKey, compare
from auditor.winpath import path_key

META = CheckMeta(
    id="MGMT-CONFIG-CONSISTENT",
    title="Management servers have the same shared configuration (Management and Infrastructure Service files)",
    severity=Severity.MEDIUM,
    rationale=(
        "The vendor's procedure for an additional Management server hands it the Management Service "
        "configuration and the Infrastructure Service configuration 'taken from any other existing' "
        "server: Management servers share their configuration, so a key that differs between them is "
        "drift. The profile's shared_config lists the files (by default Management\\conf\\*.properties "
        "and Management\\ims\\application.properties), the keys that legitimately differ per server "
        "(node_specific_keys: GUID, bound address, host name ...; never compared) and the keys "
        "another check owns (repository.path: IMS-REPO-SHARED). Every other key is compared across "
        "the Management servers; a key present on some servers only is a difference too. Who is "
        "wrong, key by key: the value declared under shared_config in the inventory, else the value "
        "most servers have; only the deviating servers fail, naming each key, its value here and on "
        "the others, the file and line, and the others pass naming them; two servers with two values "
        "and nothing declared is a tie that fails both until the value is declared. Secrets (keys "
        "matching the profile's secret_key_patterns) are compared by a hash of the value and never "
        "shown. The database settings the same vendor page names as shared are DB-SETTINGS-"
        "CONSISTENT's (read from the Management etcd first; the database keys of these files, "
        "profile management_conf.db, are not compared here)."
    ),
    remediation=(
        "Align each listed key on the deviating server with the other Management servers (auditor "
        "fix does it for keys whose right value is decided, never for secrets: dry run first, then "
        "--apply, one server at a time, restarting the service that reads the file). When two "
        "servers tie, declare the intended value under shared_config in the inventory. Review the "
        "difference before copying: a differing key can also mean a failed update."
    ),
    fixable=True,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "shared_config.management_service.path",
    "shared_config.management_service.node_specific_keys",
    "shared_config.infrastructure_service.path",
    "shared_config.infrastructure_service.node_specific_keys",
    "management_conf.secret_key_patterns",
    "management_conf.db.host_key",
)


def catalogue_notes(profile: Profile) -> str:
    """Which files the profile marks as shared, as Markdown for docs/checks.md (the profile's data)."""
    def keys(names) -> str:
        return ", ".join(f"`{k}`" for k in names) or "none"

    files = "; ".join(
        f"{spec.title}: `{spec.path}` in the {spec.subsystem} folder (node-specific: {keys(spec.node_specific_keys)}"
        + "".join(f"; `{key}`: {check}" for key, check in spec.compared_by.items()) + ")"
        for spec in profile.shared_config.values())
    return f"**Shared files (profile `shared_config`, overridable):** {files}."


def _difference(k: SharedKey, node: NodeView) -> dict[str, Any]:
    """One differing key as the finding's details carry it (never a secret's value)."""
    here = k.slot(node.name)
    ref = k.reference
    verdict = k.judgement.of(node.name)
    path = here.path if here.path else next(
        (f.result.path for f in node.management.shared if path_key(f.rel) == path_key(k.rel) and f.result.path), None)
    return {"file": path, "rel": k.rel, "key": k.key,
            "line": here.line if here is not None else None, "verdict": verdict.verdict.value,
            "value": here.shown if here is not None else None,
            "expected": ref.shown if ref is not None else None, "basis": k.judgement.basis.value,
            "secret": k.secret,
            "values": {n: v.value.shown for n, v in sorted(k.judgement.verdicts.items(), key=lambda x: x[0].lower())},
            "reason": verdict.reason}


def _says(k: SharedKey, node: str) -> str:
    """One key's difference in a sentence for the message."""
    here, ref = k.slot(node), k.reference
    others = [n for n in k.judgement.verdicts if n != node]
    if ref is None:
        values = ", ".join(f"{n} {k.judgement.of(n).value.shown}" for n in sorted(k.judgement.verdicts, key=str.lower))
        return (f"{k.label}: tie ({values}): declare the intended value in the inventory: "
                f"shared_config: {{'{k.rel}': {{{k.key}: '<value>'}}}}")
    where = (f"declared {ref.shown}" if k.judgement.basis is Basis.DECLARED
             else f"{ref.shown} on {', '.join(k.holders)}")
    if here.absent:
        return f"{k.label} missing here ({where})"
    if ref.absent:
        return f"{k.label} present only here ({here.shown}; absent on {', '.join(k.holders) or ', '.join(others)})"
    if k.secret:
        return f"{k.label} differs (a secret, compared by hash: {', '.join(k.holders)} have the same value)"
    return f"{k.label} is {here.shown} here ({where})"


def _failure(comparison: Comparison, node: NodeView) -> Finding:
    keys = comparison.failing_on(node.name)
    diffs = [_difference(k, node) for k in keys]
    expected = {k.label: k.reference.shown for k in keys if k.reference is not None and not k.reference.absent}
    actual = {k.label: k.slot(node.name).shown for k in keys if not k.slot(node.name).absent}
    marks = {"expected": {label: Mark.MISSING for label in expected if label not in actual},
             "actual": {k.label: (Mark.STALE if k.reference is not None and k.reference.absent else Mark.WRONG)
                        for k in keys if k.label in actual}}
    first = diffs[0]
    details = {"differences": diffs, "problems": [f"{k.label} differs" for k in keys],
               "compared_with": [n for n in comparison.voters if n != node.name],
               "marks": marks_detail(**marks)}
    if comparison.ignored_declarations:
        details["ignored_declarations"] = list(comparison.ignored_declarations)
    ties = sum(1 for k in keys if k.reference is None)
    return make(META, Status.FAIL, node.name, node.name,
                f"{len(keys)} shared key(s) differ from the other Management server(s)"
                + (f" ({ties} tied)" if ties else "") + ": " + "; ".join(_says(k, node.name) for k in keys),
                expected=expected, actual=actual, file=first["file"], line=first["line"], details=details,
                expected_sources={k.label: k.expected for k in keys if k.expected is not None})


def run(cluster: Cluster) -> Iterator[Finding]:
    comparison = compare(cluster)

    def check_node(node: NodeView) -> Iterator[Finding]:
        mgmt = node.management
        problem = comparison.problems.get(node.name)
        if problem is not None:
            yield file_error(META, node, node.name, problem)
            return
        if not mgmt.shared:
            yield make(META, Status.ERROR, node.name, node.name,
                       "cannot evaluate: no shared configuration file collected (profile shared_config)"
                       + ("" if mgmt.install_dir else "; Management Service not found"))
            return
        if comparison.failing_on(node.name):
            yield _failure(comparison, node)
            return
        others = [n for n in comparison.voters if n != node.name]
        if not others and not any(k.judgement.basis is Basis.DECLARED for k in comparison.keys):
            yield make(META, Status.SKIP, node.name, node.name,
                       "nothing to compare: only one Management server with a readable configuration")
            return
        deviating = [n for n in comparison.deviating if n != node.name]
        note = ""
        if deviating:
            note = (f"; {deviating[0]} differs, see its finding" if len(deviating) == 1
                    else f"; {', '.join(deviating)} differ, see their findings")
        files = comparison.files.get(node.name, ())
        yield make(META, Status.PASS, node.name, node.name,
                   f"same shared configuration as {', '.join(others) or 'the declarations'} "
                   f"({comparison.compared.get(node.name, 0)} keys in {len(files)} file(s) compared){note}",
                   details={"files": list(files), "compared_with": others})

    yield from per_node(META, cluster, check_node, management_only=True)
