"""A precheck's outputs: the console text, ``precheck.json`` and ``precheck.html``.

One :class:`~auditor.precheck.model.PrecheckReport` feeds all three. The JSON is versioned
(``format: paragon-auditor-precheck``, ``version: 1``, docs/pre-change.md); the HTML is one
self-contained file, autoescaped like the audit report (the same Jinja2 environment).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError, InputError
from auditor.findings import sources_to_dict
from auditor.precheck.model import Change, PrecheckReport, Verdict
from auditor.safetext import one_line

PRECHECK_FORMAT = "paragon-auditor-precheck"
PRECHECK_VERSION = 1
FILES = {"html": "precheck.html", "json": "precheck.json"}
LABELS = {Verdict.GO: "GO", Verdict.WARNING: "WARNING", Verdict.NO_GO: "NO-GO"}


def parse_precheck_formats(formats: Iterable[str]) -> list[str]:
    names = [p.strip().lower() for item in formats for p in item.split(",") if p.strip()]
    unknown = [n for n in names if n not in FILES]
    if unknown or not names:
        raise InputError(f"--format: expected html and/or json, got {', '.join(unknown) or 'nothing'}")
    return list(dict.fromkeys(names))


def title(report: PrecheckReport) -> str:
    what = (f"adding Management server {report.subject}" if report.change is Change.ADD_MANAGEMENT
            else "updating" + (f" to {report.subject}" if report.subject else ""))
    return f"Precheck for {what} (cluster {report.cluster!r})"


def verdict_line(report: PrecheckReport) -> str:
    warnings = len(report.by_verdict(Verdict.WARNING))
    blocking = len(report.by_verdict(Verdict.NO_GO))
    if report.verdict is Verdict.NO_GO:
        why = [f"{blocking} no-go item(s)"] if blocking else []
        if report.not_collected:
            why.append(f"{len(report.not_collected)} node(s) not collected")
        return f"NO-GO: {', '.join(why)}"
    return "GO" + (f", with {warnings} warning(s) to read first" if warnings else "")


# ---- JSON ------------------------------------------------------------------------------------
def to_dict(report: PrecheckReport) -> dict[str, Any]:
    return {
        "format": PRECHECK_FORMAT, "version": PRECHECK_VERSION,
        "change": report.change.value, "cluster": report.cluster, "subject": report.subject,
        "verdict": report.verdict.value, "exit_code": int(report.exit_code),
        "started_at": report.started_at, "finished_at": report.finished_at, "tool_version": report.tool_version,
        "inventory": report.inventory,
        "nodes": [{"name": n.name, "roles": list(n.roles), "status": n.status.value, "reason": n.reason}
                  for n in report.nodes],
        "preconditions": [r.to_dict() for r in report.results],
        "needs": sources_to_dict(report.needs()),
        "order": [s.to_dict() for s in report.order],
        "next_steps": list(report.notes),
        "history": {"run_id": report.run_id, "baseline_pinned": report.baseline_pinned, "note": report.history_note},
    }


def render_json(report: PrecheckReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"


# ---- HTML ------------------------------------------------------------------------------------
def render_html(report: PrecheckReport) -> str:
    from auditor.reports.evidence import text_of
    from auditor.reports.html import template_environment

    env = template_environment()
    return env.get_template("precheck.html.j2").render(
        report=report, title=title(report), verdict=report.verdict.value, verdict_line=verdict_line(report),
        labels={v.value: LABELS[v] for v in Verdict},
        needs=[(what, text_of(e.value), e.source.label + (f": {e.detail}" if e.detail else ""))
               for what, e in report.needs().items()])


# ---- console ---------------------------------------------------------------------------------
def render_console(report: PrecheckReport, width: int | None = 100) -> str:
    """The console text; ``width`` None keeps one line per item (logs)."""

    def wrap(text: str, indent: str, first: str = "") -> list[str]:
        text = one_line(text)
        if width is None:
            return [(first or indent) + text]
        return textwrap.wrap(text, width=max(40, width), initial_indent=first or indent, subsequent_indent=indent,
                             break_long_words=False, break_on_hyphens=False) or [first or indent]

    out = [title(report), "", f"Verdict: {verdict_line(report)}", ""]
    ids = max((len(r.condition.id) for r in report.results), default=0)
    for r in report.results:
        label = LABELS[r.verdict].ljust(7)
        lead = f"  {label}  {r.condition.id.ljust(ids)}  "
        out += wrap(r.outcome.reason, " " * len(lead), lead)
        if r.verdict is not Verdict.GO:
            out += wrap(f"what to do: {r.condition.remediation}", " " * (len(lead) + 2), " " * len(lead))
    needs = report.needs()
    if needs:
        who = report.subject if report.change is Change.ADD_MANAGEMENT else "the change"
        out += ["", f"What {who} needs:"]
        for what, e in needs.items():
            out += wrap(e.describe(), "      ", f"  {what}: ")
    if report.order:
        out += ["", "Update order (one server at a time):"]
        for step in report.order:
            line = (f"  {step.number}. {step.node} ({step.role}, {step.version or 'version unknown'}): "
                    f"{step.state.value}" + (f" - {step.note}" if step.note else ""))
            out += wrap(line, "       ", "")
    if report.notes:
        out += ["", "Next steps:"]
        for i, note in enumerate(report.notes, start=1):
            out += wrap(note, "     ", f"  {i}. ")
    out += ["", f"History: {report.history_note}" if report.history_note else ""]
    if report.written:
        out += ["Written:"] + [f"  {p}" for p in report.written]
    return "\n".join(line.rstrip() for line in out).rstrip("\n") + "\n"


# ---- files -----------------------------------------------------------------------------------
def write_outputs(report: PrecheckReport, out_dir: Path, formats: Iterable[str]) -> list[Path]:
    """Write the asked formats into ``out_dir`` (owner-only files, written atomically); the
    paths are also kept in ``report.written``."""
    from auditor.nodefolder import atomic_write

    renderers = {"html": render_html, "json": render_json}
    for name in parse_precheck_formats(formats):
        path = Path(out_dir) / FILES[name]
        try:
            atomic_write(path, renderers[name](report).encode("utf-8"))
        except OSError as exc:
            raise AuditorError(f"cannot write {path}: {exc.strerror or exc}") from None
        report.written.append(path)
    return list(report.written)


__all__ = ["FILES", "PRECHECK_FORMAT", "PRECHECK_VERSION", "parse_precheck_formats", "render_console",
           "render_html", "render_json", "to_dict", "write_outputs"]
