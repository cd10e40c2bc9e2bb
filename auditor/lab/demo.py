"""The demo (what ``make demo`` runs): a shipped scenario served as real WinRM endpoints on
127.0.0.1, audited by the very same ``auditor audit --inventory ...`` an admin would run.

The lab's state is kept in ``<out>/lab`` (served node folders and the inventory), so the fix
commands the report prints, which name ``<out>/lab/inventory.yaml``, still work after the demo
ended: ``auditor lab serve <out>/lab`` serves that state again (:mod:`auditor.lab.sources`)
and rewrites that inventory with the new ports.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from auditor.lab import sources

PASSWORD_ENV = "PARAGON_LAB_PASSWORD"
LAB_FOLDER = "lab"


@dataclass(frozen=True)
class DemoRun:
    """What the demo left behind."""

    exit_code: int  # of the audit
    report: Path  # report.html
    lab_dir: Path  # the kept lab work folder
    inventory: Path
    password: str  # the lab's throwaway password (127.0.0.1 listeners only)
    scheme: str


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def run_demo(out_dir: Path, scenario: str, scheme: str, *, audit: Callable[[list[str]], int],
             announce: Callable[[str], None]) -> DemoRun:
    """Serve ``scenario`` from ``out_dir/lab``, run ``audit(argv)`` against it, stop the lab.

    ``audit`` runs the CLI's ``audit`` command with the given arguments (the caller passes the
    CLI itself, so the demo is exactly what an admin types); ``announce`` prints progress.
    """
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    out_dir.mkdir(parents=True, exist_ok=True)
    lab_dir = out_dir / LAB_FOLDER
    inventory = lab_dir / sources.INVENTORY
    password = secrets.token_urlsafe(18)
    announce(f"Starting the simulated '{scenario}' cluster on 127.0.0.1 ({scheme}, NTLM)...")
    lab = LabCluster(sources.shipped_scenario(scenario), handler_factory=make_handler, scheme=scheme, auth="ntlm",
                     password=password, workdir=lab_dir, remove_workdir=False)
    with lab:
        lab.write_inventory(inventory, password_env=PASSWORD_ENV)
        for node in lab.nodes:
            announce(f"  {node.entry.name:<8} {', '.join(node.entry.roles):<11} 127.0.0.1:{node.port}")
        announce("")
        with _env(PASSWORD_ENV, password):
            code = audit(["audit", "--inventory", str(inventory), "--out", str(out_dir),
                          "--history", str(out_dir / "history.sqlite"), "--no-progress"])
    return DemoRun(exit_code=code or 0, report=out_dir / "report.html", lab_dir=lab_dir, inventory=inventory,
                   password=password, scheme=scheme)


def activation_hint() -> str | None:
    """The command that puts this installation's ``auditor`` on PATH, when it is not there
    (``make demo`` runs ``.venv/bin/auditor`` without activating the virtual environment, and
    the commands the demo prints start with ``auditor``)."""
    bindir = os.path.abspath(os.path.dirname(sys.executable))
    found = shutil.which("auditor")
    if found and os.path.dirname(os.path.abspath(found)) == bindir:
        return None
    if os.name == "nt":
        activate = Path(bindir, "activate.bat")
        return str(_relative(activate)) if activate.is_file() else None
    activate = Path(bindir, "activate")
    return f". {shlex.quote(str(_relative(activate)))}" if activate.is_file() else None


def _relative(path: Path) -> Path:
    """``path`` relative to the working folder when it is inside it (``.venv/bin/activate``)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else Path(rel)


def next_steps(run: DemoRun) -> list[str]:
    """How to serve the demo's cluster again and run the report's fix commands against it."""
    lab = shlex.quote(str(run.lab_dir))
    inventory = shlex.quote(str(run.inventory))
    export = f"export {PASSWORD_ENV}={shlex.quote(run.password)}"
    activate = activation_hint()
    prefix = [f"  {activate}"] if activate else []
    return [
        f"The simulated cluster has stopped. Its nodes and inventory are kept in {run.lab_dir}, so the fix",
        "commands in the report work once it runs again. In a second terminal, start it (until Ctrl-C):",
        *prefix,
        f"  {export}      # lab only: the throwaway password of these 127.0.0.1 listeners",
        f"  auditor lab serve {lab} --scheme {run.scheme}",
        "Then, in this terminal, look at the repair plan (a dry run; --apply changes the lab's nodes):",
        *prefix,
        f"  {export}",
        f"  auditor fix --inventory {inventory}",
    ]
