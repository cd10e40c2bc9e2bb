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
    return _XML_INVALID.sub("", format_value(value))


def _evidence(f: Finding, report: AuditReport) -> str:
    lines = [f.message]
    if f.node:
        lines.append(f"node: {f.node}")
    if f.expected is not None:
        lines.append(f"expected: {format_value(f.expected)}")
    if f.actual is not None:
        lines.append(f"actual: {format_value(f.actual)}")
    if f.file:
        lines.append(f"file: {f.file}" + (f":{f.line}" if f.line else ""))
    check = report.check(f.check_id)
    if check and check.remediation:
        lines.append(f"remediation: {check.remediation}")
    if f.fixable:
        lines.append(f"fix: {fix_command(f, report)}")
    return xml_text("\n".join(lines))


def _testcase(suite: ET.Element, f: Finding, report: AuditReport) -> None:
    case = ET.SubElement(suite, "testcase", classname=xml_text(f.check_id), name=xml_text(f.subject), time="0")
    header = xml_text(f"[{f.severity.value}] {f.message}")
    if f.status == Status.FAIL:
        el = ET.SubElement(case, "failure", message=header, type=f.severity.value)
        el.text = _evidence(f, report)
    elif f.status == Status.ERROR:
        el = ET.SubElement(case, "error", message=header, type="check-error")
        el.text = _evidence(f, report)
    elif f.status == Status.SKIP:
        ET.SubElement(case, "skipped", message=xml_text(f.message))
    elif f.status == Status.WAIVED:
        w = f.waiver or {}
        msg = f"waived: {w.get('reason', '')} (owner {w.get('owner', '?')}, expires {w.get('expires', '?')})"
        ET.SubElement(case, "skipped", message=xml_text(msg))


def _suite_counts(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
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
    for check_id in order:
        suite = ET.SubElement(root, "testsuite", name=xml_text(check_id), timestamp=xml_text(report.run.started_at))
        for f in by_check[check_id]:
            _testcase(suite, f, report)
        _suite_counts(suite)

    suites = root.findall("testsuite")
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["render_junit", "xml_text", "finding_sort_key"]
