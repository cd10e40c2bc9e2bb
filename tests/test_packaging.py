"""Packaging: every subpackage is listed in pyproject, a built wheel ships the templates, the
profile, the executor script and the lab scenarios (the report and the demo would fail at run
time without them), and neither the wheel build (``pip install .``) nor the editable install
``make`` runs prints a build warning (an admin's first ``make demo`` must not start with a wall
of them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "auditor").rglob("__init__.py")
        if "scenarios" not in p.parts
    }
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages"


def _pip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-build-isolation", "-q"],
                          check=True, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def wheel_build(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wheel")
    proc = _pip("wheel", "-w", str(out), str(ROOT))
    return next(out.glob("paragon_auditor-*.whl")), proc.stdout + proc.stderr


@pytest.mark.slow
def test_wheel_build_prints_no_warning(wheel_build):
    _wheel, output = wheel_build
    assert "warning" not in output.lower(), output[:3000]


def _makefile_warning_filter() -> str:
    """The PYTHONWARNINGS value the Makefile's install uses (one home: the Makefile)."""
    match = re.search(r"^EDITABLE_NOTICE\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile: EDITABLE_NOTICE not found"
    return match.group(1).strip()


@pytest.mark.slow
def test_editable_install_as_make_does_prints_no_warning(tmp_path):
    env = dict(os.environ, PYTHONWARNINGS=_makefile_warning_filter())
    # --ignore-installed: never uninstall the running environment's own install of the package
    proc = _pip("install", "--ignore-installed", "-e", str(ROOT), "--prefix", str(tmp_path / "prefix"), env=env)
    assert "warning" not in (proc.stdout + proc.stderr).lower(), (proc.stdout + proc.stderr)[:3000]


@pytest.mark.slow
def test_wheel_contains_templates_profile_and_executor(wheel_build):
    wheel, _output = wheel_build
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "auditor/profile/default.yaml" in names
    assert any(n.startswith("auditor/report_templates/") and n.endswith(".j2") for n in names), names
    assert any(n.startswith("auditor/remote/") and n.endswith(".ps1") for n in names)
    assert "auditor/lab/scenarios/drift/manifest.json" in names
