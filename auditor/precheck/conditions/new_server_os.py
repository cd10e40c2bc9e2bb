"""NEW-SERVER-OS: the new Management server runs a server edition of Windows."""

from __future__ import annotations

from auditor.checks.server_os import assess
from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Situation

META = Precondition(
    id="NEW-SERVER-OS",
    title="The new Management server runs a server edition of Windows",
    rationale=(
        "The server installer requires a server edition of Windows (not a workstation, not a domain "
        "controller). It deploys the .NET Framework it needs itself, so a .NET release below the "
        "profile's floor is a warning, and so is a build below server_os.min_build (an assumed "
        "floor). SERVER-OS's rule decides."
    ),
    remediation="Use a dedicated Windows Server for the new Management server.",
    reuses=("SERVER-OS",),
)


def evaluate(s: Situation) -> Outcome:
    new = s.new
    if new is None or not new.reachable:
        return Outcome(Verdict.NO_GO, f"cannot be confirmed: {s.new_name} was not collected", nodes=(s.new_name or "",))
    found = assess(new.state, s.profile)
    os_ = new.state.os
    caption = os_.caption or f"product type {os_.product_type}"
    if found.edition:
        return Outcome(Verdict.NO_GO, f"{new.name} runs {found.edition}: the installer needs a server edition",
                       nodes=(new.name,))
    minor = [p for p in (found.build, found.dotnet) if p] + list(found.unknown)
    if minor:
        why = "; ".join(minor)
        extra = " (the installer deploys the .NET Framework it needs)" if found.dotnet else ""
        return Outcome(Verdict.WARNING, f"{new.name} runs {caption}, but: {why}{extra}", nodes=(new.name,))
    return Outcome(Verdict.GO, f"{new.name} runs {caption} (build {os_.build})")
