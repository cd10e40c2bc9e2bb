"""A lab cluster for the pre-change workflows: served over HTTPS with NTLM from a copy of a
scenario; history, state and journal under tmp_path; every lab started here is stopped."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.precheck.precheck_support import LAB_PASSWORD_ENV, SCENARIOS, SERVICE_PASSWORD_ENV


@pytest.fixture
def precheck_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple]]:
    """``precheck_lab(scenario="add-management", faults=None, prepare=None)`` -> (LabCluster, inventory)."""
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(LAB_PASSWORD_ENV, "Precheck-Lab-1")
    monkeypatch.setenv(SERVICE_PASSWORD_ENV, "Precheck-Svc-1")
    monkeypatch.setenv("PARAGON_AUDITOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "history.sqlite"))
    started: list = []

    def make(scenario: str = "add-management", *, faults: dict | None = None,
             prepare: Callable[[Path], None] | None = None) -> tuple:
        src = tmp_path / f"scenario-{len(started)}"
        shutil.copytree(SCENARIOS / scenario, src)
        if prepare is not None:
            prepare(src)
        lab = LabCluster(src, handler_factory=make_handler, scheme="https", auth="ntlm", password="Precheck-Lab-1",
                         workdir=tmp_path / f"lab-{len(started)}", faults=faults)
        started.append(lab)
        lab.start()
        return lab, lab.write_inventory(tmp_path / f"inv-{len(started)}" / "inventory.yaml",
                                        password_env=LAB_PASSWORD_ENV)

    yield make
    for lab in started:
        lab.stop()
