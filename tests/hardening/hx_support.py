"""Helpers for the hardening tests: the CLI run as a real subprocess (so "the run finishes"
includes process exit: a worker thread left blocked in a socket would keep the interpreter
alive), a clean environment, inventory rewriting.

A uniquely named module (not ``conftest``): several test folders have a conftest, and
``from conftest import ...`` would pick whichever was imported first in a full run. For the
same reason this folder has no conftest: test modules import the ``hard_lab`` fixture from here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
_SCRIPT = Path(sys.executable).parent / "auditor"  # the installed console script
AUDITOR = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "auditor.cli"]


@dataclass
class CliRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(args: list[str], env: dict[str, str], timeout: float = 90, cwd: Path | None = None) -> CliRun:
    """``auditor ARGS`` in a fresh interpreter; the wall time includes interpreter exit."""
    t0 = time.monotonic()
    proc = subprocess.run(AUDITOR + args, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return CliRun(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - t0)


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no proxies, history in tmp, HOME in tmp (nothing escapes tmp_path)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), PARAGON_AUDITOR_HISTORY=str(tmp_path / "history.sqlite"), PYTHONUTF8="1",
               COLUMNS="200")
    env.update(extra)
    return env


def rewrite_inventory(path: Path, defaults: dict[str, Any] | None = None,
                      nodes: dict[str, dict[str, Any]] | None = None) -> Path:
    """Edit the lab's inventory YAML: merge ``defaults`` and per-node settings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["defaults"].update(defaults or {})
    for node in data["nodes"]:
        node.update((nodes or {}).get(node["name"], {}))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def hard_lab(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``hard_lab(scenario, password=..., username=..., faults=..., scheme=...)`` -> (cluster, inventory).

    The scenario (a name or a folder) is copied to tmp_path; every cluster is stopped at teardown.
    Each test passes its own lab account name: the NTLM users file is process-wide and holds
    one password per account name (docs/lab.md).
    """
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    started: list[Any] = []

    def make(scenario: str | Path = "healthy", *, password: str, username: str, password_env: str,
             faults: dict | None = None, scheme: str = "http", auth: str = "ntlm") -> tuple[Any, Path]:
        n = len(started)
        src_path = Path(scenario) if isinstance(scenario, Path) else SCENARIOS / scenario
        src = tmp_path / f"scenario-{n}"
        if src != src_path:
            shutil.copytree(src_path, src)
        cluster = LabCluster(src, handler_factory=make_handler, scheme=scheme, auth=auth, username=username,
                             password=password, workdir=tmp_path / f"lab-{n}", faults=faults)
        started.append(cluster)
        cluster.start()
        inv = cluster.write_inventory(tmp_path / f"inv-{n}" / "inventory.yaml", password_env=password_env)
        return cluster, inv

    yield make
    for cluster in started:
        cluster.stop()
