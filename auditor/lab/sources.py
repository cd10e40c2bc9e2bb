"""Where a lab cluster is served from: a shipped scenario, a scenario folder, or the work folder
of an earlier lab (resumed in place).

Resuming matters because a lab is stateful: ``auditor fix --apply`` changes the served node
files. ``auditor demo`` keeps its lab in ``<out>/lab`` and prints fix commands naming
``<out>/lab/inventory.yaml``; ``auditor lab serve <out>/lab`` serves that same state again and
rewrites that inventory with the new ports, so the printed commands work after the demo ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from auditor.errors import InputError

SERVED_COPY = "scenario"
"""Folder of a lab work folder holding the served copy of the scenario (see LabCluster)."""
INVENTORY = "inventory.yaml"
"""The inventory a lab writes into its work folder by default."""


def shipped_scenarios_dir() -> Path:
    """The scenarios installed with the package (``healthy``, ``drift``, ``two-interfaces``, ``etcd-drift``)."""
    return Path(str(resources.files("auditor.lab").joinpath("scenarios")))


def shipped_scenario(name: str) -> Path:
    """Folder of a shipped scenario by name."""
    return shipped_scenarios_dir() / name


def shipped_names() -> list[str]:
    return sorted(p.name for p in shipped_scenarios_dir().iterdir() if (p / "manifest.json").is_file())


def is_work_folder(path: Path) -> bool:
    """A folder an earlier lab served from (it holds the served copy of a scenario)."""
    return (path / SERVED_COPY / "manifest.json").is_file()


@dataclass(frozen=True)
class LabSource:
    """What to serve and where the lab keeps its state."""

    scenario_dir: Path
    workdir: Path | None  # None: a temporary folder, removed when the lab stops
    copy: bool  # False: serve scenario_dir in place (a resumed work folder)

    @property
    def resumed(self) -> bool:
        return not self.copy


def resolve(value: str, workdir: Path | None = None) -> LabSource:
    """``value`` is a scenario folder, the name of a shipped scenario, or an earlier lab's work
    folder. A work folder is served in place, so what fixes changed is still there."""
    path = Path(value)
    if is_work_folder(path):
        if workdir is not None and workdir.resolve() != path.resolve():
            raise InputError(f"{value} is a lab work folder, served in place: leave out --workdir")
        return LabSource(scenario_dir=path / SERVED_COPY, workdir=path, copy=False)
    if (path / "manifest.json").is_file():
        return LabSource(scenario_dir=path, workdir=workdir, copy=True)
    if "/" not in value and "\\" not in value and (shipped_scenario(value) / "manifest.json").is_file():
        return LabSource(scenario_dir=shipped_scenario(value), workdir=workdir, copy=True)
    raise InputError(f"{value}: not a scenario folder (no manifest.json), not a lab work folder "
                     f"(no {SERVED_COPY}/manifest.json) and not a shipped scenario ({', '.join(shipped_names())})")
