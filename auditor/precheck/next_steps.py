"""What the admin does after a precheck: the next steps, as copy-paste commands where possible."""

from __future__ import annotations

import shlex

from auditor.precheck import needs
from auditor.precheck.model import Change, PrecheckReport, Verdict


def _command(report: PrecheckReport, *extra: str) -> str:
    parts = ["auditor", "precheck", report.change.value, "--inventory", shlex.quote(report.inventory)]
    if report.change is Change.ADD_MANAGEMENT:
        parts += ["--node", shlex.quote(report.subject)]
    elif report.subject:
        parts += ["--to", shlex.quote(report.subject)]
    return " ".join(parts + list(extra))


def next_steps(report: PrecheckReport) -> list[str]:
    """The steps in order; a no-go says to resolve the no-go items and run the precheck again."""
    if report.verdict is Verdict.NO_GO:
        first = ("make the nodes not collected reachable" if report.not_collected
                 else "resolve each no-go item above (each says why and what to do)")
        return [f"Do not start the change: {first}, then run the precheck again: {_command(report)}"]
    inventory = shlex.quote(report.inventory)
    after = (f"After the change: auditor audit --inventory {inventory}, then auditor drift --baseline "
             "(what changed since this precheck, pinned as the baseline)")
    if report.change is Change.ADD_MANAGEMENT:
        known = report.needs()
        version = known.get(needs.VERSION)
        join = known.get(needs.JOIN)
        switches = " ".join(f"{flag}={known[what].value}" for what, flag in
                            ((needs.GUID, "/CFG:localGUID"), (needs.BOUND_IP, "/CFG:usedLocalIp")) if what in known)
        install = (f"Install {report.subject} with the server installer"
                   + (f" of version {version.value}" if version else "")
                   + ", option 'Additional Management server'"
                   + (f", giving it the existing Management server {join.value}" if join else "")
                   + (f" ({switches} as declared in the inventory)" if switches else ""))
        return [
            install,
            f"Then show the follow-up plan (a dry run): {_command(report, '--after')}",
            f"Apply it, one node at a time: {_command(report, '--after', '--apply')}",
            after,
        ]
    target = f" of {report.subject}" if report.subject else ""
    return [
        f"Run the server installer{target} on the servers in the order below, one at a time",
        f"Between servers, this shows the progress and the next server: {_command(report)}",
        "After the last server, re-activate the licence (it is bound to the build number)",
        after,
    ]


__all__ = ["next_steps"]
