"""What a check expected, and where that expectation came from.

A check that compares a node against a value (a Management server's GUID, its CML port, the
address its services bind to, the cluster's database) must say why it expected that value:
the admin declared it in the inventory, the node's own configuration says so, the node's
etcd says so, most Spooler Controllers agree on it, or it is only the profile's default.
An admin reads "expected 6010 (profile default, assumed)" very differently from "expected
6010 (declared in cluster.yaml line 14)", and the next step differs too: fix the node, or
declare the right value.

:class:`Expected` carries one such value; findings keep them in
:attr:`auditor.findings.Finding.expected_sources` (the JSON report's ``expected_sources``,
docs/report-schema.md), and the HTML report shows them beside the expected value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ExpectationSource(StrEnum):
    """Where an expected value came from, most authoritative first."""

    DECLARED = "declared"  # the inventory (docs/inventory.md): what the admin states
    COLLECTED = "collected"  # the node's own configuration, read from the node
    ETCD = "etcd"  # the Management Service's etcd on the node
    CONSENSUS = "consensus"  # what most other nodes agree on (e.g. Spooler Controllers' lists)
    PROFILE_DEFAULT = "profile_default"  # the product profile's default (auditor/profile/default.yaml)

    @property
    def label(self) -> str:
        """How the source reads in a message: ``profile default`` rather than the enum value."""
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class Expected:
    """One expected value with its source and a short human detail.

    ``detail`` says exactly where: ``cluster.yaml line 14``, ``conf\\management.properties
    localGUID (assumed key)``, ``inferred from 37 of 40 Spooler Controllers``.
    """

    value: Any
    source: ExpectationSource
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", ExpectationSource(self.source))

    def describe(self) -> str:
        """``10.0.10.11 (declared: cluster.yaml line 14)``: the value and why it was expected."""
        why = self.source.label + (f": {self.detail}" if self.detail else "")
        return f"{self.value} ({why})"

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source.value, "detail": self.detail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expected:
        return cls(value=data.get("value"), source=ExpectationSource(data["source"]),
                   detail=str(data.get("detail") or ""))


def first_known(*candidates: Expected | None) -> Expected | None:
    """The first candidate that holds a value: callers list sources most authoritative first."""
    return next((c for c in candidates if c is not None and c.value not in (None, "")), None)


__all__ = ["ExpectationSource", "Expected", "first_known"]
