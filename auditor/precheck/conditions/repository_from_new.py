"""REPOSITORY-FROM-NEW: the new Management server reaches the repository share."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.needs import repository_needed
from auditor.precheck.situation import Situation

ACCESS_DENIED = "access is denied"

META = Precondition(
    id="REPOSITORY-FROM-NEW",
    title="The repository share is reachable from the new Management server",
    rationale=(
        "The new server's Infrastructure Service will read and write the shared repository: a "
        "share the new server cannot reach (name resolution, firewall, SMB signing, DFS) fails "
        "only after the installation. The path is tested on the new server itself, over WinRM, "
        "as IMS-REPO-SHARED tests it on the existing ones."
    ),
    remediation=(
        "Make the share reachable from the new server (DNS, firewall rules for SMB, share and NTFS "
        "permissions for the service account), then run the precheck again."
    ),
    reuses=("IMS-REPO-SHARED",),
)


def evaluate(s: Situation) -> Outcome:
    new = s.new
    needed = repository_needed(s)
    if new is None or not new.reachable:
        return Outcome(Verdict.NO_GO, f"cannot be tested: {s.new_name} was not collected", nodes=(s.new_name or "",))
    if needed is None:
        return Outcome(Verdict.NO_GO, "cannot be tested: the existing Management servers do not agree on a "
                                      "repository path (see REPOSITORY-SHARED)", nodes=(new.name,))
    path = str(needed.value)
    probe = s.probe_from_new(path)
    if probe is None:
        return Outcome(Verdict.NO_GO, f"{path} was not probed from {new.name}", nodes=(new.name,))
    if probe.exists:
        return Outcome(Verdict.GO, f"{path} is reachable from {new.name}")
    error = f" ({probe.error})" if probe.error else ""
    if ACCESS_DENIED in (probe.error or "").lower():
        return Outcome(Verdict.WARNING, f"{path} answered {new.name}{error} for the auditor's WinRM logon, which "
                       "has no network credentials without CredSSP or delegation (the second hop, "
                       "docs/protocol.md): confirm the share from the new server as the service account",
                       nodes=(new.name,))
    return Outcome(Verdict.NO_GO, f"{path} is not reachable from {new.name}{error}", nodes=(new.name,))
