"""Fixing a file the node will not let us write: read-only, denied by its permissions, or
locked by a running program. The node refuses the write, the node is rolled back, the rollout
stops there (exit 4) with the reason, and the file is exactly as it was.

File permissions mean nothing to root, so the lab node runs as the unprivileged user
``nobody``: a child process is forked from this one (the interpreter and every module the
lab needs already loaded: ``nobody`` cannot read this interpreter's installation) and drops
its privileges before it serves. ``auditor fix`` itself runs as the test user.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.lab.winrm import ntlm_users
from tests.fixers.fix_lab_support import (
    LAB_PASSWORD,
    LAB_PASSWORD_ENV,
    SERVICE_PASSWORD,
    SERVICE_PASSWORD_ENV,
)

pytestmark = pytest.mark.timeout(240)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
SITE1_SPOC = Path("site1/files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf")
SITE1_SPOC_WIN = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
_SCRIPT = Path(sys.executable).parent / "auditor"
AUDITOR = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "auditor.cli"]


def _unprivileged() -> pwd.struct_passwd | None:
    """The account the lab node drops to, or None when this test user has no root to drop."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' account to drop privileges to")


def _preload() -> None:
    """Import everything the lab node needs while the interpreter's files are still readable."""
    import encodings.ascii  # noqa: F401
    import encodings.cp437  # noqa: F401
    import encodings.idna  # noqa: F401
    import encodings.latin_1  # noqa: F401
    import encodings.utf_8_sig  # noqa: F401
    import encodings.utf_16  # noqa: F401
    import encodings.utf_16_be  # noqa: F401
    import encodings.utf_16_le  # noqa: F401

    import auditor.lab.cluster  # noqa: F401
    import auditor.lab.executor  # noqa: F401
    import auditor.lab.winrm.ntlm_users  # noqa: F401


def _serve_as(user: pwd.struct_passwd | None, scenario: Path, workdir: Path, faults: dict | None, conn) -> None:
    """The lab node process: drop to ``user``, serve, report the inventory, stop when told."""
    try:
        if user is not None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        # the NTLM users file is per process and this one inherited the parent's, in a folder
        # only the parent's user can read: start a fresh one, inside the workdir
        tempfile.tempdir = str(workdir)
        ntlm_users._dir = None
        ntlm_users._users.clear()
        from auditor.lab.cluster import LabCluster
        from auditor.lab.executor import make_handler

        cluster = LabCluster(scenario, handler_factory=make_handler, scheme="http", auth="ntlm",
                             password=LAB_PASSWORD, workdir=workdir / "lab", faults=faults)
        cluster.start()
        try:
            inv = cluster.write_inventory(workdir / "inv" / "inventory.yaml", password_env=LAB_PASSWORD_ENV)
            conn.send(("ready", str(inv), str(cluster.serve_dir)))
            conn.recv()
        finally:
            cluster.stop()
        conn.send(("stopped", "", ""))
    except BaseException:  # noqa: BLE001 - reported to the test, which fails with it
        conn.send(("error", traceback.format_exc(), ""))


@pytest.fixture
def unprivileged_lab(tmp_path: Path) -> Iterator:
    """``start(faults=None) -> (inventory, serve_dir)``: the drift scenario served by a lab
    process running as ``nobody`` (as the test user when that is not root)."""
    user = _unprivileged()
    _preload()
    base = Path(tempfile.mkdtemp(prefix="paragon-unwritable-"))  # outside tmp_path: root-only
    shutil.copytree(SCENARIOS / "drift", base / "scenario")
    if user is not None:
        for folder, _dirs, files in os.walk(base):
            os.chown(folder, user.pw_uid, user.pw_gid)
            for name in files:
                os.chown(os.path.join(folder, name), user.pw_uid, user.pw_gid)
    ctx = multiprocessing.get_context("fork")
    started = []

    def start(faults: dict | None = None) -> tuple[Path, Path]:
        here, there = ctx.Pipe()
        proc = ctx.Process(target=_serve_as, args=(user, base / "scenario", base, faults, there), daemon=True)
        proc.start()
        started.append((proc, here))
        if not here.poll(60):
            raise AssertionError("the lab node did not start within 60 s")
        state, inv, serve_dir = here.recv()
        assert state == "ready", inv
        return Path(inv), Path(serve_dir)

    yield start
    for proc, here in started:
        if proc.is_alive():
            here.send("stop")
            if here.poll(30):
                here.recv()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    shutil.rmtree(base, ignore_errors=True)


def _make_read_only(serve_dir: Path) -> None:
    (serve_dir / SITE1_SPOC).chmod(0o444)  # the Windows read-only attribute: refused even to an admin


def _deny_by_owner(serve_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    target = serve_dir / SITE1_SPOC
    for path in (target, target.parent):  # neither the file nor its folder belongs to the node's account
        os.chown(path, 0, 0)
    target.chmod(0o644)
    target.parent.chmod(0o755)


CASES = {
    "read-only": (_make_read_only, None, "is denied"),
    "denied-by-owner": (_deny_by_owner, None, "Permission denied"),
    "locked": (lambda serve_dir: None, {"SITE1": {"locked_files": [SITE1_SPOC_WIN]}},
               "being used by another process"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unwritable_target_rolls_the_node_back_and_stops(unprivileged_lab, tmp_path, case):
    prepare, faults, reason = CASES[case]
    inv, serve_dir = unprivileged_lab(faults)
    prepare(serve_dir)
    before_site1 = (serve_dir / SITE1_SPOC).read_bytes()
    before_site2 = {str(p.relative_to(serve_dir)): p.read_bytes() for p in (serve_dir / "site2").rglob("*")
                    if p.is_file()}
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({LAB_PASSWORD_ENV: LAB_PASSWORD, SERVICE_PASSWORD_ENV: SERVICE_PASSWORD,
                "PARAGON_AUDITOR_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)})
    journal = tmp_path / "journal.jsonl"
    run = subprocess.run([*AUDITOR, "fix", "--inventory", str(inv), "--no-progress", "--apply", "--yes",
                          "--remove-stale", "--service-password-env", SERVICE_PASSWORD_ENV,
                          "--journal", str(journal)], env=env, capture_output=True, text=True, timeout=180)
    out = run.stdout + run.stderr
    assert "Traceback" not in out, out
    assert run.returncode == 4, out
    assert "Rollout STOPPED at SITE1" in out
    assert reason in out
    assert (serve_dir / SITE1_SPOC).read_bytes() == before_site1
    assert {str(p.relative_to(serve_dir)): p.read_bytes() for p in (serve_dir / "site2").rglob("*")
            if p.is_file()} == before_site2
    ends = [e for e in map(json.loads, journal.read_text().splitlines()) if e["action"] == "end"]
    assert [e.get("outcomes", {}).get("SITE1") for e in ends] == ["rolled_back"]
