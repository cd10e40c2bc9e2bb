"""Fault matrix: one real ``auditor audit --inventory`` run (subprocess) per lab fault.

Every run must (1) finish within a bound derived from the inventory's deadline, process exit
included, (2) account for every inventory node in report.json with the right status and a
reason of the right kind, (3) return the documented exit code (``auditor audit --help``:
3 when a node could not be audited, 0 when a transient fault was recovered on the healthy
scenario), and (4) never let a node that was not audited look audited: it gets a failing
NODE-REACHABLE finding and no ``pass`` finding.

The faulty node is SITE1 of the shipped ``healthy`` scenario (which audits clean), the others
are healthy, so any exit code other than the expected one is caused by the fault.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.hardening import hx_support
from tests.hardening.hx_support import cli_env, rewrite_inventory, run_cli

pytestmark = pytest.mark.timeout(150)
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

PASSWORD = "Fm-7731-matrix-Pw!"  # test-only, for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_MATRIX_TEST_PW"
USERNAME = "hx-matrix"
NODES = ("MGMT1", "MGMT2", "SITE1", "SITE2")

# Small limits so the matrix is fast; every case may override them.
BASE = {"connect_timeout": 2, "read_timeout": 3, "deadline": 6, "retries": 1}
SLACK = 15.0  # interpreter start, imports, checks, reports on a loaded 2-core machine


@dataclass(frozen=True)
class Case:
    id: str
    faults: dict[str, dict[str, Any]]
    expect: dict[str, tuple[str, str]]  # node -> (status, reason regex); others must be ok
    exit_code: int
    scheme: str = "http"
    settings: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("refused", {"SITE1": {"refuse": True}},
         {"SITE1": ("refused", r"connection refused at 127\.0\.0\.1:\d+")}, 3),
    Case("wrong-password", {"SITE1": {"wrong_password": True}},
         {"SITE1": ("auth", r"authentication failed for hx-matrix \(NTLM\)")}, 3),
    Case("untrusted-cert", {"SITE1": {"untrusted_cert": True}},
         {"SITE1": ("tls", r"certificate verify failed")}, 3, scheme="https"),
    Case("timeout-faults-recovered", {"SITE1": {"timeout_faults": 3}}, {}, 0),
    Case("timeout-faults-past-deadline", {"SITE1": {"timeout_faults": 10**9}},
         {"SITE1": ("timeout", r"3s deadline|did not finish within|read timeout")}, 3,
         settings={"deadline": 3}),
    Case("delay-past-deadline", {"SITE1": {"delay_seconds": 8}},
         {"SITE1": ("timeout", r"read timeout|deadline|timed out")}, 3, settings={"deadline": 3}),
    Case("dropped-mid-receive-retried", {"SITE1": {"drop_mid_receive": True}}, {}, 0),
    Case("dropped-mid-receive-no-retry", {"SITE1": {"drop_mid_receive": True}},
         {"SITE1": ("protocol", r"closed unexpectedly")}, 3, settings={"retries": 0}),
    Case("garbage-output", {"SITE1": {"garbage_output": True}},
         {"SITE1": ("protocol", r"SITE1: no 'PARAGON-AUDITOR/1' line in the output")}, 3),
    Case("truncated-output", {"SITE1": {"truncated_output": True}},
         {"SITE1": ("protocol", r"SITE1: .*(base64|JSON).*truncated")}, 3),
    Case("output-too-large", {"SITE1": {"huge_output": 3_000_000}},  # over the 2 MB set below
         {"SITE1": ("error", r"SITE1: output exceeded 2097152 bytes \(2 MB\).*raise max_output_mb")}, 3,
         settings={"deadline": 40, "read_timeout": 10, "max_output_mb": 2}),
    Case("answers-as-other-host", {"SITE1": {"wrong_hostname": "OTHERBOX"}},
         {"SITE1": ("protocol", r"^identity mismatch: 127\.0\.0\.1 answered as host otherbox")}, 3),
    Case("op-failed-on-node", {"SITE1": {"op_errors": {"registry": "Access is denied."}}},
         {"SITE1": ("error", r"collection incomplete: registry: Access is denied")}, 3),
    Case("small-chunks-reassembled", {"SITE1": {"chunk_bytes": 2048}}, {}, 0),
    Case("every-node-fails-differently",
         {"MGMT1": {"refuse": True}, "MGMT2": {"wrong_password": True}, "SITE1": {"garbage_output": True},
          "SITE2": {"timeout_faults": 10**9}},
         {"MGMT1": ("refused", r"connection refused"), "MGMT2": ("auth", r"authentication failed"),
          "SITE1": ("protocol", r"PARAGON-AUDITOR/1"), "SITE2": ("timeout", r"deadline|did not finish")}, 3,
         settings={"deadline": 3}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_matrix(case: Case, hard_lab, tmp_path):
    lab, inv = hard_lab("healthy", password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV,
                      faults=case.faults, scheme=case.scheme)
    settings = {**BASE, **case.settings}
    rewrite_inventory(inv, settings)
    out = tmp_path / "out"
    env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
    run = run_cli(["audit", "--inventory", str(inv), "--out", str(out), "--format", "json,junit,csv,html",
                   "--no-progress"], env)

    # (1) bounded time, including interpreter exit (no worker left blocked in a socket)
    assert run.seconds < settings["deadline"] + SLACK, f"took {run.seconds:.1f}s"
    assert "Traceback" not in run.stderr, run.stderr
    # (3) documented exit code
    assert run.returncode == case.exit_code, (run.stdout, run.stderr)

    # (2) every inventory node accounted for, with the right status and reason kind
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    nodes = {n["name"]: n for n in report["nodes"]}
    assert sorted(nodes) == sorted(NODES)
    for name in NODES:
        status, pattern = case.expect.get(name, ("ok", ""))
        node = nodes[name]
        assert node["status"] == status, (name, node)
        if status == "ok":
            assert not node["reason"], node
        else:  # the reason text, with or without a "kind: " prefix
            assert re.search(pattern, node["reason"]), (name, node["reason"])
            assert PASSWORD not in node["reason"]
    failed = [n for n in NODES if nodes[n]["status"] != "ok"]
    assert report["summary"]["nodes_unreachable"] == len(failed)
    assert report["summary"]["nodes_audited"] == len(NODES) - len(failed)

    # (4) a node that was not audited is never a silent pass
    for name in failed:
        mine = [f for f in report["findings"] if f["node"] == name]
        assert not [f for f in mine if f["status"] == "pass"], (name, mine)
        assert any(f["check_id"] == "NODE-REACHABLE" and f["status"] == "fail" for f in mine), name
        assert name in run.stdout  # the console names it ("NOT AUDITED")
    if failed:
        assert "NOT AUDITED" in run.stdout
    # the JUnit file carries one collection test case per node, an <error> for each failed one
    root = ET.parse(out / "junit.xml").getroot()
    collection = {tc.get("name"): [c.tag for c in tc] for tc in root.iter("testcase")
                  if tc.get("classname") == "auditor.collection"}
    assert sorted(collection) == sorted(NODES)
    assert {n for n, children in collection.items() if "error" in children} == set(failed)
    # the CSV lists the failing NODE-REACHABLE finding of each failed node
    rows = list(csv.DictReader(io.StringIO((out / "findings.csv").read_text(encoding="utf-8"))))
    assert {r["node"] for r in rows if r["check_id"] == "NODE-REACHABLE" and r["status"] == "fail"} == set(failed)
    assert PASSWORD not in run.stdout + run.stderr


def test_queued_nodes_are_not_starved_by_stuck_ones(hard_lab, tmp_path):
    """Concurrency 2, eight nodes, the first three stuck past their deadline: the deadline
    runs from when a node's work starts (not while it waits in the queue), so every healthy
    node is still collected, the stuck ones are timeouts, and the run ends in bounded time."""
    from auditor.lab.scenario_builder import build_healthy

    scenario = tmp_path / "big"
    build_healthy(scenario, sites=6, managements=2)
    stuck = {"MGMT1", "SITE1", "SITE2"}
    _, inv = hard_lab(scenario, password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV,
                      faults={n: {"timeout_faults": 10**9} for n in stuck})
    deadline = 3
    rewrite_inventory(inv, {**BASE, "deadline": deadline, "concurrency": 2})
    out = tmp_path / "out"
    run = run_cli(["audit", "--inventory", str(inv), "--out", str(out), "--format", "json", "--no-progress"],
                  cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD}))
    assert run.returncode == 3, run.stdout + run.stderr
    # worst case: the three stuck nodes run one after another on one slot, the rest alongside
    assert run.seconds < len(stuck) * deadline + SLACK, f"took {run.seconds:.1f}s"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    status = {n["name"]: n["status"] for n in report["nodes"]}
    assert len(status) == 8
    assert {n for n, s in status.items() if s != "ok"} == stuck, status
    assert all(status[n] == "timeout" for n in stuck)


def test_ctrl_c_mid_collection_exits_promptly(hard_lab, tmp_path):
    """Ctrl-C while workers are blocked on slow and endlessly timing-out nodes (long
    deadline): exit 130 with one line naming the nodes still pending, at once, no traceback
    (no thread keeps the process), and no empty --out folder left behind."""
    import signal
    import subprocess
    import time

    from tests.hardening.hx_support import AUDITOR

    lab, inv = hard_lab("healthy", password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV,
                      faults={"SITE1": {"delay_seconds": 30}, "SITE2": {"timeout_faults": 10**9}})
    rewrite_inventory(inv, {"deadline": 60, "read_timeout": 40})
    proc = subprocess.Popen(AUDITOR + ["audit", "--inventory", str(inv), "--out", str(tmp_path / "out" / "tonight"),
                                       "--no-progress", "--no-history"],
                            env=cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD}), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # healthy nodes done (shell closed), SITE1/SITE2 workers blocked
        while not all(lab.server(n).counters().actions.get("Delete") for n in ("MGMT1", "MGMT2")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        # the lab counts Delete when it closes the shell; the client then still reads, checks and
        # decodes the answer: give it a moment (SITE1 and SITE2 stay blocked for 30 s and more)
        time.sleep(1.0)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 130, (out, err)
    assert err.startswith("interrupted: "), err
    assert "still pending: SITE1, SITE2" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
