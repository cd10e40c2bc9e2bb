"""SIGTERM during `auditor fix --apply` (systemd stopping the job, `timeout`, a cancelled CI
run) rolls the current node back like Ctrl-C, instead of killing the process between a file
write and its verification."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.fixers.journal import read_journal
from tests.fixers.fix_lab_support import SERVICE_PASSWORD_ENV, journal_shows

pytestmark = pytest.mark.timeout(240)

MGMT2_IMS = Path("mgmt2/files/c/DispatcherParagon/Management/ims/application.properties")


def _sigterm_after_first_write(journal: Path, node: str, stop: threading.Event) -> None:
    """Send SIGTERM to this process once the journal shows a file written on ``node``."""
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        if journal_shows(journal, node, "write_file"):
            os.kill(os.getpid(), signal.SIGTERM)
            return
        time.sleep(0.02)


def test_sigterm_mid_node_rolls_back_and_stops(fix_lab, tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread")
    # every request to MGMT2 is slow, so the SIGTERM lands between its write and its verification
    lab, inv = fix_lab("drift", faults={"MGMT2": {"delay_seconds": 0.15}})
    before = (lab.serve_dir / MGMT2_IMS).read_bytes()
    journal = tmp_path / "j.jsonl"
    stop = threading.Event()
    watcher = threading.Thread(target=_sigterm_after_first_write, args=(journal, "MGMT2", stop), daemon=True)
    watcher.start()
    old = signal.getsignal(signal.SIGTERM)
    try:
        res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--no-progress", "--apply", "--yes",
                                        "--service-password-env", SERVICE_PASSWORD_ENV, "--journal", str(journal)])
    finally:
        stop.set()
        watcher.join(5)
        assert signal.getsignal(signal.SIGTERM) == old  # the handler is only installed while applying
    assert res.exit_code == 130, res.output
    assert "SIGTERM: rolling back the current node" in res.output
    assert (lab.serve_dir / MGMT2_IMS).read_bytes() == before  # restored byte for byte
    entries = read_journal(journal)
    actions = [e["action"] for e in entries]
    assert "restore_file" in actions
    assert actions[-1] == "rollback"
    assert not any(e.get("node") == "SITE2" for e in entries)  # the rollout stopped


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_hangup_mid_node_rolls_back_with_the_terminal_gone(fix_lab, tmp_path):
    """The admin's SSH session drops while MGMT2 is being changed: the terminal disappears
    (writes to it fail) and the process gets SIGHUP. The node must still be rolled back
    byte for byte and the rollout stop, exit 130, the journal holding the record."""
    import pty
    import subprocess
    import sys

    lab, inv = fix_lab("drift", faults={"MGMT2": {"delay_seconds": 0.15}})
    before = (lab.serve_dir / MGMT2_IMS).read_bytes()
    journal = tmp_path / "j.jsonl"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from auditor.cli import main; main()", "fix", "--inventory", str(inv),
         "--apply", "--yes", "--service-password-env", SERVICE_PASSWORD_ENV, "--journal", str(journal)],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=dict(os.environ), start_new_session=True)
    os.close(slave)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if journal_shows(journal, "MGMT2", "write_file"):
                break
            # keep the pty drained so the child never blocks on a full terminal buffer
            with contextlib.suppress(OSError):
                if _readable(master):
                    os.read(master, 65536)
            time.sleep(0.02)
        assert proc.poll() is None, "fix finished before MGMT2 was written"
        os.close(master)  # the terminal goes away: the child's writes now fail with EIO
        master = -1
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=120) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if master >= 0:
            os.close(master)
    assert (lab.serve_dir / MGMT2_IMS).read_bytes() == before  # restored byte for byte
    entries = read_journal(journal)
    actions = [e["action"] for e in entries]
    assert "restore_file" in actions
    assert actions[-1] == "rollback"
    assert not any(e.get("node") == "SITE2" for e in entries)  # the rollout stopped


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0)[0])
