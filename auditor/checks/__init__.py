"""Check registry and runner.

Every module in this package that defines ``META`` (a :class:`~auditor.findings.CheckMeta`)
and ``run(cluster) -> Iterable[Finding]`` is a check; adding one is adding a file. Modules
whose names start with ``_`` are helpers. ``run_checks`` isolates checks from each other:
a check that raises becomes one ``error`` finding carrying the exception message, and the
rest of the run goes on.

Adding a check is one file here plus one test in ``tests/checks/``; a complete per-node
check (``tests/test_architecture.py`` runs this very example)::

    from collections.abc import Iterator

    from auditor.checks._common import make, per_node
    from auditor.cluster import Cluster, NodeView
    from auditor.findings import CheckMeta, Finding, Severity, Status

    META = CheckMeta("SPOC-EXAMPLE", "What must hold", Severity.MEDIUM, "Why it matters.", "What to do.")
    RELIES_ON = ("spoc_conf.file",)   # profile keys of the product facts it trusts (auditor checks ID)

    def run(cluster: Cluster) -> Iterator[Finding]:
        def check_node(node: NodeView) -> Iterator[Finding]:
            yield make(META, Status.PASS, node.name, node.name, "what was seen")

        yield from per_node(META, cluster, check_node)   # management_only=True for MGMT checks

``per_node`` (``_common``) gives unreachable and out-of-scope nodes their ``skip`` finding, so
the check body only judges nodes it can see. Then ``make docs`` regenerates docs/checks.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType
from typing import Protocol

from auditor.errors import InputError
from auditor.findings import CheckMeta, Finding, Status


class CheckModule(Protocol):
    META: CheckMeta

    def run(self, cluster) -> Iterable[Finding]: ...


def all_checks() -> list[ModuleType]:
    """Every check module of this package, sorted by check id."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(mod, "META", None), CheckMeta) and callable(getattr(mod, "run", None)):
            found.append(mod)
    ids = [m.META.id for m in found]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:  # pragma: no cover - a programming error caught by tests
        raise RuntimeError(f"duplicate check ids: {sorted(dupes)}")
    return sorted(found, key=lambda m: m.META.id)


def check_ids() -> list[str]:
    return [m.META.id for m in all_checks()]


def run_checks(cluster, only: set[str] | None = None, nodes: set[str] | None = None) -> list[Finding]:
    """Run the selected checks (all by default) and return their findings.

    ``only``: check ids (case-insensitive); an unknown id is an :class:`InputError`.
    ``nodes``: keep findings of these nodes (case-insensitive) plus cluster-wide ones.
    """
    checks = all_checks()
    if only is not None:
        wanted = {c.upper() for c in only}
        known = {m.META.id for m in checks}
        unknown = wanted - known
        if unknown:
            raise InputError(f"unknown check id(s): {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(known))})")
        checks = [m for m in checks if m.META.id in wanted]
    node_filter = {n.lower() for n in nodes} if nodes is not None else None
    findings: list[Finding] = []
    for mod in checks:
        meta: CheckMeta = mod.META
        try:
            produced = list(mod.run(cluster))
        except Exception as exc:  # noqa: BLE001 - one broken check must not abort the audit
            produced = [Finding(
                check_id=meta.id, status=Status.ERROR, severity=meta.severity, node=None,
                subject=meta.id, message=f"check crashed: {type(exc).__name__}: {exc}",
                details={"exception": type(exc).__name__},
            )]
        for f in produced:
            if node_filter is not None and f.node is not None and f.node.lower() not in node_filter:
                continue
            findings.append(f)
    return findings
