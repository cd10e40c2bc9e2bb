"""The preconditions of each change, one module each (like the checks in ``auditor/checks/``).

A precondition module declares ``META`` (a :class:`~auditor.precheck.model.Precondition`) and
``evaluate(situation) -> Outcome``; it decides by asking the checks that own the rule
(``situation.findings(CHECK_ID, scope)``) rather than restating it. Which preconditions a
change has, and in which order they are shown, is the tuple of that change below: adding one
is one module plus one entry (and a no-go test in ``tests/precheck/``).
"""

from __future__ import annotations

from types import ModuleType

from auditor.precheck.conditions import (
    external_database,
    management_healthy,
    new_clock,
    new_not_installed,
    new_server_os,
    no_installer,
    nodes_collected,
    one_version,
    repository_from_new,
    repository_shared,
    service_account,
    services_enabled,
    update_versions,
)
from auditor.precheck.model import Change

CONDITIONS: dict[Change, tuple[ModuleType, ...]] = {
    Change.ADD_MANAGEMENT: (
        nodes_collected, new_not_installed, no_installer, external_database, management_healthy, one_version,
        repository_shared, repository_from_new, service_account, new_server_os, new_clock,
    ),
    Change.UPDATE: (
        nodes_collected, no_installer, update_versions, external_database, services_enabled,
    ),
}


def all_conditions() -> list[ModuleType]:
    """Every precondition module once (for the catalogue and docs)."""
    seen: dict[str, ModuleType] = {}
    for modules in CONDITIONS.values():
        for m in modules:
            seen.setdefault(m.META.id, m)
    return sorted(seen.values(), key=lambda m: m.META.id)


__all__ = ["CONDITIONS", "all_conditions"]
