"""The repository stands alone: no tracked file names an absolute path of the machine it was
written on, and every Markdown document a tracked file cites is in the repository.

A clone on an admin's workstation or a CI runner has none of the author's folders, so a path
into someone's home folder in a doc or a docstring is a dead reference (and leaks how one
machine is organised). Caught: paths under the folders that hold people's and machines' own
files (home folders, work and build areas) and under the top-level folder of the clone itself.
System locations a deployment uses (``/etc/...``, ``/var/log/...``,
``/usr/bin/...``, ``/tmp``) are fine: they exist everywhere.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Top-level folders that hold people's and machines' own files, never a deployment's.
PERSONAL_ROOTS = ("home", "root", "Users", "work", "mnt", "media", "workspace", "builds")
SYSTEM_ROOTS = {"etc", "var", "usr", "tmp", "opt", "srv", "dev", "proc", "sys", "bin", "lib", "run", "nonexistent"}


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def _forbidden_roots() -> list[str]:
    """The personal roots, plus the top-level folder this clone lives in (unless it is a
    system folder such as /tmp), so a path of this very machine is caught wherever it is."""
    roots = set(PERSONAL_ROOTS)
    top = ROOT.parts[1] if len(ROOT.parts) > 1 else ""
    if top and top not in SYSTEM_ROOTS:
        roots.add(top)
    return sorted(roots)


def _absolute_path_pattern() -> re.Pattern[str]:
    roots = "|".join(re.escape(r) for r in _forbidden_roots())
    return re.compile(rf"(?<![\w.~:/-])/(?:{roots})/[\w.-]+")


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def test_no_tracked_file_names_an_absolute_path_outside_the_repository():
    pattern = _absolute_path_pattern()
    hits = [f"{p.relative_to(ROOT)}: {m.group()}" for p in _tracked_files() for m in pattern.finditer(_text(p))]
    assert hits == []


_MD_REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[A-Za-z][\w-]*\.md)\b")


def test_every_markdown_document_cited_is_in_the_repository():
    files = _tracked_files()
    present = {p.name for p in files if p.suffix == ".md"}
    missing = sorted({f"{p.relative_to(ROOT)}: {m.group(1)}" for p in files
                      for m in _MD_REFERENCE.finditer(_text(p)) if Path(m.group(1)).name not in present})
    assert missing == []


def test_the_pattern_catches_a_machine_path():
    """The check itself can fail: a personal folder and this clone's own folder are caught,
    system locations are not."""
    pattern = _absolute_path_pattern()
    assert pattern.search("see /" + "home/jane/notes.txt")
    assert not pattern.search("install -m 600 nightly.env /etc/paragon-auditor/nightly.env")


def test_the_pattern_catches_this_clones_own_folder():
    if ROOT.parts[1] in SYSTEM_ROOTS:
        pytest.skip(f"cloned under /{ROOT.parts[1]}, a system folder")
    assert _absolute_path_pattern().search("see " + str(ROOT.parent / "notes.txt"))
