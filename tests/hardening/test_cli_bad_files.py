"""Every command, every file it reads, every kind of bad file: a missing path, a folder, an
empty file, binary bytes, UTF-16 text, a file of the wrong kind. The documented outcome is
a one-line ``error:`` and exit 2 (or a normal run when the content is acceptable, e.g. an
empty waivers file), never a traceback. Nothing here contacts a node."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"

BAD = {
    "missing": None,
    "folder": "DIR",
    "empty": b"",
    "binary": b"\x00\xff\xfe\x80garbage\x00" * 8,
    "utf16": "version: 1\nnodes: []\n".encode("utf-16"),
    "json-not-yaml-kind": b'{"format": "paragon-auditor-cluster", "version": 1}',
    "yaml-list": b"- a\n- b\n",
    "sqlite-like": b"SQLite format 3\x00" + b"\x00" * 100,
}


def _materialise(tmp: Path, kind: str) -> Path:
    path = tmp / f"bad-{kind}.yaml"
    content = BAD[kind]
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path


COMMANDS = [  # (id, argv with {F} for the bad file, {S} a good scenario, {O} an output folder)
    ("audit-inventory", ["audit", "--inventory", "{F}", "--out", "{O}", "--no-history"]),
    ("audit-profile", ["audit", "--from", "{S}", "--profile", "{F}", "--out", "{O}", "--no-history"]),
    ("audit-waivers", ["audit", "--from", "{S}", "--waivers", "{F}", "--out", "{O}", "--no-history"]),
    ("audit-notify", ["audit", "--from", "{S}", "--notify-config", "{F}", "--out", "{O}", "--no-history"]),
    ("audit-history", ["audit", "--from", "{S}", "--history", "{F}", "--out", "{O}"]),
    ("audit-from", ["audit", "--from", "{F}", "--out", "{O}", "--no-history"]),
    ("collect-inventory", ["collect", "--inventory", "{F}", "--out", "{O}"]),
    ("fix-inventory", ["fix", "--inventory", "{F}"]),
    ("fix-from", ["fix", "--from", "{F}"]),
    ("fix-profile", ["fix", "--from", "{S}", "--profile", "{F}"]),
    ("fix-waivers", ["fix", "--from", "{S}", "--waivers", "{F}"]),
    ("history", ["history", "--history", "{F}"]),
    ("drift", ["drift", "--history", "{F}"]),
    ("baseline-show", ["baseline", "show", "--history", "{F}"]),
    ("lab-generate-out", ["lab", "generate", "{F}", "--sites", "1"]),
]


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("cmd_id, argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_bad_file_is_a_one_line_error(tmp_path, monkeypatch, cmd_id, argv, kind):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.setenv("PARAGON_AUDITOR_STATE_DIR", str(tmp_path / "state"))
    scenario = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "drift", scenario)
    bad = _materialise(tmp_path, kind)
    args = [a.replace("{F}", str(bad)).replace("{S}", str(scenario)).replace("{O}", str(tmp_path / "out"))
            for a in argv]
    if "--help" in args:  # pragma: no cover - guard against a typo in the table
        pytest.fail("bad table")
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, SystemExit) or result.exception is None, \
        f"{cmd_id}/{kind}: {type(result.exception).__name__}: {result.exception}"
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [ln for ln in result.output.splitlines() if ln.startswith(("error:", "Error:"))]
        assert len(errors) == 1, result.output
        assert bad.name in errors[0], errors[0]  # the message names the file to fix
    else:  # an acceptable file (an empty waivers file, a folder for lab generate ...)
        assert result.exit_code in (0, 1, 3), (cmd_id, kind, result.exit_code, result.output)
