"""`auditor fix --apply` killed outright (SIGKILL: no handler, no rollback) at each step of a
node's change: files on the node end byte-identical to before or after, never half-written;
the journal names every change that may have happened (write-ahead ``intent``); a backup
exists whenever the file changed; and the next `auditor fix --apply` takes over the dead run's
lock and completes the repair.

MGMT2 of the drift scenario gets the richest change: repository.path written, the
Infrastructure Service account changed, the service restarted, the node re-collected.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.fixers.journal import read_journal
from tests.fixers.fix_lab_support import SERVICE_PASSWORD_ENV, journal_shows

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")]

MGMT2_IMS = Path("mgmt2/files/c/DispatcherParagon/Management/ims/application.properties")
APPLY = ["--apply", "--yes", "--remove-stale", "--service-password-env", SERVICE_PASSWORD_ENV, "--no-progress"]


def _fix_process(inv: Path, journal: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from auditor.cli import main; main()", "fix",
                             "--inventory", str(inv), "--journal", str(journal), *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ))


@pytest.mark.parametrize("kill_after", [
    "intent",                 # the write request may be in flight on the node
    "write_file",             # file written, account not yet changed
    "set_service_account",    # account changed, service not yet restarted
    "restart_service",        # restarted, verification (re-collection) running
])
def test_killed_at_each_step_leaves_before_or_after_and_the_next_run_completes(fix_lab, tmp_path, kill_after):
    # every HTTP request to MGMT2 takes 0.1 s, so each step is a window the kill can land in
    lab, inv = fix_lab("drift", faults={"MGMT2": {"delay_seconds": 0.1}})
    ims = lab.serve_dir / MGMT2_IMS
    before = ims.read_bytes()
    journal = tmp_path / "journal.jsonl"

    proc = _fix_process(inv, journal, *APPLY)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and not journal_shows(journal, "MGMT2", kill_after) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, f"fix ended before {kill_after}: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
    time.sleep(0.5)  # the node finishes whatever request was in flight (the lab keeps serving it)
    lab.server("MGMT2").settings.faults.delay_seconds = 0.0  # the recovery runs need no slow node

    entries = read_journal(journal)
    intents = [e for e in entries if e["node"] == "MGMT2" and e["action"] == "intent"
               and e.get("change") == "write_file"]
    assert len(intents) == 1
    assert intents[0]["file"].lower().endswith("management\\ims\\application.properties")
    now = ims.read_bytes()
    digest = hashlib.sha256(now).hexdigest()
    assert digest in (intents[0]["sha256_before"], intents[0]["sha256_after"])  # never half-written
    assert intents[0]["sha256_before"] == hashlib.sha256(before).hexdigest()
    backups = sorted(ims.parent.glob(ims.name + ".*.paragon-auditor.bak"))
    if now != before:
        assert [b.read_bytes() for b in backups] == [before]  # the way back is on the node
    if kill_after != "intent":
        assert now != before
        assert digest == intents[0]["sha256_after"]
    assert not any(e["node"] in ("SITE1", "SITE2") for e in entries)  # serial: nothing beyond MGMT2
    assert not any(e["action"] == "end" for e in entries)  # the run really died

    # the next run takes over the dead run's lock and finishes the job
    rerun = _fix_process(inv, tmp_path / "journal2.jsonl", *APPLY)
    _, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err.decode()[-3000:]
    check = _fix_process(inv, tmp_path / "journal3.jsonl", "--no-progress")  # dry run: nothing left
    _, err = check.communicate(timeout=120)
    assert check.returncode == 0, err.decode()[-3000:]
