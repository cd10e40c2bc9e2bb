"""Structural guards for the performance work (docs/performance.md). Nothing here is timed.

* the collector sends exactly ONE remote command per node, in a constant number of HTTP
  requests (lab counters), and leaves no shell open;
* model + checks + reports do work proportional to the number of nodes (Python function
  calls counted at two cluster sizes: a quadratic loop shows up as a ratio near 16, not 4);
* nothing compares cluster nodes by value (that made VERSION-CONSISTENT quadratic);
* the fast report paths give exactly what the straightforward ones gave;
* the fix planner does work proportional to the size of spoc.conf.
"""

from __future__ import annotations

import gc
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from auditor.audit import bulk_gc, run_audit, write_reports
from auditor.checks import run_checks
from auditor.cluster import Cluster, NodeView
from auditor.findings import Finding, Severity, Status
from auditor.fixers import FixOptions, build_plan
from auditor.lab.scenario_builder import build_healthy
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, path_key
from auditor.profile import load_profile
from auditor.reports.json_report import render_json
from auditor.reports.model import finding_to_dict, fix_command, jsonable

pytestmark = pytest.mark.timeout(120)

REQUESTS_PER_NODE = 7
"""NTLM with message encryption over HTTP, measured (docs/performance.md): 2 handshake POSTs
(the empty POST with the pre-emptive NEGOTIATE -> 401 with the CHALLENGE, AUTHENTICATE +
empty body -> 200) then Create, Command, Receive, Signal, Delete. One more Receive per extra
output chunk or operation timeout."""
PASSWORD_ENV = "PERF_TEST_LAB_PASSWORD"


@pytest.fixture(scope="module")
def profile():
    return load_profile(None)


def _states(tmp: Path, nodes: int):
    build_healthy(tmp / f"c{nodes}", sites=nodes - 2)
    return load_cluster_folder(tmp / f"c{nodes}")[1]


def test_collector_one_command_per_node_constant_requests(tmp_path, monkeypatch, profile):
    from auditor.collect.inventory import load_inventory
    from auditor.collect.runner import collect_cluster
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    password = "perf-Test-pw-1"
    monkeypatch.setenv(PASSWORD_ENV, password)
    build_healthy(tmp_path / "scenario", sites=4)
    with LabCluster(tmp_path / "scenario", handler_factory=make_handler, scheme="http", auth="ntlm",
                    password=password, workdir=tmp_path / "lab") as lab:
        inv = load_inventory(lab.write_inventory(tmp_path / "inventory.yaml", password_env=PASSWORD_ENV))
        result = collect_cluster(inv, profile)
        assert [n.status for n in result.nodes] == ["ok"] * 6
        for node in lab.nodes:
            c = node.server.counters()
            assert c.commands_run == 1, node.name
            assert c.actions == {"Create": 1, "Command": 1, "Receive": 1, "Signal": 1, "Delete": 1}, node.name
            assert c.requests == REQUESTS_PER_NODE, (node.name, c)
            assert c.status == {401: 1, 200: 6}, node.name  # no anonymous 401 before the NEGOTIATE
            assert c.encrypted_requests == c.encrypted_replies == 5, node.name
            assert c.shells_open == 0, node.name
            assert c.auth_failures == 0, node.name


def _count_calls(fn) -> int:
    calls = 0

    def prof(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def test_audit_and_reports_work_is_linear_in_nodes(tmp_path, profile):
    """Function calls of model + checks + all four reports at 20 and 80 nodes.

    Linear work gives a ratio of about 4 (fixed costs pull it lower); one O(n^2) loop over
    node pairs gives about 16. The bound leaves room for small per-size differences only.
    """
    counts = {}
    for n in (20, 80):
        states = _states(tmp_path, n)
        out = tmp_path / f"out{n}"

        def audit(states=states, out=out):
            report = run_audit(states, profile)
            write_reports(report, out, ["html", "json", "junit", "csv"])

        audit()  # warm imports, template compilation and caches
        counts[n] = _count_calls(audit)
    ratio = counts[80] / counts[20]
    assert ratio < 4.5, f"work grew {ratio:.2f}x for 4x the nodes: {counts}"


def test_nodes_are_never_compared_by_value(tmp_path, profile, monkeypatch):
    """``node in some_list`` compares NodeView dataclasses field by field; with 5,000 nodes
    that was 12.5 million deep comparisons in one check. Identity is what the model means."""

    def refuse(self, other):
        raise AssertionError("NodeView compared by value")

    monkeypatch.setattr(NodeView, "__eq__", refuse)
    states = _states(tmp_path, 12)
    drift = load_cluster_folder(Path(__file__).resolve().parents[2] / "auditor/lab/scenarios/drift")[1]
    for nodes in (states, drift):
        report = run_audit(nodes, profile)
        assert not [f for f in report.findings if "compared by value" in f.message]


def test_cluster_index_follows_the_node_list(tmp_path, profile):
    states = _states(tmp_path, 6)
    cluster = Cluster.build(states, profile)
    assert [n.name for n in cluster.management_nodes] == ["MGMT1", "MGMT2"]
    assert [n.name for n in cluster.site_nodes] == ["SITE1", "SITE2", "SITE3", "SITE4"]
    assert cluster.node("site3") is cluster.nodes[4]
    cluster.nodes = cluster.nodes[1:]  # replaced list: the index is rebuilt
    assert [n.name for n in cluster.management_nodes] == ["MGMT2"]
    cluster.nodes.pop()  # shrunk in place
    assert cluster.node("SITE4") is None


def _old_finding_to_dict(f: Finding, report=None) -> dict:
    d = f.to_dict()
    d["expected"] = jsonable(d["expected"])
    d["actual"] = jsonable(d["actual"])
    d["details"] = jsonable(d["details"])
    d["fix_command"] = fix_command(f, report) if f.fixable else None
    return d


@pytest.mark.parametrize("evidence", [
    None, "text", 3, 2.5, math.nan, float("inf"), True, [], {}, ("a", 1), {"k": [1, {"x": None}]},
    {1: "int key"}, {"s": {1, 2}}, b"bytes\xff", {"nested": [b"x", (1, 2), {"deep": math.nan}]},
    [Status.FAIL, Severity.HIGH], {"obj": Path("/x")},
])
def test_finding_to_dict_same_as_dataclass_path(evidence):
    f = Finding(check_id="X-1", status=Status.FAIL, severity=Severity.HIGH, node="N1", subject="N1",
                message="m", expected=evidence, actual=[evidence], fixable=True, file="C:\\a", line=3,
                details={"e": evidence}, waiver={"reason": "r", "owner": "o", "until": evidence})
    new, old = finding_to_dict(f), _old_finding_to_dict(f)
    assert list(new) == list(old)
    dump = json.JSONEncoder(sort_keys=True, allow_nan=False, default=str).encode
    old["waiver"] = jsonable(old["waiver"])
    assert dump(new) == dump(old)
    assert new["actual"] is not f.actual  # a copy: callers may edit the dict


def test_render_json_round_trips_with_one_finding_per_line(tmp_path, profile):
    report = run_audit(_states(tmp_path, 5), profile)
    text = render_json(report)
    data = json.loads(text)
    assert data == json.loads(json.dumps(report.to_dict()))
    lines = text.splitlines()
    start = lines.index('  "findings": [')
    assert all(line.startswith("    {") for line in lines[start + 1:start + 1 + len(data["findings"])])
    assert text.isascii()


def test_bulk_gc_switches_the_collector_off_inside():
    with bulk_gc():
        assert not gc.isenabled()


def test_bulk_gc_switches_the_collector_back_on():
    assert gc.isenabled()
    with bulk_gc():
        pass
    assert gc.isenabled()


def test_nested_bulk_gc_leaves_the_collector_off_for_the_outer_stage():
    with bulk_gc():
        with bulk_gc():
            pass
        assert not gc.isenabled()


def test_executor_packed_once():
    from auditor.remote import bootstrap

    assert bootstrap.packed_executor() is bootstrap.packed_executor()
    assert bootstrap.unpack(bootstrap.packed_executor()) == bootstrap.executor_script()


def test_status_matrix_and_summary_on_the_drift_scenario(profile):
    from auditor.reports.matrix import status_matrix, summary_counts

    drift = load_cluster_folder(Path(__file__).resolve().parents[2] / "auditor/lab/scenarios/drift")[1]
    report = run_audit(drift, profile)
    m = status_matrix(report)
    assert list(m.index) == ["MGMT1", "MGMT2", "SITE1", "SITE2"] or m.index[0] == "(cluster)"
    assert m.loc["SITE2", "SPOC-MGMT-LIST"] == "fail"
    assert m.loc["MGMT1", "SPOC-MGMT-LIST"] == "pass"
    s = summary_counts(report)
    assert s["findings_total"] == len(report.findings)
    assert s["by_status"]["fail"] == sum(f.status == Status.FAIL for f in report.findings)
    assert s["failing_total"] == len(report.failing_findings)
    assert sum(sum(r.values()) for r in s["by_severity_status"].values()) == len(report.findings)
    assert asdict(report.nodes[0])["name"] == "MGMT1"


@pytest.mark.parametrize("source", ["drift", "disagree", "fixture"])
def test_junit_text_is_elementtrees_indented_form(profile, source):
    """render_junit writes the XML text directly; it must be exactly what ElementTree gives for
    the same document indented with ET.indent (escaping, empty elements, attribute order)."""
    import copy
    import xml.etree.ElementTree as ET

    from auditor.reports.junit import render_junit
    from tests.reports.report_fixtures import make_report

    if source == "fixture":  # hostile text, an unaudited node, waived, skipped and error findings
        report = make_report(hostile=True, unreachable=True)
    else:
        report = run_audit(load_cluster_folder(Path(__file__).resolve().parents[2] / "auditor/lab/scenarios" / source)[1],
                           profile)
    text = render_junit(report)
    declaration, body = text.split("\n", 1)
    assert declaration == '<?xml version="1.0" encoding="UTF-8"?>'
    reference = ET.fromstring(body)
    assert {el.tag for el in reference.iter()} >= {"testsuites", "testsuite", "testcase"}
    indented = copy.deepcopy(reference)
    ET.indent(indented)
    assert body == ET.tostring(indented, encoding="unicode") + "\n"


def test_drift_does_not_copy_unchanged_findings(tmp_path, profile, monkeypatch):
    """diff_findings converted every finding pair with to_dict() (a deep copy) just to see that
    nothing changed; only changed pairs may be converted now."""
    import copy

    from auditor.history.drift import diff_findings

    findings = run_audit(_states(tmp_path, 8), profile).findings
    after = copy.deepcopy(findings)
    after[0].actual = ["something else"]
    after[0].status = Status.FAIL
    calls = 0
    real = Finding.to_dict

    def counting(self):
        nonlocal calls
        calls += 1
        return real(self)

    monkeypatch.setattr(Finding, "to_dict", counting)
    new, resolved, changed = diff_findings(findings, after)
    assert calls <= 2
    assert len(new) + len(changed) == 1
    assert not resolved


def test_history_json_fast_path_returns_fresh_objects():
    from auditor.history.rows import from_json as _loads

    a, b = _loads("[]"), _loads("[]")
    assert a == []
    assert a is not b
    assert _loads("{}") == {}
    assert _loads("null") is None
    assert _loads(None) is None
    assert _loads('{"k": [1]}') == {"k": [1]}


def _collect_slow_sites(tmp_path, monkeypatch, profile, sites: int, exec_seconds: float,
                        concurrency: int | None):
    """Collect a lab of 2 Management + ``sites`` Site servers whose command takes ``exec_seconds``.
    Returns (result, commands run per node)."""
    from auditor.collect.inventory import load_inventory
    from auditor.collect.runner import collect_cluster
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    password = "perf-Test-pw-2"
    monkeypatch.setenv(PASSWORD_ENV, password)
    build_healthy(tmp_path / "scenario", sites=sites)
    faults = {f"SITE{i}": {"exec_seconds": exec_seconds} for i in range(1, sites + 1)}
    with LabCluster(tmp_path / "scenario", handler_factory=make_handler, scheme="http", auth="ntlm",
                    password=password, workdir=tmp_path / "lab", faults=faults) as lab:
        inv = load_inventory(lab.write_inventory(tmp_path / "inventory.yaml", password_env=PASSWORD_ENV,
                                                 concurrency=concurrency))
        assert inv.concurrency == concurrency
        result = collect_cluster(inv, profile)
        return result, [node.server.counters().commands_run for node in lab.nodes]


def test_adaptive_collection_one_command_per_node_and_bounded_threads(tmp_path, monkeypatch, profile):
    """No concurrency in the inventory: the adaptive limit raises the nodes in flight (remote
    execution takes a while, the client is idle) but never past the ceiling, every node still
    gets exactly one command, and every worker thread is gone after the run."""
    import threading

    result, commands = _collect_slow_sites(tmp_path, monkeypatch, profile, 78, 1.0, None)
    assert [n.status for n in result.nodes] == ["ok"] * 80
    assert commands == [1] * 80
    assert result.concurrency is not None
    assert result.concurrency.adaptive
    assert result.concurrency.peak > 16  # it did adapt: 80 nodes of ~1 s each, an idle client
    assert result.concurrency.peak_workers <= result.concurrency.ceiling.value
    assert not [t for t in threading.enumerate() if t.name.startswith("collect-")]


def test_explicit_concurrency_wins_over_adaptive(tmp_path, monkeypatch, profile):
    result, commands = _collect_slow_sites(tmp_path, monkeypatch, profile, 10, 0.5, 3)
    assert commands == [1] * 12
    assert result.concurrency is not None
    assert not result.concurrency.adaptive
    assert result.concurrency.peak_workers == 3


def test_slow_remote_command_waits_in_receive_then_answers(tmp_path, monkeypatch, profile):
    """The realistic latency model's exec_seconds: a command slower than the Receive's
    OperationTimeout answers w:TimedOut first (as WinRM does) and the client asks again."""
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler
    from auditor.lab.latency import LatencyModel, draw
    from auditor.remote import Target, build_collect_request, execute

    password = "perf-Test-pw-4"
    build_healthy(tmp_path / "scenario", sites=1)
    with LabCluster(tmp_path / "scenario", handler_factory=make_handler, scheme="http", auth="ntlm",
                    password=password, workdir=tmp_path / "lab", faults={"SITE1": {"exec_seconds": 1.6}}) as lab:
        node = lab.node("SITE1")
        target = Target(name="SITE1", host="127.0.0.1", port=node.port, scheme="http", transport="ntlm",
                        username=lab.username, password=password, read_timeout=5, operation_timeout=1)
        response = execute(target, build_collect_request(profile))
        counters = node.server.counters()
    assert response["results"]
    assert counters.actions["fault"] == 1  # the first Receive: w:TimedOut after its 1 s
    assert counters.actions["Receive"] == 1  # the second: the output
    assert counters.commands_run == 1
    timing = draw([f"N{i}" for i in range(1000)], LatencyModel.REALISTIC, deadline=60)
    assert sum(t.hung(60) for t in timing) == 3
    assert timing == draw([f"N{i}" for i in range(1000)], LatencyModel.REALISTIC, deadline=60)


def test_request_validated_and_packed_once_for_all_nodes(monkeypatch, profile):
    """A collection sends the same request to every node: it is validated and packed once,
    each node gets its own copy of the environment, and a bad request is still refused."""
    import auditor.remote.client as client_mod
    from auditor.remote import build_collect_request
    from auditor.remote.protocol import ProtocolError

    calls = []
    real = client_mod.bootstrap.shell_env
    monkeypatch.setattr(client_mod, "_PREPARED", {})
    monkeypatch.setattr(client_mod.bootstrap, "shell_env", lambda rj, s=None: calls.append(rj) or real(rj, s))
    request = build_collect_request(profile)
    first = client_mod._shell_env(request, {})
    second = client_mod._shell_env(request, {})
    assert len(calls) == 1
    assert first == second
    assert first is not second
    with pytest.raises(ProtocolError):
        client_mod._shell_env({**request, "kind": "nonsense"}, {})


# ---- fix planning ---------------------------------------------------------------------------

DRIFT = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "drift"
SPOC = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"


def _states_with_stale(stale: int):
    states = load_cluster_folder(DRIFT)[1]
    site1 = next(s for s in states if s.name == "SITE1")
    text = site1.file(SPOC).content.decode("utf-8")
    extra = "".join(f"serverGUID{i}=dead{i:06d}\r\nserverIP{i}=10.9.{i // 256}.{i % 256}\r\nserverPORT{i}=6010\r\n"
                    for i in range(4, 4 + stale))
    new = text.replace("serverPORT3=6010\r\n", "serverPORT3=6010\r\n" + extra).encode("utf-8")
    site1.files[path_key(SPOC)] = FileEntry(path=SPOC, content=new, mtime="2026-10-01T08:00:00Z")
    return states


@pytest.mark.parametrize("remove_stale", [True, False])
def test_fix_plan_work_is_linear_in_spoc_conf_entries(remove_stale):
    """The planner used to re-parse the whole spoc.conf for every key it removed or renamed
    (1,000 stale entries: 16 s; 10,000: never finished). Linear work grows about 4x for 4x
    the entries, the old planner about 16x. The time for 10,000 entries is measured by
    ``make bench`` (bench/bench_fix_plan.py)."""
    profile = load_profile(None)
    counts = {}
    for n in (100, 400):
        cluster = Cluster.build(_states_with_stale(n), profile)
        findings = run_checks(cluster, only={"SPOC-MGMT-LIST"})

        def plan(cluster=cluster, findings=findings):
            p = build_plan(cluster, findings, FixOptions(remove_stale=remove_stale))
            for node in p.nodes:
                for e in node.edits:
                    assert e.diff

        plan()  # warm caches
        counts[n] = _count_calls(plan)
    ratio = counts[400] / counts[100]
    assert ratio < 4.5, f"planning work grew {ratio:.2f}x for 4x the entries: {counts}"


def test_identical_files_of_a_cluster_are_parsed_once(tmp_path, profile):
    """The SPOC's IMS properties are byte-identical on every Site server of a generated
    cluster: the model shares one parsed document per path instead of parsing 5,000 copies
    (one generated site server has its SPOC on another drive, so another path)."""
    cluster = Cluster.build(_states(tmp_path, 6), profile)
    docs = {id(n.spoc.ims.doc) for n in cluster.site_nodes}
    paths = {n.spoc.ims.path for n in cluster.site_nodes}
    assert len(docs) == len(paths) < len(cluster.site_nodes)


def test_parse_cache_keeps_each_files_own_path_and_bytes():
    from auditor.configfiles import ParseCache
    from auditor.parsers import PropertiesDocument

    cache = ParseCache()
    a = cache.parse(PropertiesDocument, b"k=v\n", "C:\\a\\x.properties")
    b = cache.parse(PropertiesDocument, b"k=v\n", "C:\\b\\x.properties")
    c = cache.parse(PropertiesDocument, b"k=w\n", "C:\\a\\x.properties")
    assert (a.source, b.source, c.get("k")) == ("C:\\a\\x.properties", "C:\\b\\x.properties", "w")


def test_parse_cache_repeats_a_parse_error_for_the_same_bytes():
    from auditor.configfiles import ParseCache
    from auditor.parsers import ParseError, PropertiesDocument

    cache = ParseCache()
    bad = b"k=\\uZZZZ\n"
    errors = []
    for _ in range(2):
        with pytest.raises(ParseError) as info:
            cache.parse(PropertiesDocument, bad, "x.properties")
        errors.append((info.value.message, info.value.line))
    assert errors[0] == errors[1]


def test_spoc_conf_server_list_follows_edits():
    """servers() is computed once per parse; an edit re-parses, so the list is never stale."""
    from auditor.parsers import SpocConfDocument

    doc = SpocConfDocument(b"serverGUID=a\nserverIP=10.0.0.1\nserverPORT=6010\n")
    before = [s.index for s in doc.servers()]
    doc.append_server("b", "10.0.0.2", 6010)
    assert (before, [s.index for s in doc.servers()]) == ([1], [1, 2])


@pytest.mark.parametrize("value", [
    {"a": 1, "b": [1.5, None, True, "é\n\"x\"", {"c": []}]}, [Status.FAIL, Severity.HIGH], "text", 3, None,
    {"k": "\ud800"}, [1e300, -0.0],
])
@pytest.mark.parametrize("options", [{"ensure_ascii": True, "allow_nan": False, "separators": (", ", ": ")},
                                     {"ensure_ascii": False, "sort_keys": True}])
def test_reusable_encoder_gives_what_json_encoder_gives(value, options):
    """The JSON report's per-line encoder and the evidence encoder of the other formats."""
    from auditor.jsonencode import reusable_encoder

    encoder = json.JSONEncoder(**options)
    assert reusable_encoder(encoder)(value) == encoder.encode(value)


def test_json_line_encoder_refuses_nan_like_json_encoder():
    from auditor.reports.json_report import _line_encoder

    with pytest.raises(ValueError):
        _line_encoder({"ensure_ascii": True, "allow_nan": False})({"x": math.nan})


def test_reusable_encoder_after_a_failure_fails_and_works_like_a_fresh_one():
    """A failed call must not leave its containers behind as circular-reference markers: the
    same value fails again with its own error, and a valid one still encodes."""
    from auditor.jsonencode import reusable_encoder

    encoder = json.JSONEncoder(allow_nan=False)
    encode = reusable_encoder(encoder)
    bad = {"x": [math.nan]}
    for _ in range(2):
        with pytest.raises(ValueError, match="Out of range float"):
            encode(bad)
    assert encode({"x": [1]}) == encoder.encode({"x": [1]})


def _old_csv_rows(report) -> list[list]:
    """render_csv's rows as written before its fast path (one _cell call per text cell)."""
    from auditor.reports.csv_report import _cell
    from auditor.reports.model import finding_sort_key

    titles = {c.id: _cell(c.title) for c in reversed(report.checks)}
    rows = []
    for f in sorted(report.findings, key=finding_sort_key):
        waiver = f.waiver or {}
        title = titles.get(f.check_id)
        rows.append([
            f.check_id, title if title is not None else _cell(report.title_of(f.check_id)), f.severity.value,
            f.status.value, _cell(f.node or ""), _cell(f.subject), _cell(f.message), _cell(f.expected),
            _cell(f.actual), "yes" if f.fixable else "no", _cell(fix_command(f, report)) if f.fixable else "",
            _cell(f.file or ""), "" if f.line is None else f.line, _cell(waiver.get("reason", "")),
            _cell(waiver.get("owner", "")), _cell(waiver.get("expires", waiver.get("expiry", ""))),
        ])
    return rows


def test_csv_fast_rows_same_as_one_cell_call_each(profile):
    import csv
    import io

    from auditor.reports.csv_report import COLUMNS, render_csv

    drift = load_cluster_folder(Path(__file__).resolve().parents[2] / "auditor/lab/scenarios/drift")[1]
    report = run_audit(drift, profile)
    hostile = ["=1+1", "+x", "-y", "@z", "\tt", "\rr", "", "plain"]
    for i, f in enumerate(report.findings[:len(hostile) * 2]):
        text = hostile[i % len(hostile)]
        f.node, f.subject, f.message, f.file = text or None, text, text, text or None
        f.waiver = {"reason": text, "owner": "=o", "expiry": "-1"} if i % 2 else None
    report.findings.append(Finding("UNKNOWN-CHECK", Status.FAIL, Severity.LOW, None, "=s", "-m", expected=["=x"]))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([COLUMNS, *_old_csv_rows(report)])
    assert render_csv(report) == buf.getvalue()


def test_sorted_findings_follow_the_findings_list(profile):
    from auditor.reports.model import finding_sort_key

    drift = load_cluster_folder(Path(__file__).resolve().parents[2] / "auditor/lab/scenarios/drift")[1]
    report = run_audit(drift, profile)
    assert report.sorted_findings  # sorted once and remembered
    report.findings = report.findings[::2] + [Finding("A-NEW", Status.ERROR, Severity.CRITICAL, None, "x", "m")]
    assert report.sorted_findings == sorted(report.findings, key=finding_sort_key)


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb\rc\n\n", "\r\r\n\n\r", "no end\r\nlast", "x\x0cy\nz",
                                  "a\u2028b\r\n", "a\x85b\r", "v\x0bw\x1cx\x1dy\x1ez\u2029"])
def test_split_lines_same_on_its_fast_path(text):
    """split_lines hands texts without the extra separators to str.splitlines (C); both paths
    give the lines the CR/LF scan gives."""
    import re

    from auditor.parsers.text import split_lines

    scanned, pos = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        scanned.append(text[pos:m.end()])
        pos = m.end()
    assert split_lines(text) == scanned + ([text[pos:]] if pos < len(text) else [])


def test_glob_files_plain_path_and_pattern_agree():
    from auditor.configfiles import glob_files
    from auditor.nodestate import NodeState

    node = NodeState(name="N", address="10.0.0.1")
    for path in ("C:\\P\\conf\\a.properties", "C:\\P\\conf\\b.properties", "C:\\P\\other.txt"):
        node.files[path_key(path)] = FileEntry(path=path, exists=True, content=b"")
    plain = [f.path for f in glob_files(node, "c:/p", "CONF\\a.properties")]
    assert plain == [f.path for f in glob_files(node, "C:\\P", "conf\\[a]*.properties")]


def test_hosts_named_follow_replaced_identities(tmp_path, profile):
    """Identities.by_host is remembered per host, but not across identities replaced while
    they are built (a stale answer would name the old object)."""
    from dataclasses import replace

    cluster = Cluster.build(_states(tmp_path, 4), profile)
    ids = cluster.identities()
    address = next(a for a in ids.servers[0].addresses)
    assert ids.by_host(address) == [ids.servers[0]]
    ids.servers[0] = replace(ids.servers[0])
    assert ids.by_host(address)[0] is ids.servers[0]
