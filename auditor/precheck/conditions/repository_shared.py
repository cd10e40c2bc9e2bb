"""REPOSITORY-SHARED: repository.path is one shared UNC path on every existing Management server."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.needs import REPOSITORY, repository_needed
from auditor.precheck.situation import Situation, management_agree, names

META = Precondition(
    id="REPOSITORY-SHARED",
    title="repository.path is set identically (one shared UNC path) on every existing Management server",
    rationale=(
        "The new Management server's Infrastructure Service must use the same repository as the "
        "others, so there must be one: IMS-REPO-SHARED passes on every existing Management server "
        "(a UNC path, the same on all, reachable from each), and it agrees with the inventory's "
        "ims_repository when one is declared."
    ),
    remediation="Put every existing Management server on one shared repository first (auditor fix --check "
                "IMS-REPO-SHARED), then run the precheck again.",
    reuses=("IMS-REPO-SHARED",),
)


def evaluate(s: Situation) -> Outcome:
    needed = repository_needed(s)
    stop = management_agree(s, "IMS-REPO-SHARED", needed, "shared repository.path", "ims_repository")
    if stop is not None:
        return stop
    assert needed is not None  # management_agree is a no-go without it
    new = f": {s.new_name} needs the same" if s.new_name else ""
    return Outcome(Verdict.GO, f"{names(n.name for n in s.existing_management)} use {needed.value}{new}",
                   needs={REPOSITORY: needed})
