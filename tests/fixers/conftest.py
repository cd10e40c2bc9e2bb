"""Fixtures for fix tests: lab clusters over NTLM/HTTPS on a tmp copy of a scenario (always stopped)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixers.fix_lab_support import (
    LAB_PASSWORD,
    LAB_PASSWORD_ENV,
    SERVICE_PASSWORD,
    SERVICE_PASSWORD_ENV,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"


@pytest.fixture
def fix_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple]]:
    """``fix_lab(scenario="drift", faults=None, prepare=None)`` -> (LabCluster, inventory path).

    Served over HTTPS with NTLM (channel binding) from a copy of the scenario; every cluster
    started here is stopped at teardown. Lock and journal live under tmp_path (env var).
    """
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(LAB_PASSWORD_ENV, LAB_PASSWORD)
    monkeypatch.setenv(SERVICE_PASSWORD_ENV, SERVICE_PASSWORD)
    monkeypatch.setenv("PARAGON_AUDITOR_STATE_DIR", str(tmp_path / "state"))
    started: list = []

    def make(scenario: str | Path = "drift", *, faults: dict | None = None,
             prepare: Callable[[Path], None] | None = None) -> tuple:
        n = len(started)
        src = tmp_path / f"scenario-{n}"
        shutil.copytree(scenario if isinstance(scenario, Path) else SCENARIOS / scenario, src)
        if prepare is not None:
            prepare(src)  # edit the copy (never the shipped scenario) before it is served
        cluster = LabCluster(src, handler_factory=make_handler, scheme="https", auth="ntlm",
                             password=LAB_PASSWORD, workdir=tmp_path / f"lab-{n}", faults=faults)
        started.append(cluster)
        cluster.start()
        inv = cluster.write_inventory(tmp_path / f"inv-{n}" / "inventory.yaml", password_env=LAB_PASSWORD_ENV)
        return cluster, inv

    yield make
    for cluster in started:
        cluster.stop()
