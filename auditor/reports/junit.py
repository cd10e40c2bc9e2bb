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
import xml.etree.ElementTree as ET
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


def _testcase(suite: ET.Element, f: Finding, report: AuditReport, remediation: dict[str, str],
              classname: str) -> None:
    """``classname``: ``xml_text(f.check_id)``; ``remediation``: check id -> its remediation."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=xml_text(f.subject), time="0")
    if f.status == Status.PASS:
        return
    header = xml_text(f"[{f.severity.value}] {f.message}")
    if f.status == Status.FAIL:
        el = ET.SubElement(case, "failure", message=header, type=f.severity.value)
        el.text = _evidence(f, report, remediation)
    elif f.status == Status.ERROR:
        el = ET.SubElement(case, "error", message=header, type="check-error")
        el.text = _evidence(f, report, remediation)
    elif f.status == Status.SKIP:
        ET.SubElement(case, "skipped", message=xml_text(f.message))
    elif f.status == Status.WAIVED:
        w = f.waiver or {}
        msg = f"waived: {w.get('reason', '')} (owner {w.get('owner', '?')}, expires {w.get('expires', '?')})"
        ET.SubElement(case, "skipped", message=xml_text(msg))


def _suite_counts(suite: ET.Element) -> None:
    """tests/failures/errors/skipped of a suite: testcases with a child of that kind (one pass;
    a passing testcase has no child, which is most of them)."""
    cases = suite.findall("testcase")
    counts = {"failure": 0, "error": 0, "skipped": 0}
    for c in cases:
        if len(c):
            for tag in {child.tag for child in c}:
                if tag in counts:
                    counts[tag] += 1
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", "0")


def render_junit(report: AuditReport) -> str:
    root = ET.Element("testsuites", name="paragon-auditor")
    coll = ET.SubElement(root, "testsuite", name=COLLECTION_SUITE, timestamp=xml_text(report.run.started_at))
    for n in report.nodes:
        if not n.in_scope:
            continue
        case = ET.SubElement(coll, "testcase", classname=COLLECTION_SUITE, name=xml_text(n.name), time="0")
        if not n.audited:
            el = ET.SubElement(case, "error", message=xml_text(f"node not audited: {n.status}"), type=n.status)
            el.text = xml_text(f"{n.name} ({n.address}): {n.status}: {n.reason}")
    _suite_counts(coll)

    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(report.findings, key=lambda f: (f.check_id, f.node or "", f.subject)):
        by_check[f.check_id].append(f)
    order = [c.id for c in report.checks if c.id in by_check] + sorted(
        c for c in by_check if report.check(c) is None)
    # report.check(): the first check of an id wins
    remediation = {c.id: c.remediation for c in reversed(report.checks)}
    for check_id in order:
        suite = ET.SubElement(root, "testsuite", name=xml_text(check_id), timestamp=xml_text(report.run.started_at))
        classname = xml_text(check_id)
        for f in by_check[check_id]:
            _testcase(suite, f, report, remediation, classname)
        _suite_counts(suite)

    suites = root.findall("testsuite")
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + serialize_indented(root) + "\n"


_ATTR_SPECIAL = re.compile('[&<>"\r\n\t]')
_ATTR_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
_TEXT_SPECIAL = re.compile("[&<>]")


def _attr(value: str) -> str:
    """ElementTree's attribute escaping (one regex search; most values need nothing)."""
    return _ATTR_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group()], value) if _ATTR_SPECIAL.search(value) else value


def _text(value: str) -> str:
    return _TEXT_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group()], value) if _TEXT_SPECIAL.search(value) else value


def serialize_indented(root: ET.Element, space: str = "  ") -> str:
    """``ET.indent(root, space); ET.tostring(root, encoding="unicode")`` without changing the
    tree, for namespace-free trees: the same characters, about 3x faster.

    Why: at 5,000 nodes the JUnit file has 115,000 elements, and ElementTree's serializer
    (a namespace pass over every element, then a generic recursive writer) was more than half
    of the renderer's time.
    """
    out: list[str] = []
    append = out.append

    def write(elem: ET.Element, level: int) -> None:
        append("<" + elem.tag)
        for k, v in elem.items():
            append(f' {k}="{_attr(v)}"')
        text = elem.text
        if len(elem):
            if not text or not text.strip():
                text = "\n" + space * (level + 1)
            append(">" + _text(text))
            inner = "\n" + space * (level + 1)
            children = list(elem)
            for child in children[:-1]:
                write(child, level + 1)
                tail = child.tail
                append(_text(tail) if tail and tail.strip() else inner)
            last = children[-1]
            write(last, level + 1)
            tail = last.tail
            append(_text(tail) if tail and tail.strip() else "\n" + space * level)
            append(f"</{elem.tag}>")
        elif text:
            append(f">{_text(text)}</{elem.tag}>")
        else:
            append(" />")

    write(root, 0)
    if root.tail:
        append(_text(root.tail))
    return "".join(out)


__all__ = ["render_junit", "xml_text", "finding_sort_key"]
