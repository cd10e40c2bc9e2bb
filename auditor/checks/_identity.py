"""How the checks that read Spooler Controller lists judge one listed Management server (a helper,
not a check): is the address the one the server's services bind to, and what can be said when
the server was not collected.

One home for three rules SPOC-MGMT-LIST and SPOC-IMS-ADDRESSES share:

* **bound interface**: the installer binds the services to one IPv4 interface (``usedLocalIp``);
  an entry naming another interface of the same server fails, with the bound address and its
  source. Only when the bound address is unknown is any address of the server accepted (with a
  note when it has several);
* **partial visibility**: a value about a server that was not collected is only a guess unless
  declared, so what cannot be checked against a trusted value is *not verifiable* (``error``,
  naming the server), never a failure;
* **unclaimed entries**: an entry that matches no server may belong to a server that was not
  collected and whose identity nothing tells; it is then not verifiable, and that server is not
  "missing". Only when such entries outnumber those servers is something certainly stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from auditor.addresses import is_ip
from auditor.checks._common import make
from auditor.evidence import MARKS_KEY, Mark
from auditor.expectations import Expected
from auditor.findings import CheckMeta, Finding, Status
from auditor.identity import Identities, ServerIdentity


class Verdict(StrEnum):
    OK = "ok"
    NOTE = "note"  # passes, with something the admin should know
    FAIL = "fail"
    UNVERIFIABLE = "unverifiable"  # depends on a server that was not collected


@dataclass
class Judged:
    """What a check found in one node's list: failures (with the line), the not verifiable,
    notes, and the expectations it judged against (for the finding's ``expected_sources``)."""

    problems: list[tuple[str, int | None]] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, Expected] = field(default_factory=dict)

    def add(self, verdict: Verdict, text: str, line: int | None = None) -> Verdict:
        if verdict == Verdict.FAIL:
            self.problems.append((text, line))
        elif verdict == Verdict.UNVERIFIABLE:
            self.unverifiable.append(text)
        elif verdict == Verdict.NOTE:
            self.notes.append(text)
        return verdict

    def missing(self, ids: Identities, listed: set[str], owners: list[ServerIdentity],
                unclaimed: bool) -> dict[int, Mark]:
        """Fail every server the list does not name (``listed``: server names), except one that
        an ``unclaimed`` entry may be (``owners``); returns their marks by position in ``ids``."""
        out: dict[int, Mark] = {}
        for i, s in enumerate(ids.servers):
            if s.name not in listed and not (unclaimed and s in owners):
                self.add(Verdict.FAIL, f"missing Management server {s.describe()}")
                self.sources.update(s.sources())
                out[i] = Mark.MISSING
        return out

    def finding(self, meta: CheckMeta, node: str, passed: str, marks: dict, *, details: dict,
                line: int | None = None, **kw) -> Finding:
        """The one finding for the list: fail (failures first, then what is not verifiable),
        else error (not verifiable), else pass with the notes."""
        if self.notes:
            details["notes"] = self.notes
        if self.unverifiable:
            details["not_verifiable"] = self.unverifiable
        kw.update(details=details, expected_sources=self.sources)
        unverifiable = "not verifiable: " + "; ".join(self.unverifiable)
        if self.problems:
            details.update({"problems": [p for p, _ in self.problems], MARKS_KEY: marks})
            msg = "; ".join(p for p, _ in self.problems) + (f"; {unverifiable}" if self.unverifiable else "")
            return make(meta, Status.FAIL, node, node, msg,
                        line=line or next((ln for _, ln in self.problems if ln), None), **kw)
        if self.unverifiable:
            return make(meta, Status.ERROR, node, node, unverifiable, line=line, **kw)
        note = " (note: " + "; ".join(self.notes) + ")" if self.notes else ""
        return make(meta, Status.PASS, node, node, passed + note, line=line, **kw)

    def compare(self, server: ServerIdentity, what: str, expected: Expected | None, written: str,
                text: str, line: int | None = None) -> Verdict:
        """``written`` against ``server``'s ``expected`` value: equal passes; different fails when
        the expectation can be trusted, and is not verifiable when it is a guess about a server
        that was not collected."""
        if expected is None or str(expected.value).strip() == written.strip():
            return Verdict.OK
        self.sources[f"{server.name} {what}"] = expected
        if server.trusted(expected):
            return self.add(Verdict.FAIL, f"{text}, expected {expected.describe()}", line)
        return self.add(Verdict.UNVERIFIABLE, f"{text}, not verifiable against {expected.describe()}: "
                                              f"{server.why_unverifiable()}")


def best_address(server: ServerIdentity) -> str:
    """The address other nodes should use for ``server``, as text for a message."""
    if server.bound_ip is not None:
        return str(server.bound_ip.value)
    return ", ".join(server.addresses) or "unknown"


def judge_address(ids: Identities, judged: Judged, server: ServerIdentity, host: str, where: str,
                  line: int | None = None, *, note_names: bool = True) -> Verdict:
    """Does ``host``, as written in a node's configuration, name ``server`` on the interface its
    services bind to? (``where``: ``entry 2`` ... for the message; ``note_names``: say so when a
    host name stands where an IP address is usual)"""
    h = host.strip()
    named = ids.by_host(h)
    if any(s is server for s in named):
        if not is_ip(h):
            if not note_names:
                return Verdict.OK
            return judged.add(Verdict.NOTE, f"{where}: host name {h} used instead of an IP (resolves to {server.name})")
        bound = server.bound_ip
        own = server.own_interfaces()
        if bound is not None and h != str(bound.value):
            judged.sources[f"{server.name} bound address"] = bound
            if h in own:
                return judged.add(Verdict.FAIL, f"{where}: {h} is another interface of {server.name}; its services "
                                                f"bind only to {bound.describe()}", line)
            return judged.compare(server, "bound address", bound, h, f"{where}: {h} for {server.name}", line)
        if bound is None and len(own) > 1:
            return judged.add(Verdict.NOTE, f"{where}: the address {server.name}'s services bind to is unknown, so "
                                            f"any of its addresses ({', '.join(own)}) is accepted; declare its "
                                            "bound_ip in the inventory to check it")
        return Verdict.OK
    if server.bound_ip is not None:
        judged.sources[f"{server.name} bound address"] = server.bound_ip
    other = next((s for s in named if s.collected), None)
    if other is not None:
        return judged.add(Verdict.FAIL, f"{where}: {h} is {other.name}, not {server.name} "
                                        f"(expected {best_address(server)})", line)
    what = "an address" if is_ip(h) else "a name known to the audited cluster"
    if server.collected or (server.bound_ip is not None and server.trusted(server.bound_ip)):
        return judged.add(Verdict.FAIL, f"{where}: {h} is not {what} of {server.name} "
                                        f"(expected {best_address(server)})", line)
    return judged.add(Verdict.UNVERIFIABLE, f"{where}: {h} is not a known address of {server.name} "
                                            f"({best_address(server)}): {server.why_unverifiable()}")


def unverified_match(judged: Judged, server: ServerIdentity, where: str, how: str,
                     values: tuple[tuple[str, Expected | None], ...], before: int) -> None:
    """An entry that agrees with what is known of a server that was not collected is not proof:
    unless every value it was judged by is declared, it is not verifiable (said once per entry:
    not when judging it already said so, ``before`` being the count of not-verifiable items then)."""
    if server.collected:
        return
    guessed = [what for what, value in values if not server.trusted(value)]
    if guessed and len(judged.unverifiable) == before:
        judged.add(Verdict.UNVERIFIABLE, f"{where} is {server.name}'s by {how}; its {', '.join(guessed)} cannot be "
                                         f"verified: {server.why_unverifiable()}")


def possible_owners(unknown: list[ServerIdentity], listed: set[str]) -> list[ServerIdentity]:
    """Servers an unrecognised entry may belong to: ``unknown`` (not collected, identity not
    declared: :meth:`Identities.could_own`) that this list does not already name (``listed``:
    server names)."""
    return [s for s in unknown if s.name not in listed]


def judge_unclaimed(judged: Judged, owners: list[ServerIdentity], unclaimed: list[tuple[str, int | None]],
                    stale_text: str) -> bool:
    """Entries (description, line) that match no server: not verifiable while as many servers
    that were not collected could own them; when they outnumber those servers, some are surely
    stale (a failure that names no entry, since which ones cannot be told). Without such servers
    each is stale: ``stale_text`` is formatted with ``entry``. True when entries were called stale."""
    if not unclaimed:
        return False
    if not owners:
        for entry, line in unclaimed:
            judged.add(Verdict.FAIL, stale_text.format(entry=entry), line)
        return True
    names = ", ".join(s.name for s in owners)
    why = "; ".join(s.why_unverifiable() for s in owners)
    if len(unclaimed) <= len(owners):
        for entry, _line in unclaimed:
            judged.add(Verdict.UNVERIFIABLE, f"{entry} matches no collected Management server and may be {names} "
                                             f"({why})")
        return False
    judged.add(Verdict.FAIL, f"{', '.join(e for e, _ in unclaimed)} match no collected Management server; only "
                             f"{len(owners)} server(s) not collected ({names}) could own one each, so at least "
                             f"{len(unclaimed) - len(owners)} of them are stale or duplicates", unclaimed[0][1])
    return False


__all__ = ["Judged", "Verdict", "best_address", "judge_address", "judge_unclaimed", "possible_owners",
           "unverified_match"]
