"""Waivers: accepted deviations, each with a reason, an owner and an expiry date.

A waiver turns a *failing* finding into ``waived`` so the nightly report shows what is
really new. Three rules keep waivers from silently rotting (see docs/waivers.md):

* Every waiver expires. After its ``expires`` date it stops applying (the findings fail
  again) and a ``WAIVER-EXPIRED`` finding names the owner, so someone renews or fixes.
* A waiver that matches nothing (the problem was fixed, or the glob has a typo) is
  reported as a ``WAIVER-UNUSED`` info finding, so the file can be cleaned up.
* Only ``fail`` findings are waived, never ``error``: an error means the auditor could not
  see the state, and a waiver is a decision about a known state.

Dates are compared with the ``today`` the caller gives (the cluster-local date), which
keeps results deterministic and independent of where the auditor runs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.safetext import valid_text
from auditor.yamlfile import read_hand_written

WAIVER_EXPIRED = "WAIVER-EXPIRED"
WAIVER_UNUSED = "WAIVER-UNUSED"

#: Metadata for the findings this module produces, so a report can show a title,
#: rationale and remediation for them like for any check (they are not in auditor/checks).
WAIVER_CHECK_META: tuple[CheckMeta, ...] = (
    CheckMeta(
        id=WAIVER_EXPIRED,
        title="Waiver expired",
        severity=Severity.LOW,
        rationale="A waiver accepted a deviation until a date. After it, the deviation is no longer "
                  "accepted by anyone and its findings fail again.",
        remediation="Fix the cause, or renew the waiver with its owner: set a new 'expires' date (and an "
                    "updated reason) in the waivers file.",
        scope="cluster",
    ),
    CheckMeta(
        id=WAIVER_UNUSED,
        title="Waiver matches no failing finding",
        severity=Severity.INFO,
        rationale="A waiver that covers nothing is either obsolete (the problem was fixed) or wrong (a typo "
                  "in the check id, node or subject glob), and would silently cover a future problem.",
        remediation="Remove the waiver, or correct its check/node/subject so it matches what it was meant "
                    "to cover (the subject of each finding is in the report).",
        scope="cluster",
    ),
)

_REQUIRED = ("check", "reason", "owner", "expires")
_OPTIONAL = ("node", "subject")
_ALLOWED = (*_REQUIRED, *_OPTIONAL)


@dataclass(frozen=True)
class Waiver:
    """One entry of a waivers file. Globs are ``fnmatch`` style and case-insensitive."""

    check: str
    reason: str
    owner: str
    expires: date
    node: str = "*"
    subject: str = "*"
    source: str = ""  # file name, for messages
    line: int = 0  # 1-based line of the entry

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.source else f"line {self.line}"

    @property
    def ident(self) -> str:
        """Stable identity (used as the subject of WAIVER-* findings so drift can track them)."""
        return f"{self.check}|node={self.node}|subject={self.subject}"

    def expired(self, today: date) -> bool:
        """Valid through the ``expires`` day itself; expired from the next day on."""
        return today > self.expires

    def matches(self, finding: Finding) -> bool:
        if not _glob(finding.check_id, self.check):
            return False
        if self.node != "*" and (finding.node is None or not _glob(finding.node, self.node)):
            return False
        return _glob(finding.subject, self.subject)

    def as_finding_waiver(self) -> dict[str, Any]:
        """What goes into ``Finding.waiver``."""
        return {"reason": self.reason, "owner": self.owner, "expires": self.expires.isoformat(),
                "source": self.where}


def _glob(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def load_waivers(path: str | Path) -> list[Waiver]:
    """Read a waivers file; every problem raises :class:`InputError` naming file and line."""
    p = Path(path)
    try:
        text = read_hand_written(p)
    except FileNotFoundError:
        raise InputError("waivers file not found", source=str(p)) from None
    except UnicodeDecodeError:
        raise InputError("the waivers file must be UTF-8 text", source=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read waivers file: {exc.strerror or exc}", source=str(p)) from None
    return parse_waivers(text, source=str(p))


def parse_waivers(text: str, source: str = "<waivers>") -> list[Waiver]:
    """Parse waivers YAML text (a list of entries, or a mapping with a ``waivers:`` list)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        if isinstance(exc, yaml.reader.ReaderError):  # e.g. a control character: no mark, a position
            line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=source,
                         line=line) from None
    if root is None:
        return []
    if isinstance(root, yaml.MappingNode):
        entries_node = None
        for k, v in root.value:
            key = _scalar(k, source)
            if key == "waivers":
                entries_node = v
            elif key != "version":
                raise InputError(f"unknown top-level key {key!r} (expected 'waivers')", source, _line(k))
        if entries_node is None:
            raise InputError("missing 'waivers:' list", source, _line(root))
        root = entries_node
        if isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null"):
            return []
    if not isinstance(root, yaml.SequenceNode):
        raise InputError("a waivers file must be a list of waivers", source, _line(root))
    return [_waiver(item, source) for item in root.value]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node, source: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise InputError("expected a single value here, not a list or mapping", source, _line(node))
    return valid_text(str(node.value))  # a "\\ud800" escape must not reach the reports


def _waiver(node: yaml.Node, source: str) -> Waiver:
    line = _line(node)
    if not isinstance(node, yaml.MappingNode):
        raise InputError("each waiver must be a mapping with check, reason, owner, expires", source, line)
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for k, v in node.value:
        key = _scalar(k, source)
        if key not in _ALLOWED:
            raise InputError(f"unknown waiver field {key!r} (allowed: {', '.join(_ALLOWED)})", source, _line(k))
        if key in values:
            raise InputError(f"field {key!r} given twice", source, _line(k))
        value = _scalar(v, source).strip()
        if v.tag.endswith(":null") or value == "":
            raise InputError(f"field {key!r} is empty", source, _line(v))
        values[key] = value
        lines[key] = _line(v)
    missing = [k for k in _REQUIRED if k not in values]
    if missing:
        raise InputError(f"waiver is missing required field(s): {', '.join(missing)}", source, line)
    try:
        expires = datetime.strptime(values["expires"], "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"expires must be a date YYYY-MM-DD, got {values['expires']!r}", source,
                         lines["expires"]) from None
    return Waiver(
        check=values["check"],
        reason=values["reason"],
        owner=values["owner"],
        expires=expires,
        node=values.get("node", "*"),
        subject=values.get("subject", "*"),
        source=source,
        line=line,
    )


# --------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------
def apply_waivers(
    findings: Iterable[Finding], waivers: Iterable[Waiver], today: date
) -> tuple[list[Finding], list[Finding]]:
    """``(findings, waiver_findings)``.

    ``findings`` is a new list (inputs are not mutated): each ``fail`` finding covered by an
    unexpired waiver comes back as ``waived`` with ``waiver`` = {reason, owner, expires,
    source}. The first matching waiver in file order wins. ``waiver_findings`` holds one
    ``WAIVER-EXPIRED`` (low, fail) per expired waiver and one ``WAIVER-UNUSED`` (info,
    fail) per active waiver that matched no failing finding; the caller appends them to the
    run's findings.
    """
    items = list(findings)
    ws = list(waivers)
    active = [w for w in ws if not w.expired(today)]
    used: set[int] = set()
    out: list[Finding] = []
    for f in items:
        if f.status == Status.FAIL:
            hits = [i for i, w in enumerate(active) if w.matches(f)]
            used.update(hits)  # a waiver shadowed by an earlier one is still "in use"
            if hits:
                f = dataclasses.replace(f, status=Status.WAIVED, waiver=active[hits[0]].as_finding_waiver())
        out.append(f)

    extra: list[Finding] = []
    for w in ws:
        if not w.expired(today):
            continue
        would_cover = [f for f in items if f.status == Status.FAIL and w.matches(f)]
        extra.append(Finding(
            check_id=WAIVER_EXPIRED,
            status=Status.FAIL,
            severity=Severity.LOW,
            node=None,
            subject=w.ident,
            message=(f"waiver for {w.check} owned by {w.owner} expired on {w.expires.isoformat()} "
                     f"({w.where}); it no longer applies"
                     + (f" and {len(would_cover)} finding(s) fail again" if would_cover else "")
                     + ": renew it with a new date or fix the cause"),
            expected=f"expires after {today.isoformat()}",
            actual=w.expires.isoformat(),
            file=w.source or None,
            line=w.line or None,
            details={"owner": w.owner, "reason": w.reason, "expires": w.expires.isoformat(), "check": w.check,
                     "node": w.node, "subject": w.subject, "findings_no_longer_waived": len(would_cover)},
        ))
    for i, w in enumerate(active):
        if i in used:
            continue
        extra.append(Finding(
            check_id=WAIVER_UNUSED,
            status=Status.FAIL,
            severity=Severity.INFO,
            node=None,
            subject=w.ident,
            message=(f"waiver for {w.check} (node {w.node}, subject {w.subject}) owned by {w.owner} matches no "
                     f"failing finding ({w.where}): the problem may be fixed, remove the waiver"),
            expected="matches at least one failing finding",
            actual="matches none",
            file=w.source or None,
            line=w.line or None,
            details={"owner": w.owner, "reason": w.reason, "expires": w.expires.isoformat(), "check": w.check,
                     "node": w.node, "subject": w.subject},
        ))
    return out, extra


# --------------------------------------------------------------------------------------
# Pipeline hook
# --------------------------------------------------------------------------------------
class WaiverFile:
    """The audit pipeline's waiver hook (``auditor.audit.WaiverHook``).

    Loads (and validates) the file at construction, so a broken waivers file stops the
    audit *before* a long collection. Calling it returns the waived findings followed by
    the WAIVER-EXPIRED / WAIVER-UNUSED findings.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.waivers = load_waivers(self.path)

    def __call__(self, findings: list[Finding], today: date) -> list[Finding]:
        out, extra = apply_waivers(findings, self.waivers, today)
        return out + extra


def local_today(tz: str | None = None) -> date:
    """Today's date in the cluster's time zone (``tz`` an IANA name such as
    ``Europe/Prague``), or in the local zone of the machine running the auditor.

    Why not UTC: a waiver that "expires 2026-12-31" is meant in the admins' calendar; a
    nightly 00:30 run in Prague is still the previous day in UTC.
    """
    if not tz:
        return datetime.now().astimezone().date()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return datetime.now(ZoneInfo(tz)).date()
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Prague)") from None
