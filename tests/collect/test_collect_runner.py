"""Runner policy (deadline, retries, accounting) with a transport that fails on purpose.

The lab covers the real transport end to end (test_collect_lab.py); here a stand-in for
``auditor.remote.execute`` makes the timing-sensitive cases deterministic: a worker stuck far
beyond its deadline, and the retry rules per error kind.
"""

from __future__ import annotations

import threading
import time

import pytest

from auditor.collect.concurrency import FILE_RESERVE, SOCKETS_PER_NODE, Ceiling, Limiter
from auditor.collect.credentials import Credentials, Secret
from auditor.collect.inventory import parse_inventory
from auditor.collect.results import CollectionEvents, Concurrency
from auditor.collect.runner import collect_cluster, hostname_mismatch
from auditor.nodestate import NodeState
from auditor.profile import load_profile
from auditor.remote import RemoteError
from auditor.vocab import NodeStatus

pytestmark = pytest.mark.timeout(60)
PW = "Runner-Pw-0xBEEF"


def inventory(names: list[str], deadline: float = 2, retries: int = 1, concurrency: int = 4):
    nodes = "".join(f"  - {{name: {n}, address: 127.0.0.1, roles: [site]}}\n" for n in names)
    text = (f"version: 1\ncluster: t\ndefaults: {{username: u, credential: {{env: X}}, deadline: {deadline}, "
            f"retries: {retries}, concurrency: {concurrency}, scheme: http}}\nnodes:\n{nodes}")
    inv = parse_inventory(text, "t.yaml")
    creds = {n.name: Credentials("u", Secret(PW)) for n in inv.nodes}
    return inv, creds


def test_stuck_worker_recorded_as_timeout_at_deadline():
    release = threading.Event()

    def execute(target, request, secrets=None):
        release.wait(20)  # a transport that ignores its own timeouts
        raise RemoteError("timeout", "released")

    inv, creds = inventory(["A", "B", "C"], deadline=1)
    t0 = time.monotonic()
    try:
        result = collect_cluster(inv, load_profile(None), credentials=creds, execute=execute)
    finally:
        release.set()
    assert time.monotonic() - t0 < 2.5
    assert [n.status for n in result.nodes] == ["timeout"] * 3
    assert all("deadline" in n.reason for n in result.nodes)


@pytest.mark.parametrize("kind, attempts, status", [
    ("timeout", 3, "timeout"),
    ("protocol", 3, "protocol"),
    ("refused", 1, "refused"),
    ("auth", 1, "auth"),
    ("tls", 1, "tls"),
    ("too_large", 1, "error"),
    ("remote", 1, "error"),
])
def test_retry_only_transient_kinds(kind, attempts, status, monkeypatch):
    monkeypatch.setattr("auditor.collect.runner._MAX_BACKOFF", 0.01)
    calls: list[str] = []

    def execute(target, request, secrets=None):
        calls.append(target.name)
        assert secrets is None  # secrets= carries PA_S_* values for apply ops, never the login
        raise RemoteError(kind, f"boom {PW}")  # a careless message that leaks the password

    inv, creds = inventory(["A"], deadline=20, retries=2)
    result = collect_cluster(inv, load_profile(None), credentials=creds, execute=execute)
    node = result.nodes[0]
    assert (node.status, len(calls), result.stats[0].attempts) == (status, attempts, attempts)
    assert PW not in node.reason
    assert "********" in node.reason
    assert node.reason == ("boom ********" if status == kind else f"{kind}: boom ********")


def test_unexpected_exception_is_an_error_not_a_crash():
    def execute(target, request, secrets=None):
        raise ZeroDivisionError("bug")

    inv, creds = inventory(["A", "B"])
    result = collect_cluster(inv, load_profile(None), credentials=creds, execute=execute)
    assert [(n.status, n.reason) for n in result.nodes] == [("error", "unexpected ZeroDivisionError: bug")] * 2


def test_bounded_concurrency():
    lock = threading.Lock()
    running, peak = [0], [0]

    def execute(target, request, secrets=None):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        raise RemoteError("refused", "closed")

    inv, creds = inventory([f"N{i}" for i in range(12)], concurrency=3)
    result = collect_cluster(inv, load_profile(None), credentials=creds, execute=execute)
    assert len(result.nodes) == 12
    assert peak[0] == 3


@pytest.mark.parametrize("name, address, hostname, fqdn, mismatch", [
    ("MGMT1", "127.0.0.1", "MGMT1", "mgmt1.corp.example", False),
    ("mgmt1.corp.example", "10.0.0.1", "MGMT1", "mgmt1.corp.example", False),
    ("mgmt1", "mgmt1.corp.example", "MGMT1", "", False),
    ("VERYLONGSERVERNAME01", "10.0.0.1", "VERYLONGSERVERN", "", False),  # NetBIOS 15 chars
    ("MGMT1", "10.0.0.1", "MGMT2", "mgmt2.corp.example", True),
    ("Primary server", "10.0.0.1", "WHATEVER", "", False),  # a label: nothing to compare
    ("MGMT1", "10.0.0.1", "", "", False),  # nothing reported
])
def test_hostname_mismatch_rules(name, address, hostname, fqdn, mismatch):
    inv, _ = inventory(["X"])
    node = inv.nodes[0].__class__(**{**inv.nodes[0].__dict__, "name": name, "address": address})
    reason = hostname_mismatch(node, NodeState(name=name, hostname=hostname, fqdn=fqdn))
    assert (reason is not None) == mismatch, reason


def test_abandoned_worker_gives_its_slot_to_the_next_node():
    release = threading.Event()

    def execute(target, request, secrets=None):
        if target.name == "STUCK":
            release.wait(20)
            raise RemoteError("auth", "late answer must not replace the timeout")
        raise RemoteError("refused", "closed")

    inv, creds = inventory(["STUCK", "B", "C"], deadline=1, concurrency=1)
    t0 = time.monotonic()
    try:
        result = collect_cluster(inv, load_profile(None), credentials=creds, execute=execute)
    finally:
        release.set()
    assert time.monotonic() - t0 < 2.5
    assert [n.status for n in result.nodes] == ["timeout", "refused", "refused"]
    assert result.stats_for("STUCK").error_kind == "deadline"
    time.sleep(0.2)  # the released worker finishes late; the recorded outcome stays
    assert result.nodes[0].status is NodeStatus.TIMEOUT


def test_progress_and_warnings_go_to_the_events_the_caller_supplies():
    """The runner prints nothing itself: the command decides (terminal, log, nothing)."""
    import subprocess
    import sys
    from dataclasses import replace

    from auditor.collect.runner import CollectionEvents, SecurityOptions

    def execute(target, request, secrets=None):
        raise RemoteError("refused" if target.name == "B" else "auth", "no")

    inv, creds = inventory(["A", "B"])
    inv.nodes[0] = replace(inv.nodes[0], verify=False, scheme="https")
    seen: list[tuple] = []
    events = CollectionEvents(warning=lambda t: seen.append(("warning", t)),
                              progress=lambda d, t, f: seen.append(("progress", d, t, f)),
                              finished=lambda: seen.append(("finished",)))
    collect_cluster(inv, load_profile(None), credentials=creds, execute=execute, events=events,
                    security=SecurityOptions(insecure_skip_verify=True))
    assert seen[0][0] == "warning"
    assert "--insecure-skip-verify" in seen[0][1]
    assert seen[1:] == [("progress", 0, 2, 0), ("progress", 1, 2, 1), ("progress", 2, 2, 2), ("finished",)]
    imported = subprocess.run([sys.executable, "-c", "import sys, auditor.collect.runner; print('click' in sys.modules)"],
                              capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "False"


def _adaptive_inventory(names: list[str]):
    """An inventory without ``concurrency``: the collector adapts, below its safe ceiling."""
    nodes = "".join(f"  - {{name: {n}, address: 127.0.0.1, roles: [site]}}\n" for n in names)
    inv = parse_inventory("version: 1\ncluster: t\ndefaults: {username: u, credential: {env: X}, deadline: 5, "
                          f"scheme: http}}\nnodes:\n{nodes}", "t.yaml")
    return inv, {n.name: Credentials("u", Secret(PW)) for n in inv.nodes}


def _refused(target, request, secrets=None):
    raise RemoteError("refused", "connection refused")


def test_a_low_open_file_limit_that_held_the_run_back_is_a_warning(monkeypatch):
    """Descriptors for two nodes in flight: the admin is told what held the run back and how to
    raise it (never silently slow)."""
    monkeypatch.setattr("auditor.collect.concurrency.open_file_limit", lambda: FILE_RESERVE + 2 * SOCKETS_PER_NODE)
    warnings: list[str] = []
    inv, creds = _adaptive_inventory(["A", "B", "C", "D"])
    result = collect_cluster(inv, load_profile(None), credentials=creds, execute=_refused,
                             events=CollectionEvents(warning=warnings.append))
    assert result.concurrency is not None and result.concurrency.ceiling == Ceiling(2, Limiter.SOCKETS)
    assert result.concurrency.held_back
    assert warnings == ["warning: at most 2 node(s) were collected at once because of this host's open-file limit; "
                        "to collect faster, raise the open-file limit of the account that runs the audit (ulimit -n)"]
    assert "ulimit -n" in result.concurrency.describe()


def test_a_ceiling_set_by_the_inventory_size_is_no_warning():
    warnings: list[str] = []
    inv, creds = _adaptive_inventory(["A", "B", "C"])
    result = collect_cluster(inv, load_profile(None), credentials=creds, execute=_refused,
                             events=CollectionEvents(warning=warnings.append))
    assert result.concurrency is not None and result.concurrency.ceiling.limited_by is Limiter.NODES
    assert warnings == []
    assert result.concurrency.describe() == "up to 3 node(s) at once (adaptive, ceiling 3: nodes in the inventory)"


@pytest.mark.parametrize("concurrency, expected", [
    (Concurrency(False, 8, Ceiling(256, Limiter.DEFAULT_CAP), 8), "8 node(s) at once (concurrency as set)"),
    (Concurrency(True, 64, Ceiling(256, Limiter.DEFAULT_CAP), 64),
     "up to 64 node(s) at once (adaptive, ceiling 256: default cap)"),
    (Concurrency(True, 256, Ceiling(256, Limiter.DEFAULT_CAP), 256),
     "up to 256 node(s) at once (adaptive, ceiling 256: default cap; to allow more, set max_concurrency in the "
     "inventory (default 256))"),
    (Concurrency(True, 100, Ceiling(100, Limiter.ADMIN_CAP), 100),
     "up to 100 node(s) at once (adaptive, ceiling 100: max_concurrency; to allow more, raise max_concurrency in "
     "the inventory)"),
])
def test_the_summary_line_names_what_bounded_the_run(concurrency, expected):
    assert concurrency.describe() == expected
