"""How a finding says which entries of its evidence are the problem.

A finding's ``expected`` and ``actual`` carry the value's natural shape: a text, a list (the
Management servers a spoc.conf should list), a list of records (its numbered entries), a mapping
(configuration keys). The reports render lists and records as tables and mark each entry
*missing* (expected, not there), *stale* (there, but it should not be: a removed server, a
duplicate) or *wrong* (there, but a value in it differs). They compare by equality on their own;
a check that knows better (an address ``10.0.10.11:8443`` that *is* the expected
``10.0.10.11``) marks the entries itself with :class:`Marks`, stored in
``Finding.details["marks"]`` so the JSON report carries them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MARKS_KEY = "marks"


class Mark(StrEnum):
    """What is wrong with one entry of the evidence."""

    MISSING = "missing"  # expected, not there
    STALE = "stale"  # there, but should not be (removed server, duplicate)
    WRONG = "wrong"  # there, but a value in it differs from what is expected
    UNEXPECTED = "unexpected"  # there, not expected (what an unmarked comparison can say)


@dataclass(frozen=True)
class Marks:
    """Marks by position (lists) or key (mappings) of ``expected`` and ``actual``.

    ``fields`` names, for an actual record marked WRONG, the fields that differ."""

    expected: Mapping[str, Mark] = field(default_factory=dict)
    actual: Mapping[str, Mark] = field(default_factory=dict)
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_detail(self) -> dict[str, Any]:
        """The JSON form kept in ``Finding.details["marks"]``."""
        return {"expected": {k: v.value for k, v in self.expected.items()},
                "actual": {k: v.value for k, v in self.actual.items()},
                "fields": {k: list(v) for k, v in self.fields.items()}}

    @classmethod
    def from_details(cls, details: Mapping[str, Any] | None) -> Marks | None:
        """The marks of a finding's details (None when it has none, or they are malformed)."""
        raw = (details or {}).get(MARKS_KEY)
        if not isinstance(raw, Mapping):
            return None
        try:
            return cls(expected={str(k): Mark(v) for k, v in (raw.get("expected") or {}).items()},
                       actual={str(k): Mark(v) for k, v in (raw.get("actual") or {}).items()},
                       fields={str(k): tuple(str(f) for f in v) for k, v in (raw.get("fields") or {}).items()})
        except (ValueError, TypeError, AttributeError):
            return None


def marks_detail(expected: Mapping[Any, Mark] | None = None, actual: Mapping[Any, Mark] | None = None,
                 fields: Mapping[Any, tuple[str, ...] | list[str]] | None = None) -> dict[str, Any]:
    """``details["marks"]`` for a check: keys are list positions (0-based) or mapping keys."""
    return Marks(expected={str(k): v for k, v in (expected or {}).items()},
                 actual={str(k): v for k, v in (actual or {}).items()},
                 fields={str(k): tuple(v) for k, v in (fields or {}).items()}).to_detail()
