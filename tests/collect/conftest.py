"""Fixtures for collection tests: lab clusters served from a tmp copy of a scenario (always stopped)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.collect.collect_support import PASSWORD, PASSWORD_ENV, SCENARIOS


@pytest.fixture
def lab_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple]]:
    """``lab_cluster(scenario="healthy", scheme="http", faults=None)`` -> (cluster, inventory_path).

    The scenario is copied to tmp_path first; every cluster started is stopped at teardown.
    """
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    started: list = []

    def make(scenario: str | Path = "healthy", *, scheme: str = "http", auth: str = "ntlm",
             faults: dict | None = None) -> tuple:
        n = len(started)
        src_path = Path(scenario) if isinstance(scenario, Path) else SCENARIOS / scenario
        src = tmp_path / f"scenario-{n}"
        shutil.copytree(src_path, src)
        cluster = LabCluster(src, handler_factory=make_handler, scheme=scheme, auth=auth, password=PASSWORD,
                             workdir=tmp_path / f"lab-{n}", faults=faults)
        started.append(cluster)
        cluster.start()
        inv = cluster.write_inventory(tmp_path / f"inv-{n}" / "inventory.yaml", password_env=PASSWORD_ENV)
        return cluster, inv

    yield make
    for cluster in started:
        cluster.stop()
