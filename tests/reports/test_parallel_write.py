"""Report formats written by forked workers (auditor.forkjobs via write_reports): the same
files and the same errors as one by one, and no fork where it is unsafe or impossible.

The forking runs happen in a fresh interpreter (one thread, like the `auditor` command): the
test process itself runs helper threads (pytest-xdist), where write_reports never forks.
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
from auditor.audit import write_reports
from auditor.errors import AuditorError
from auditor.reports import RELATIVE_COST

ROOT = Path(__file__).resolve().parents[2]
ALL = ["html", "json", "junit", "csv"]

PROBE = r"""
import json, os, sys
from pathlib import Path
from auditor import forkjobs
from auditor.audit import write_reports
from auditor.errors import AuditorError
from tests.reports.report_fixtures import SINCE, TREND, make_product_model, make_report

from tests.fork_counter import count_forks
forks = count_forks()

base, case = Path(sys.argv[1]), sys.argv[2]
report = make_report(hostile=True, unreachable=True, since_last_run=SINCE, trend=TREND,
                     product_model=make_product_model(hostile=True))
result = {}
for label, workers in (("sequential", 1), ("parallel", 4)):
    out = base / label
    out.mkdir()
    if case == "unwritable":
        (out / "junit.xml").mkdir()  # a folder where the file goes: the rename fails
    before = len(forks)
    try:
        if case == "crash":
            def boom():
                raise ValueError("a renderer bug")
            forkjobs.run_jobs([lambda: None, boom], [1.0, 1.0], workers)
            error = None
        else:
            write_reports(report, out, ["html", "json", "junit", "csv"], workers=workers)
            error = None
    except AuditorError as exc:
        error = {"type": type(exc).__name__, "text": str(exc).replace(str(out), "OUT"), "exit_code": exc.exit_code}
    except ValueError as exc:
        error = {"type": type(exc).__name__, "text": str(exc), "exit_code": None}
    try:
        os.waitpid(-1, os.WNOHANG)
        zombies = True
    except ChildProcessError:
        zombies = False
    result[label] = {"error": error, "forks": len(forks) - before, "children_left": zombies,
                     "files": sorted(p.name for p in out.iterdir())}
print(json.dumps(result))
"""


def _probe(tmp_path: Path, case: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), case], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("parallel")
    return base, _probe(base, "ok")


def test_formats_are_written_by_forked_workers(written):
    _base, result = written
    assert result["parallel"]["forks"] == 3


@pytest.mark.parametrize("name", ["report.html", "report.json", "junit.xml", "findings.csv"])
def test_parallel_files_are_byte_identical_to_sequential(written, name):
    base, _result = written
    assert (base / "parallel" / name).read_bytes() == (base / "sequential" / name).read_bytes()


def test_parallel_leaves_no_temp_files_and_no_children(written):
    _base, result = written
    assert result["parallel"]["files"] == ["findings.csv", "junit.xml", "report.html", "report.json"]


def test_parallel_leaves_no_child_process(written):
    _base, result = written
    assert result["parallel"]["children_left"] is False


@pytest.fixture(scope="module")
def unwritable(tmp_path_factory) -> dict:
    return _probe(tmp_path_factory.mktemp("unwritable"), "unwritable")


def test_a_failed_write_in_a_child_raises_the_sequential_error(unwritable):
    assert unwritable["parallel"]["error"] == unwritable["sequential"]["error"]


def test_a_failed_write_names_the_file(unwritable):
    assert unwritable["sequential"]["error"]["text"] == "cannot write OUT/junit.xml: Is a directory"


def test_a_failed_write_in_a_child_leaves_no_child_process(unwritable):
    assert unwritable["parallel"]["children_left"] is False


def test_a_failed_write_in_a_child_leaves_no_temp_file(unwritable):
    files = unwritable["parallel"]["files"]
    assert [f for f in files if f.startswith(".")] == []


def test_a_crash_in_a_child_surfaces_as_the_real_exception(tmp_path):
    result = _probe(tmp_path, "crash")
    assert result["parallel"]["error"] == result["sequential"]["error"]


def _no_fork(*_args):
    raise AssertionError("forked although it is unsafe")


def test_a_process_with_threads_writes_one_by_one(full_report, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fork", _no_fork)
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        written = write_reports(full_report, tmp_path, ALL, workers=4)
    finally:
        stop.set()
        helper.join()
    assert [p.name for p in written] == ["report.html", "report.json", "junit.xml", "findings.csv"]


def test_without_os_fork_writes_one_by_one(full_report, tmp_path, monkeypatch):
    """Windows has no os.fork: the formats are written in this process."""
    monkeypatch.delattr(os, "fork")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(forkjobs, "_os_thread_count", lambda: 1)
    written = write_reports(full_report, tmp_path, ALL, workers=4)
    assert [p.name for p in written] == ["report.html", "report.json", "junit.xml", "findings.csv"]


def test_sequential_error_is_the_first_failing_format(full_report, tmp_path):
    (tmp_path / "report.json").mkdir()
    (tmp_path / "junit.xml").mkdir()
    with pytest.raises(AuditorError, match=r"report\.json"):
        write_reports(full_report, tmp_path, ALL, workers=1)


def test_balance_puts_similar_costs_together():
    costs = [RELATIVE_COST[f] for f in ALL]  # html, json, junit, csv
    assert forkjobs.balance(costs, 2) == [[2, 3], [0, 1]]


def test_balance_never_makes_empty_groups():
    assert forkjobs.balance([1.0, 1.0], 8) == [[0], [1]]


def _fork_refused():
    raise BlockingIOError(11, "Resource temporarily unavailable")


def test_a_refused_fork_writes_every_format_here(full_report, tmp_path, monkeypatch):
    """fork can fail (memory, `ulimit -u`): the formats are then written in this process."""
    one_by_one = write_reports(full_report, tmp_path / "one", ALL, workers=1)
    monkeypatch.setattr(forkjobs, "fork_is_safe", lambda: True)
    monkeypatch.setattr(os, "fork", _fork_refused)
    written = write_reports(full_report, tmp_path / "refused", ALL, workers=4)
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in one_by_one]
