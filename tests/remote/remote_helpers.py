"""Shared helpers for the remote-protocol tests (a uniquely named module, not a conftest)."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from auditor.lab.executor import make_handler
from auditor.lab.winrm.handler import CommandResult, ShellContext
from auditor.manifest import NodeEntry, load_manifest
from auditor.remote import bootstrap
from auditor.remote.protocol import parse_output, response_json

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"


def copy_scenario(tmp_path: Path, name: str = "drift") -> Path:
    """A private copy: tests change node folders, the shipped scenarios must never change."""
    dst = tmp_path / name
    shutil.copytree(SCENARIOS / name, dst)
    return dst


def entry(scenario: Path, node: str, faults: dict[str, Any] | None = None) -> tuple[NodeEntry, Path]:
    e = next(n for n in load_manifest(scenario).nodes if n.name == node)
    if faults is not None:
        e.lab = {"faults": faults}
    return e, scenario / e.folder


def shell(env: dict[str, str]) -> ShellContext:
    return ShellContext(shell_id="S1", env=env, working_directory=None, codepage=437, username="auditor")


def run_request(scenario: Path, node: str, request: dict[str, Any], *, faults: dict[str, Any] | None = None,
                secrets: dict[str, str] | None = None) -> CommandResult:
    e, d = entry(scenario, node, faults)
    env = bootstrap.shell_env(response_json(request), secrets)
    return make_handler(e, d).run(shell(env), bootstrap.command_line(), [], False)


def respond(scenario: Path, node: str, request: dict[str, Any], **kw: Any) -> dict[str, Any]:
    res = run_request(scenario, node, request, **kw)
    assert res.exit_code == 0, res.error
    assert res.error is None
    return parse_output(res.stdout.encode("ascii"))


def encoded(script: str, prefix: str = "powershell -encodedcommand ") -> str:
    return prefix + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def result(resp: dict[str, Any], op_id: str) -> dict[str, Any]:
    return next(r for r in resp["results"] if r["id"] == op_id)
