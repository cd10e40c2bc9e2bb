"""NEW-CLOCK: the new Management server's clock agrees with the existing Management servers'."""

from __future__ import annotations

from auditor.precheck.model import Outcome, Precondition, Verdict
from auditor.precheck.situation import Situation
from auditor.profile import Certainty

META = Precondition(
    id="NEW-CLOCK",
    title="The new Management server's clock is within the profile's bound of the existing Management servers'",
    rationale=(
        "The Management etcd runs across the Management servers (inferred from the vendor's etcd "
        "recovery procedure) and etcd is sensitive to clock skew between its members; domain "
        "authentication of the service account fails beyond minutes. Each node's clock is read "
        "during collection (the node's own start and end times of its answer, against the auditing "
        "host's times around the exchange), so the skew is known within a range as wide as the "
        "exchange took plus one second. A range entirely beyond clock.max_skew_seconds is a "
        "no-go; a range that includes no skew at all is a go (the reason gives the range and the "
        "w32tm command that measures finer); anything between is a warning."
    ),
    remediation=(
        "Synchronise the new server with the domain's time source (w32tm /config /syncfromflags:domhier "
        "/update, then w32tm /resync) and compare: w32tm /stripchart /computer:<existing server> "
        "/samples:5 /dataonly on the new server."
    ),
    certainty=Certainty.INFERRED,
)


def _side(seconds: float) -> str:
    return f"{abs(seconds):.1f} s {'ahead' if seconds >= 0 else 'behind'}"


def describe(low: float, high: float) -> str:
    """``between 0.3 s behind and 0.9 s ahead``."""
    return f"between {_side(low)} and {_side(high)}"


def evaluate(s: Situation) -> Outcome:
    new = s.new
    bound = s.profile.clock.max_skew_seconds
    if new is None or not new.reachable:
        return Outcome(Verdict.NO_GO, f"cannot be measured: {s.new_name} was not collected", nodes=(s.new_name or "",))
    peers = [n for n in s.existing_management if n.reachable and n.state.clock is not None]
    if new.state.clock is None or not peers:
        return Outcome(Verdict.WARNING, f"not measured (no clock reading of {new.name} and an existing Management "
                                        "server in this collection)", nodes=(new.name,))
    far, unsure, near = [], [], []
    for peer in peers:
        low, high = new.state.clock.against(peer.state.clock)
        text = f"{describe(low, high)} of {peer.name}"
        if low > bound or high < -bound:
            far.append((peer.name, text))
        elif low <= 0.0 <= high:
            near.append((peer.name, text))  # no skew measurable at this resolution
        else:
            unsure.append((peer.name, text))
    clock = f"{new.name}'s clock is"
    compare = f"compare on {new.name} with w32tm /stripchart /computer:{peers[0].name} /samples:5 /dataonly"
    if far:
        return Outcome(Verdict.NO_GO, f"{clock} " + "; ".join(t for _n, t in far) + f" (bound {bound:g} s)",
                       nodes=(new.name, *(n for n, _t in far)))
    if unsure:
        return Outcome(Verdict.WARNING, f"{clock} " + "; ".join(t for _n, t in unsure) + ": a skew, though not "
                       f"proven beyond {bound:g} s; {compare}", nodes=(new.name, *(n for n, _t in unsure)))
    return Outcome(Verdict.GO, f"no skew measurable: {clock} " + "; ".join(t for _n, t in near)
                   + f" (WinRM measures to about a second; etcd warns beyond {bound:g} s: for certainty {compare})")
