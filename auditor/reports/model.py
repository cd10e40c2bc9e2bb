"""The one report object every output format is rendered from.

``AuditReport`` holds what an admin (or CI, or the history store) needs to understand one
audit run without the cluster at hand: run metadata, every node with how collection went,
every finding, and the catalogue of checks that ran. Renderers only *read* it; the audit
pipeline (``auditor.audit``) builds it, and the history session fills the optional
``since_last_run`` / ``trend`` parts.

It round-trips through :meth:`AuditReport.to_dict` / :meth:`AuditReport.from_dict` (the JSON
report is exactly ``to_dict()``), so history can store a report and re-render it later.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from auditor.findings import FAILING_STATUSES, CheckMeta, Finding, Severity, Status, sources_to_dict
from auditor.jsonencode import reusable_encoder
from auditor.profile.verification import Verification
from auditor.vocab import NodeStatus

REPORT_SCHEMA_VERSION = 1

#: Severities from worst to least bad: the order every report lists things in.
SEVERITIES_DESC: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
#: Status order for a matrix cell (worst first): a cell shows the worst of its subjects.
#: ``fail`` outranks ``error`` because a confirmed problem is more actionable than an unknown.
STATUS_WORST_FIRST: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS, Status.SKIP)

CLUSTER_ROW = "(cluster)"
"""Node label used for cluster-wide findings (``Finding.node is None``)."""


@dataclass
class RunMeta:
    """Who ran what, when, against what. Times are ISO 8601 UTC strings."""

    tool_version: str
    started_at: str
    finished_at: str
    profile: str = ""  # Profile.label
    source_kind: str = "snapshot"  # "inventory" (live collection) or "snapshot" (--from DIR)
    source: str = ""  # inventory file or snapshot folder
    command_line: str = ""  # already redacted, see redact_argv
    host: str = ""  # machine that ran the audit
    fail_on: str = "high"  # severity name or "never"
    only_checks: list[str] = field(default_factory=list)
    only_nodes: list[str] = field(default_factory=list)
    run_id: int | str | None = None  # set by the history store when it records the run
    # Problems that did not stop the run but the reader must know (history not recorded ...)
    warnings: list[str] = field(default_factory=list)
    # CPU seconds the auditing host spent collecting (live audits; None for --from)
    collection_cpu_seconds: float | None = None


@dataclass
class NodeInfo:
    """A node as the report shows it: identity, roles and how collection went."""

    name: str
    address: str = ""
    roles: list[str] = field(default_factory=list)
    status: NodeStatus = NodeStatus.OK  # how collection went (NodeState.status)
    reason: str = ""
    hostname: str = ""
    collected_at: str | None = None
    in_scope: bool = True  # False when --node restricted the audit to other nodes

    @property
    def audited(self) -> bool:
        return self.status == NodeStatus.OK

    @classmethod
    def from_state(cls, state: Any, in_scope: bool = True) -> NodeInfo:
        """Build from a ``NodeState`` (duck-typed so tests can pass simple objects)."""
        return cls(
            name=state.name,
            address=getattr(state, "address", "") or "",
            roles=list(getattr(state, "roles", []) or []),
            status=NodeStatus(getattr(state, "status", None) or NodeStatus.OK),
            reason=getattr(state, "reason", "") or "",
            hostname=getattr(state, "hostname", "") or "",
            collected_at=getattr(state, "collected_at", None),
            in_scope=in_scope,
        )


def check_to_dict(meta: CheckMeta) -> dict[str, Any]:
    d = asdict(meta)
    d["severity"] = meta.severity.value
    d["references"] = list(meta.references)
    return d


def check_from_dict(d: dict[str, Any]) -> CheckMeta:
    d = dict(d)
    d["severity"] = Severity(d["severity"])
    d["references"] = tuple(d.get("references") or ())
    return CheckMeta(**d)


@dataclass
class AuditReport:
    """Everything one audit run produced. See docs/report-schema.md for the JSON form."""

    run: RunMeta
    nodes: list[NodeInfo]
    findings: list[Finding]
    checks: list[CheckMeta] = field(default_factory=list)
    # Filled by the history store (optional; renderers show them only when present):
    # auditor.history.drift.Drift.to_dict(): {"baseline_run", "baseline_kind", "baseline_finished_at",
    #  "run", "new": [finding dicts], "resolved": [finding dicts + "now_status"],
    #  "changed": [{"check_id", "subject", "node", "fields", "before", "after"}],
    #  "config_changes": [{"node", "file", "key", "change", "before", "after"}],
    #  "nodes": [{"node", "change", "before", "after", "reason"}]}
    since_last_run: dict[str, Any] | None = None
    # [{"run_id", "finished_at", "failing": {"critical": n, "high": n, ...}}], oldest first
    trend: list[dict[str, Any]] | None = None
    # The profile's assumed and inferred facts held against the audited nodes (auditor.profile.verify;
    # the HTML "Product model" section); None when not computed
    product_model: Verification | None = None

    # ---- lookups -------------------------------------------------------------
    def check(self, check_id: str) -> CheckMeta | None:
        for c in self.checks:
            if c.id == check_id:
                return c
        return None

    def title_of(self, check_id: str) -> str:
        c = self.check(check_id)
        return c.title if c else check_id

    @property
    def unreachable_nodes(self) -> list[NodeInfo]:
        """Nodes in scope that could not be audited (exit code 3)."""
        return [n for n in self.nodes if n.in_scope and not n.audited]

    @property
    def sorted_findings(self) -> list[Finding]:
        """Every finding, worst severity first, then status, check id, node, subject: the order
        of every report (a new list each time).

        Sorted once and reused while ``findings`` holds the same finding objects in the same
        order (the JSON, CSV and HTML writers and the summary each need it; at 105,000 findings
        a sort costs ~0.1 s, the comparison ~1 ms), like the findings frame
        (auditor.reports.matrix.findings_frame)."""
        fs = self.findings
        cached = self.__dict__.get("_sorted_findings")
        if cached is None or cached[0] != fs:  # C-speed: identical objects compare without __eq__
            cached = (list(fs), sorted(fs, key=finding_sort_key))
            self.__dict__["_sorted_findings"] = cached
        return list(cached[1])

    @property
    def failing_findings(self) -> list[Finding]:
        """fail/error findings, worst severity first, then check id, node, subject."""
        return [f for f in self.sorted_findings if f.status in FAILING_STATUSES]

    @property
    def waived_findings(self) -> list[Finding]:
        return [f for f in self.sorted_findings if f.status == Status.WAIVED]

    def failing_at_or_above(self, fail_on: str | Severity | None) -> list[Finding]:
        """Failing findings that make the run fail under ``--fail-on`` (``never`` -> none)."""
        if fail_on is None or (isinstance(fail_on, str) and fail_on.lower() == "never"):
            return []
        threshold = fail_on if isinstance(fail_on, Severity) else Severity.parse(fail_on)
        return [f for f in self.failing_findings if f.severity.rank >= threshold.rank]

    def summary(self) -> dict[str, Any]:
        """Counts for the summary (built with pandas, see auditor.reports.matrix.summary_counts)."""
        from auditor.reports.matrix import summary_counts

        return summary_counts(self)

    # ---- serialisation -------------------------------------------------------
    def to_dict(self, *, findings: bool = True) -> dict[str, Any]:
        """The JSON report (schema version REPORT_SCHEMA_VERSION). ``findings=False`` leaves
        the findings list empty, for the JSON renderer, which encodes them itself."""
        return {
            "report_schema_version": REPORT_SCHEMA_VERSION,
            "run": asdict(self.run),
            "summary": self.summary(),
            "nodes": [{**vars(n), "roles": list(n.roles)} for n in self.nodes],  # asdict, without deepcopy
            "checks": [check_to_dict(c) for c in self.checks],
            "findings": [finding_to_dict(f, self) for f in self.sorted_findings] if findings else [],
            "since_last_run": self.since_last_run,
            "trend": self.trend,
            "product_model": self.product_model.to_dict() if self.product_model is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditReport:
        if d.get("report_schema_version") != REPORT_SCHEMA_VERSION:
            raise ValueError(f"unsupported report_schema_version {d.get('report_schema_version')!r}")
        finding_fields = set(Finding.__dataclass_fields__)
        return cls(
            run=RunMeta(**d["run"]),
            nodes=[NodeInfo(**n) for n in d["nodes"]],
            findings=[Finding.from_dict({k: v for k, v in f.items() if k in finding_fields})
                      for f in d["findings"]],
            checks=[check_from_dict(c) for c in d.get("checks", [])],
            since_last_run=d.get("since_last_run"),
            trend=d.get("trend"),
            product_model=Verification.from_dict(d["product_model"]) if d.get("product_model") else None,
        )


_SORT_SEVERITY = {s: -s.rank for s in Severity}
_SORT_STATUS = {s: i for i, s in enumerate(STATUS_WORST_FIRST)}


def finding_sort_key(f: Finding) -> tuple:
    return (_SORT_SEVERITY[f.severity], _SORT_STATUS[f.status], f.check_id, f.node or "", f.subject)


def finding_to_dict(f: Finding, report: AuditReport | None = None) -> dict[str, Any]:
    """A finding as it appears in the JSON report (plus the fix command when fixable).

    Same content as ``jsonable(f.to_dict())`` but built in one pass: ``dataclasses.asdict``
    deep-copies every evidence value and ``jsonable`` then serialised each one to test it,
    which was most of the JSON report's time at 5,000 nodes (90,000 findings).
    """
    expected, actual, details, waiver, sources = f.expected, f.actual, f.details, f.waiver, f.expected_sources
    return {
        "check_id": f.check_id,
        "status": ENUM_VALUE[f.status],
        "severity": ENUM_VALUE[f.severity],
        "node": f.node,
        "subject": f.subject,
        "message": f.message,
        # most evidence is None or a text, which _plain returns as it is
        "expected": expected if expected is None or type(expected) is str else _plain(expected),
        "actual": actual if actual is None or type(actual) is str else _plain(actual),
        "fixable": f.fixable,
        "file": f.file,
        "line": f.line,
        "details": _plain(details),
        "waiver": waiver if waiver is None else _plain(waiver),
        "expected_sources": sources_to_dict(sources) if sources else {},
        "fix_command": fix_command(f, report) if f.fixable else None,
    }


ENUM_VALUE: dict[Any, str] = {**{s: s.value for s in Status}, **{s: s.value for s in Severity}}
"""A status's or severity's text, without the enum's ``.value`` descriptor (per finding, per report)."""


def _plain(value: Any) -> Any:
    """A JSON-safe copy of ``value`` (fast path of :func:`jsonable` for plain data)."""
    t = type(value)
    if t is str or value is None or t is int or t is bool:
        return value
    if t is list or t is tuple:
        return [v if type(v) is str else _plain(v) for v in value]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                return jsonable(value)
            out[k] = v if type(v) is str else _plain(v)
        return out
    if t is float and value == value and value not in (float("inf"), float("-inf")):
        return value
    return jsonable(value)


def jsonable(value: Any) -> Any:
    """Make evidence JSON-safe without losing it: unknown types become their str()."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [jsonable(v) for v in value]
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)


def format_value(value: Any) -> str:
    """Evidence as text for HTML/CSV/JUnit/console: strings as-is, the rest as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        # one shared encoder and the one-pass copy: json.dumps(jsonable(v)) built an encoder
        # and serialised every value twice (CSV/JUnit call this ~800,000 times at 5,000 nodes)
        return _EVIDENCE_ENCODER(_plain(value))
    except (TypeError, ValueError):  # pragma: no cover - jsonable already guards
        return str(value)


_EVIDENCE_ENCODER = reusable_encoder(json.JSONEncoder(ensure_ascii=False, sort_keys=True))


def fix_inventory(report: AuditReport | None) -> str:
    """The ``--inventory`` argument of the report's fix commands (not yet shell-quoted).

    Fixes act on live nodes, so a report built from a snapshot names a placeholder
    inventory the admin has to substitute."""
    if report is not None and report.run.source_kind == "inventory" and report.run.source:
        return report.run.source
    return "INVENTORY.yaml"


def fix_command(f: Finding, report: AuditReport | None = None) -> str:
    """The exact ``auditor fix`` command for a fixable finding (a dry run: add --apply).

    A check can ask for extra ``auditor fix`` options for one finding with
    ``details["fix_args"]`` (e.g. ``["--remove-stale"]`` for a stale spoc.conf entry, which
    the fixer removes only when told to).
    """
    parts = ["auditor", "fix", "--inventory", fix_inventory(report), "--check", f.check_id]
    if f.node:
        parts += ["--node", f.node]
    extra = (f.details or {}).get("fix_args")
    if isinstance(extra, (list, tuple)) and all(isinstance(a, str) for a in extra):
        parts += list(extra)
    return shlex.join(parts)


# ---- command line redaction ----------------------------------------------------------
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "apikey", "api-key", "credential")
_SECRET_ASSIGN = re.compile(r"(?i)\b([\w.-]*(?:password|passwd|pwd|secret|token|apikey|credential)[\w.-]*)=(\S+)")


def redact_argv(argv: list[str]) -> str:
    """The command line for the report, with anything that looks like a secret replaced.

    Our CLI never takes passwords as arguments, but wrappers and typos happen, and the
    report is mailed around: ``--password X``, ``--password=X`` and ``key=X`` are redacted.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        low = arg.lower()
        if low.startswith("-") and any(w in low for w in _SECRET_WORDS):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(_SECRET_ASSIGN.sub(lambda m: f"{m.group(1)}=***", arg))
    return shlex.join(out)
