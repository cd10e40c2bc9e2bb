"""Packaging: every subpackage is listed in pyproject, and a built wheel ships the templates,
the profile and the executor script (the report would fail at run time without them)."""

from __future__ import annotations

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


@pytest.mark.slow
def test_wheel_contains_templates_profile_and_executor(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("paragon_auditor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "auditor/profile/default.yaml" in names
    assert any(n.startswith("auditor/report_templates/") and n.endswith(".j2") for n in names), names
    assert any(n.startswith("auditor/remote/") and n.endswith(".ps1") for n in names)
    assert "auditor/lab/scenarios/drift/manifest.json" in names
