"""JUnit XML for CI servers: one testcase per check x subject.

``classname`` is the check id and ``name`` the subject, so CI groups results by check.
fail -> <failure>, error -> <error>, skip and waived -> <skipped>. A node that could not be
audited is an <error> testcase in the ``auditor.collection`` suite, so CI never shows green
for a cluster it could not see. Text is stripped of characters XML 1.0 cannot carry
(control characters from a hostile or corrupt config file would otherwise make the whole
file unparseable for the CI server).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from auditor.findings import Finding, Status
from auditor.reports.model import finding_sort_key, fix_command, format_value

if TYPE_CHECKING:
    from auditor.reports.model import AuditReport

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
COLLECTION_SUITE = "auditor.collection"


def xml_text(value: object) -> str:
    return _XML_INVALID.sub("", value if type(value) is str else format_value(value))


def _evidence(f: Finding, report: AuditReport, remediation: dict[str, str]) -> str:
    lines = [f.message]
    if f.node:
        lines.append(f"node: {f.node}")
    if f.expected is not None:
        lines.append(f"expected: {format_value(f.expected)}")
    if f.actual is not None:
        lines.append(f"actual: {format_value(f.actual)}")
    if f.file:
        lines.append(f"file: {f.file}" + (f":{f.line}" if f.line else ""))
    if remediation.get(f.check_id):
        lines.append(f"remediation: {remediation[f.check_id]}")
    if f.fixable:
        lines.append(f"fix: {fix_command(f, report)}")
    return xml_text("\n".join(lines))


def _testcase(f: Finding, report: AuditReport, remediation: dict[str, str], classname: str) -> tuple[str, str]:
    """One finding's ``<testcase>`` and the kind of its child for the suite's counts ("" for a
    passing one), see :func:`_case`. ``classname``: the check id, already escaped."""
    name = xml_text(f.subject)
    status = f.status
    if status == Status.PASS:
        return _case(classname, name)
    if status == Status.FAIL or status == Status.ERROR:
        kind = "failure" if status == Status.FAIL else "error"
        severity = f.severity.value
        child = _element(kind, [("message", xml_text(f"[{severity}] {f.message}")),
                                ("type", severity if kind == "failure" else "check-error")],
                         _evidence(f, report, remediation))
    elif status == Status.SKIP:
        kind, child = "skipped", _element("skipped", [("message", xml_text(f.message))])
    else:  # waived
        w = f.waiver or {}
        msg = f"waived: {w.get('reason', '')} (owner {w.get('owner', '?')}, expires {w.get('expires', '?')})"
        kind, child = "skipped", _element("skipped", [("message", xml_text(msg))])
    return _case(classname, name, kind, child)


def _case(classname: str, name: str, kind: str = "", child: str = "") -> tuple[str, str]:
    """A ``<testcase>`` (``classname`` already escaped), with its one child element of
    ``kind`` (failure, error, skipped) or none, indented for its place in a suite; and ``kind``
    for the suite's counts."""
    head = f'    <testcase classname="{classname}" name="{_attr(name)}" time="0"'
    return (f"{head}>\n      {child}\n    </testcase>" if child else head + " />"), kind


def _element(tag: str, attrs: list[tuple[str, str]], text: str = "") -> str:
    """``<tag a="v">text</tag>``, or ``<tag a="v" />`` without text (ElementTree's form)."""
    opening = "<" + tag + "".join(f' {k}="{_attr(v)}"' for k, v in attrs)
    return f"{opening}>{_text(text)}</{tag}>" if text else opening + " />"


def _suite(name: str, timestamp: str, cases: list[tuple[str, str]]) -> tuple[str, list[int]]:
    """A ``<testsuite>`` with its testcases and its counts: tests, failures, errors, skipped."""
    kinds = [kind for _, kind in cases]
    counts = [len(cases), kinds.count("failure"), kinds.count("error"), kinds.count("skipped")]
    opening = (f'  <testsuite name="{_attr(name)}" timestamp="{_attr(timestamp)}" tests="{counts[0]}" '
               f'failures="{counts[1]}" errors="{counts[2]}" skipped="{counts[3]}" time="0"')
    if not cases:
        return opening + " />", counts
    body = "\n".join(case for case, _ in cases)
    return f"{opening}>\n{body}\n  </testsuite>", counts


def render_junit(report: AuditReport) -> str:
    """The JUnit XML text, written directly (two-space indentation, as ``ET.indent`` gives).

    Why not an ElementTree: at 5,000 nodes the file has 115,000 elements, and building the
    tree and serialising it was most of this renderer's second; the text is the same
    (tests/perf/test_perf_structure.py re-indents it with ElementTree and compares)."""
    timestamp = xml_text(report.run.started_at)
    collection: list[tuple[str, str]] = []
    for n in report.nodes:
        if not n.in_scope:
            continue
        name = xml_text(n.name)
        if n.audited:
            collection.append(_case(COLLECTION_SUITE, name))
        else:
            child = _element("error", [("message", xml_text(f"node not audited: {n.status}")), ("type", n.status)],
                             xml_text(f"{n.name} ({n.address}): {n.status}: {n.reason}"))
            collection.append(_case(COLLECTION_SUITE, name, "error", child))
    suites = [_suite(COLLECTION_SUITE, timestamp, collection)]

    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(report.findings, key=lambda f: (f.check_id, f.node or "", f.subject)):
        by_check[f.check_id].append(f)
    order = [c.id for c in report.checks if c.id in by_check] + sorted(
        c for c in by_check if report.check(c) is None)
    # report.check(): the first check of an id wins
    remediation = {c.id: c.remediation for c in reversed(report.checks)}
    for check_id in order:
        name = xml_text(check_id)
        classname = _attr(name)
        suites.append(_suite(name, timestamp, [_testcase(f, report, remediation, classname) for f in by_check[check_id]]))

    totals = [sum(counts[i] for _, counts in suites) for i in range(4)]
    root = (f'<testsuites name="paragon-auditor" tests="{totals[0]}" failures="{totals[1]}" '
            f'errors="{totals[2]}" skipped="{totals[3]}">')
    body = "\n".join(text for text, _ in suites)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n{body}\n</testsuites>\n'


_ATTR_SPECIAL = re.compile('[&<>"\r\n\t]')
_ATTR_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
_TEXT_SPECIAL = re.compile("[&<>]")


def _attr(value: str) -> str:
    """ElementTree's attribute escaping (one regex search; most values need nothing)."""
    return _ATTR_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group()], value) if _ATTR_SPECIAL.search(value) else value


def _text(value: str) -> str:
    return _TEXT_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group()], value) if _TEXT_SPECIAL.search(value) else value


__all__ = ["render_junit", "xml_text", "finding_sort_key"]
