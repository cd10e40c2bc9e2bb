"""A finding's expected/actual evidence as something a person reads: small tables with the
missing, stale and wrong entries marked, never raw JSON.

The view is chosen by the shape of the values, so a new check with structured evidence needs no
report code:

* text or numbers: two lines, expected and found;
* lists of plain values: one row per entry, expected beside found, each row marked;
* lists of records (dicts): one table, a column per field, one row per entry, wrong fields
  marked with the expected value;
* mappings: one row per key, expected beside found.

Entries are paired by equality (records: first on all shared fields, then on the first shared
field, whose other differing fields are then *wrong*); what is left is *missing* (expected) or
*unexpected* (found). A finding that knows better marks entries itself (:class:`auditor.evidence.Marks`).
Nested values inside a cell become short ``key: value`` text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Mark, Marks

MAX_ROWS = 200  # a larger list is cut here in the HTML (every entry stays in report.json)

MARK_LABELS = {
    Mark.MISSING: "missing",
    Mark.STALE: "stale",
    Mark.WRONG: "wrong",
    Mark.UNEXPECTED: "not expected",
}


def text_of(value: Any) -> str:
    """A value as short readable text: scalars as they are, lists comma-separated, mappings as
    ``key: value`` pairs (no JSON quoting or braces)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {text_of(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(text_of(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Cell:
    text: str
    wrong: bool = False
    expected: str = ""  # for a wrong cell: what was expected


@dataclass(frozen=True)
class Row:
    mark: Mark | None  # None: as expected
    cells: tuple[Cell, ...]

    @property
    def label(self) -> str:
        return MARK_LABELS[self.mark] if self.mark else "ok"

    @property
    def css(self) -> str:
        return f"mark-{self.mark.value}" if self.mark else "mark-ok"


@dataclass(frozen=True)
class EvidenceView:
    """What the template draws: ``kind`` is text, table; a table has headers and rows."""

    kind: str
    expected: str = ""  # kind text
    actual: str = ""
    multiline: bool = False
    headers: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    hidden_rows: int = 0  # rows beyond MAX_ROWS
    counts: dict[str, int] = field(default_factory=dict)  # mark label -> rows with it

    @property
    def summary(self) -> str:
        """``1 missing, 1 stale`` for the table's caption."""
        return ", ".join(f"{n} {label}" for label, n in self.counts.items())


def _is_record_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _is_plain_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and not any(isinstance(v, (Mapping, list, tuple)) for v in value)


def _pair(expected: Sequence[Any], actual: Sequence[Any], marks: Marks | None,
          same: Any, related: Any = None) -> list[tuple[int | None, int | None, Mark | None]]:
    """(expected position, actual position, mark) for every entry of both lists, in expected
    order with unpaired found entries after their predecessor."""
    e_marks = {int(k): v for k, v in (marks.expected.items() if marks else ()) if str(k).isdigit()}
    a_marks = {int(k): v for k, v in (marks.actual.items() if marks else ()) if str(k).isdigit()}
    free_e = [i for i in range(len(expected)) if e_marks.get(i) is None]
    free_a = [j for j in range(len(actual)) if a_marks.get(j) not in (Mark.STALE, Mark.UNEXPECTED)]
    pairs: dict[int, int] = {}
    for test in (same, related):
        if test is None:
            continue
        for i in free_e:
            if i in pairs:
                continue
            j = next((j for j in free_a if j not in pairs.values() and test(expected[i], actual[j])), None)
            if j is not None:
                pairs[i] = j
    if marks is not None:  # the check vouches for the rest: pair what is left in order
        rest_a = [j for j in free_a if j not in pairs.values()]
        for i in (i for i in free_e if i not in pairs):
            if rest_a:
                pairs[i] = rest_a.pop(0)
    out: list[tuple[int | None, int | None, Mark | None]] = []
    used = set(pairs.values())
    for i in range(len(expected)):
        j = pairs.get(i)
        if j is None:
            out.append((i, None, e_marks.get(i, Mark.MISSING)))
        else:
            out.append((i, j, a_marks.get(j)))
    for j in range(len(actual)):
        if j not in used:
            out.append((None, j, a_marks.get(j, Mark.UNEXPECTED)))
    return out


def _counts(rows: Sequence[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        if r.mark is not None:
            counts[r.label] = counts.get(r.label, 0) + 1
    return counts


def _table(headers: Sequence[str], rows: list[Row]) -> EvidenceView:
    return EvidenceView(kind="table", headers=tuple(headers), rows=tuple(rows[:MAX_ROWS]),
                        hidden_rows=max(0, len(rows) - MAX_ROWS), counts=_counts(rows))


def _plain_lists(expected: Sequence[Any], actual: Sequence[Any], marks: Marks | None) -> EvidenceView:
    rows = []
    for i, j, mark in _pair(expected, actual, marks, lambda a, b: a == b):
        rows.append(Row(mark, (Cell(text_of(expected[i]) if i is not None else ""),
                               Cell(text_of(actual[j]) if j is not None else ""))))
    return _table(("Expected", "Found"), rows)


def _records(expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]],
             marks: Marks | None) -> EvidenceView:
    columns = list(dict.fromkeys([k for r in expected for k in r] + [k for r in actual for k in r]))
    shared = [k for k in columns if any(k in r for r in expected) and any(k in r for r in actual)]

    def same(e: Mapping[str, Any], a: Mapping[str, Any]) -> bool:
        return bool(shared) and all(e.get(k) == a.get(k) for k in shared)

    def related(e: Mapping[str, Any], a: Mapping[str, Any]) -> bool:
        return bool(shared) and e.get(shared[0]) is not None and e.get(shared[0]) == a.get(shared[0])

    rows = []
    for i, j, mark in _pair(expected, actual, marks, same, related):
        e = expected[i] if i is not None else {}
        a = actual[j] if j is not None else {}
        flagged = set(marks.fields.get(str(j), ())) if (marks and j is not None) else set()
        cells = []
        for k in columns:
            differs = i is not None and j is not None and k in e and k in a and e[k] != a[k]
            wrong = differs or k in flagged
            cells.append(Cell(text_of(a[k] if k in a else e.get(k)), wrong=wrong,
                              expected=text_of(e.get(k)) if wrong and k in e else ""))
        if mark is None and any(c.wrong for c in cells):
            mark = Mark.WRONG
        rows.append(Row(mark, tuple(cells)))
    return _table(columns, rows)


def _mappings(expected: Mapping[str, Any], actual: Mapping[str, Any], marks: Marks | None) -> EvidenceView:
    rows = []
    for key in dict.fromkeys([*expected, *actual]):
        given = (marks.expected.get(str(key)) or marks.actual.get(str(key))) if marks else None
        if key not in actual:
            mark = given or Mark.MISSING
        elif key not in expected:
            mark = given or Mark.UNEXPECTED
        else:
            mark = given or (Mark.WRONG if expected[key] != actual[key] else None)
        rows.append(Row(mark, (Cell(str(key)), Cell(text_of(expected.get(key))), Cell(text_of(actual.get(key))))))
    return _table(("Key", "Expected", "Found"), rows)


def evidence_view(expected: Any, actual: Any, details: Mapping[str, Any] | None = None) -> EvidenceView | None:
    """The view of one finding's evidence (None when it has none)."""
    if expected is None and actual is None:
        return None
    marks = Marks.from_details(details)
    if (_is_record_list(expected) or _is_record_list(actual)) and all(
            v is None or _is_record_list(v) or v == [] for v in (expected, actual)):
        return _records(expected or [], actual or [], marks)
    if all(v is None or isinstance(v, Mapping) for v in (expected, actual)):
        return _mappings(expected or {}, actual or {}, marks)
    if all(v is None or (_is_plain_list(v) and isinstance(v, (list, tuple))) for v in (expected, actual)):
        return _plain_lists(expected or [], actual or [], marks)
    if isinstance(expected, (list, tuple)) and _is_plain_list(expected) and not isinstance(actual, (list, tuple, Mapping)):
        # a list expected, one value found (or the other way round): compare as lists
        return _plain_lists(expected, [] if actual is None else [actual], marks)
    if isinstance(actual, (list, tuple)) and _is_plain_list(actual) and not isinstance(expected, (list, tuple, Mapping)):
        return _plain_lists([] if expected is None else [expected], actual, marks)
    e, a = text_of(expected), text_of(actual)
    return EvidenceView(kind="text", expected=e, actual=a, multiline="\n" in e or "\n" in a)
