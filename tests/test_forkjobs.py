"""auditor.forkjobs.Ahead: work computed in a forked child while the caller goes on (the product
model during the checks), with the same result and the same errors as computing it here.

The forking runs happen in a fresh interpreter (one thread, like the `auditor` command): the
test process itself runs helper threads (pytest-xdist), where nothing is forked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from auditor import forkjobs

ROOT = Path(__file__).resolve().parents[1]

AUDIT_PROBE = r"""
import json, os
from pathlib import Path
from auditor import forkjobs
from auditor.audit import run_audit
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile

from tests.fork_counter import count_forks
forks = count_forks()

_manifest, states = load_cluster_folder(Path("auditor/lab/scenarios/drift"))
profile = load_profile(None)
ahead = run_audit(states, profile).product_model.to_dict()
forked = len(forks)
forkjobs.fork_is_safe = lambda: False
here = run_audit(states, profile).product_model.to_dict()
print(json.dumps({"forks": forked, "same": ahead == here, "forks_after": len(forks) - forked}))
"""

PROBE = r"""
import json, os, sys
from auditor.errors import InputError
from auditor.forkjobs import Ahead

case = sys.argv[1]
def job():
    if case == "crash":
        raise ValueError("a bug in the work")
    if case == "auditor-error":
        raise InputError("no such file")
    return {"pid": os.getpid()}

out = {"parent": os.getpid()}
try:
    with Ahead(job) as ahead:
        if case != "abandoned":
            out["result"] = ahead.result()
except Exception as exc:
    out["error"] = [type(exc).__name__, str(exc), getattr(exc, "exit_code", None)]
try:
    os.waitpid(-1, os.WNOHANG)
    out["children_left"] = True
except ChildProcessError:
    out["children_left"] = False
print(json.dumps(out))
"""


def _probe(case: str, probe: str = PROBE) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe, case], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def ahead() -> dict:
    return _probe("ok")


def test_ahead_computes_in_a_child(ahead):
    assert ahead["result"]["pid"] != ahead["parent"]


def test_ahead_leaves_no_child(ahead):
    assert ahead["children_left"] is False


def test_a_crash_in_the_child_surfaces_as_the_real_exception():
    assert _probe("crash")["error"] == ["ValueError", "a bug in the work", None]


def test_an_auditor_error_in_the_child_keeps_its_class_text_and_exit_code():
    assert _probe("auditor-error")["error"] == ["InputError", "no such file", 2]


def test_a_result_never_asked_for_leaves_no_child():
    assert _probe("abandoned")["children_left"] is False


def test_with_threads_alive_the_work_is_done_here(monkeypatch):
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked although threads are alive"))
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        with forkjobs.Ahead(os.getpid) as ahead:
            pid = ahead.result()
    finally:
        stop.set()
        helper.join()
    assert pid == os.getpid()


@pytest.fixture(scope="module")
def audited() -> dict:
    return _probe("audit", AUDIT_PROBE)


def test_run_audit_computes_the_product_model_in_a_child(audited):
    assert audited["forks"] == 1


def test_run_audit_product_model_is_the_same_computed_ahead_or_here(audited):
    assert audited["same"] is True


def test_run_audit_does_not_fork_where_it_is_unsafe(audited):
    assert audited["forks_after"] == 0


def test_a_refused_fork_computes_here(monkeypatch):
    def refused():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forkjobs, "fork_is_safe", lambda: True)
    monkeypatch.setattr(forkjobs, "usable_cores", lambda: 2)
    monkeypatch.setattr(os, "fork", refused)
    with forkjobs.Ahead(os.getpid) as ahead:
        pid = ahead.result()
    assert pid == os.getpid()
