"""Findings and check metadata: the one result shape every report, fixer and history uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from auditor.expectations import Expected


class Severity(str, Enum):
    """Ordered severities; ``--fail-on`` compares with :meth:`rank`."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown severity {text!r} (one of: {', '.join(s.value for s in cls)})") from None


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the check could not run for this subject: never reported as pass
    SKIP = "skip"  # not applicable (e.g. site-only check on a management node)
    WAIVED = "waived"  # a failing finding covered by a valid waiver


FAILING_STATUSES = frozenset({Status.FAIL, Status.ERROR})
"""The statuses that count as failing (:attr:`Finding.failing`). A ``str`` enum: the stored
texts ``"fail"`` and ``"error"`` are members of this set too."""


@dataclass(frozen=True)
class CheckMeta:
    """Declared once per check module as ``META``; docs/checks.md is generated from it."""

    id: str  # stable UPPER-KEBAB id, e.g. SPOC-MGMT-LIST
    title: str
    severity: Severity
    rationale: str
    remediation: str
    fixable: bool = False
    scope: str = "node"  # "node" or "cluster": what a subject is
    references: tuple[str, ...] = ()


@dataclass
class Finding:
    """One result of one check for one subject (a node, or a node + item, or the cluster).

    ``expected``/``actual`` carry evidence as short strings or small JSON-able values;
    ``expected_sources`` says where each expected value came from.
    ``severity`` may differ from the check's default (e.g. embedded DB: critical on a
    multi-node cluster, medium on one node).
    """

    check_id: str
    status: Status
    severity: Severity
    node: str | None  # None for cluster-wide subjects
    subject: str  # stable key within the check, e.g. "MGMT1" or "SITE1:serverGUID3"
    message: str
    expected: Any = None
    actual: Any = None
    fixable: bool = False
    file: str | None = None  # Windows path of the file concerned, when there is one
    line: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    waiver: dict[str, Any] | None = None  # reason/owner/expiry when status is WAIVED
    # what was expected, and from where (declared, collected, etcd, consensus, profile default),
    # keyed by what it is about, e.g. {"MGMT2 GUID": Expected(...)}; see auditor.expectations
    expected_sources: dict[str, Expected] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        return self.status in FAILING_STATUSES

    def key(self) -> tuple[str, str]:
        """Identity used to compare runs (drift): check id + subject."""
        return (self.check_id, self.subject)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["severity"] = self.severity.value
        d["expected_sources"] = sources_to_dict(self.expected_sources)
        return d

    def about(self, node: str) -> Finding:
        """This finding, the same in every field, for ``node`` (its node and subject): a
        shallow copy, the evidence shared (findings are not changed once made). ~6x cheaper
        than ``dataclasses.replace``, which matters at one per node of a 5,000-node cluster."""
        twin = object.__new__(Finding)
        twin.__dict__.update(self.__dict__)
        twin.node = twin.subject = node
        return twin

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        d = dict(d)
        d["status"] = Status(d["status"])
        d["severity"] = Severity(d["severity"])
        d["expected_sources"] = sources_from_dict(d.get("expected_sources"))
        return cls(**d)


def sources_to_dict(sources: dict[str, Expected]) -> dict[str, dict[str, Any]]:
    """``expected_sources`` as JSON: what -> {value, source, detail}."""
    return {what: e.to_dict() for what, e in sources.items()}


def sources_from_dict(data: dict[str, Any] | None) -> dict[str, Expected]:
    """Inverse of :func:`sources_to_dict` (None or missing: no sources, as in older reports)."""
    return {what: Expected.from_dict(e) for what, e in (data or {}).items()}
