"""Plan model, journal and lock: the pieces of `auditor fix` that need no cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from auditor.fixers.journal import Journal, read_journal
from auditor.fixers.lock import ClusterLock, LockHeld
from auditor.fixers.plan import (
    RESTART,
    SET_ACCOUNT,
    FileEdit,
    NodePlan,
    ServiceAction,
    mask_secret_lines,
    merge_node_plans,
    unified_diff,
)
from tests.fixers.lock_support import fake_msvcrt


def test_diff_of_utf16_crlf_file_names_encoding_and_shows_text():
    old = "\ufeffa=1\r\nb=2\r\n".encode("utf-16-le")
    new = "\ufeffa=1\r\nb=3\r\n".encode("utf-16-le")
    d = unified_diff(old, new, "N:C:\\x.conf")
    assert "UTF-16 LE with BOM" in d
    assert "CRLF" in d
    assert "-b=2" in d
    assert "+b=3" in d
    assert "\r" not in d


def test_diff_masks_secret_context_lines():
    old = b"dbPassword=hunter2\nrepository.path=C:\\\\x\n"
    new = b"dbPassword=hunter2\nrepository.path=\\\\\\\\fs\\\\s\n"
    d = unified_diff(old, new, "n")
    assert "hunter2" not in d
    assert "dbPassword=********" in d
    assert mask_secret_lines(["  apiToken : abc", "# password=x", "plain=1"]) == [
        "  apiToken : ********", "# password=x", "plain=1"]


def test_merge_orders_accounts_before_restarts_and_restarts_once():
    e = FileEdit("MGMT2", "C:\\a.properties", b"a=1\n", b"a=2\n", "IMS-REPO-SHARED", "r", restart="YSoftIms")
    p1 = NodePlan("MGMT2", edits=[e], addresses=[("IMS-REPO-SHARED", "MGMT2")])
    p2 = NodePlan("MGMT2", actions=[
        ServiceAction(SET_ACCOUNT, "YSoftIms", "IMS-SERVICE-ACCOUNT", "r", account="CORP\\svc",
                      previous_account="LocalSystem", password_ref="environment variable X"),
        ServiceAction(RESTART, "YSoftIms", "IMS-SERVICE-ACCOUNT", "r")])
    p3 = NodePlan("SITE1", edits=[FileEdit("SITE1", "C:\\s.conf", b"x", b"y", "SPOC-MGMT-LIST", "r",
                                           restart="YSoftSQ-SPOC")])
    merged = merge_node_plans([p3, p1, p2], order=["MGMT1", "MGMT2", "SITE1"])
    assert [m.node for m in merged] == ["MGMT2", "SITE1"]
    kinds = [(a.kind, a.service) for a in merged[0].actions]
    assert kinds == [(SET_ACCOUNT, "YSoftIms"), (RESTART, "YSoftIms")]
    assert merged[0].check_ids == ["IMS-REPO-SHARED", "IMS-SERVICE-ACCOUNT"]
    assert [(a.kind, a.service) for a in merged[1].actions] == [(RESTART, "YSoftSQ-SPOC")]


def test_merge_refuses_two_edits_of_one_file():
    a = FileEdit("N", "C:\\a", b"1", b"2", "X", "r")
    b = FileEdit("N", "c:\\A", b"1", b"3", "Y", "r")
    with pytest.raises(ValueError):
        merge_node_plans([NodePlan("N", edits=[a]), NodePlan("N", edits=[b])])


def test_journal_appends_json_lines_and_scrubs_known_secrets(tmp_path):
    path = tmp_path / "j" / "fix-journal.jsonl"
    j = Journal(path, cluster="lab", run_id="r1", secrets=["S3cret!"])
    j.check_writable()
    j.record(node="MGMT2", action="set_service_account", result="ok", account="CORP\\svc",
             error="failed with password S3cret!")
    j.record(node="SITE1", action="write_file", result="ok", file="C:\\x", backup="C:\\x.bak", diff="+a")
    entries = read_journal(path)
    assert [e["action"] for e in entries] == ["set_service_account", "write_file"]
    assert all(e["user"] and e["time"].endswith("Z") and e["cluster"] == "lab" for e in entries)
    assert "S3cret!" not in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_lock_excludes_second_holder_and_reports_who(tmp_path):
    with ClusterLock("prod cluster", tmp_path):
        with pytest.raises(LockHeld) as err:
            ClusterLock("prod cluster", tmp_path).acquire()
        assert str(os.getpid()) in str(err.value)
        assert socket.gethostname() in str(err.value)
        # another cluster is independent
        with ClusterLock("other", tmp_path):
            pass
    # released: can take it again
    with ClusterLock("prod cluster", tmp_path):
        pass


def test_stale_lock_of_dead_process_is_taken_over(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(proc.stdout)
    lock = ClusterLock("c", tmp_path)
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text(json.dumps({"pid": dead_pid, "host": socket.gethostname(), "user": "x",
                                     "started_at": "2026-01-01T00:00:00Z", "token": "t"}))
    with lock:
        assert lock.took_over
        assert lock.took_over["pid"] == dead_pid
    assert not lock.path.exists()


def test_lock_from_other_host_is_honoured_until_old(tmp_path):
    lock = ClusterLock("c", tmp_path)
    lock.path.parent.mkdir(parents=True)
    from auditor.fixers.journal import utc_now
    lock.path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "user": "x", "started_at": utc_now()}))
    with pytest.raises(LockHeld):
        lock.acquire()
    lock.path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "user": "x",
                                     "started_at": "2020-01-01T00:00:00Z"}))
    with lock:
        pass


def test_release_never_removes_someone_elses_lock(tmp_path):
    lock = ClusterLock("c", tmp_path).acquire()
    lock.path.write_text(json.dumps({"pid": 1, "host": "x", "token": "not-ours"}))
    lock.release()
    assert lock.path.exists()


def test_unwritable_state_dir_is_a_clear_error(tmp_path):
    from auditor.errors import AuditorError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(AuditorError) as err:
        ClusterLock("c", blocker / "state").acquire()
    assert "cannot take the fix lock" in str(err.value)


def test_windows_liveness_probe_never_signals_the_holder(tmp_path, monkeypatch):
    """On Windows os.kill(pid, 0) is TerminateProcess: probing the lock holder that way would
    kill a fix run mid-change. There the lock asks the process table instead."""
    from auditor.fixers import lock as lock_module

    def no_kill(pid, sig):
        raise AssertionError(f"os.kill({pid}, {sig}) would terminate the holder on Windows")

    asked: list[int] = []
    monkeypatch.setitem(sys.modules, "msvcrt", fake_msvcrt())
    monkeypatch.setattr(lock_module, "_WINDOWS", True)
    monkeypatch.setattr(lock_module.os, "kill", no_kill)
    monkeypatch.setattr(lock_module, "_windows_process_running", lambda pid: asked.append(pid) or True)
    holder = ClusterLock("c", tmp_path)
    holder.path.parent.mkdir(parents=True)
    holder.path.write_text(json.dumps({"pid": 4242, "host": socket.gethostname(), "user": "x",
                                       "started_at": "2026-01-01T00:00:00Z", "token": "t"}))
    with pytest.raises(LockHeld):
        ClusterLock("c", tmp_path).acquire()
    assert asked == [4242]
    monkeypatch.setattr(lock_module, "_windows_process_running", lambda pid: False)  # holder gone
    with ClusterLock("c", tmp_path) as taken:
        assert taken.took_over
        assert taken.took_over["pid"] == 4242
