"""Path safety: names and paths that come from an inventory or from a remote node can never
make the tool write outside the snapshot or report folder.

Tested through the real writers and, for remote data, through the real wire: a lab node
whose executor answer is rewritten on the way out (``HostileFiles``) so the response carries
file paths such as ``C:\\..\\..\\x``, UNC and POSIX paths, device names; it travels over
WinRM/NTLM, through the client, the decoder, the runner and ``write_snapshot``.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from auditor.collect.snapshot import folder_names
from auditor.errors import InputError
from auditor.lab.winrm.handler import CommandResult
from auditor.nodefolder import safe_folder_name, save_node, windows_to_relative
from auditor.nodestate import FileEntry, NodeState
from auditor.remote.protocol import OUTPUT_PREFIX, encode_output
from tests.hardening import hx_support
from tests.hardening.hx_support import cli_env, rewrite_inventory, run_cli

pytestmark = pytest.mark.timeout(150)
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

PASSWORD = "Ps-3318-paths-Pw!"  # test-only, for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_PATHS_TEST_PW"
USERNAME = "hx-paths"

HOSTILE_NAMES = ["..\\..\\x", "CON", "a/b", "/tmp/abs-hx", "C:\\evil", ".."]
HOSTILE_PATHS = [
    "C:\\..\\..\\escaped.txt",
    "C:\\DispatcherParagon\\..\\..\\..\\escaped.txt",
    "C:/DispatcherParagon/../../escaped.txt",
    "\\\\attacker\\share\\escaped.txt",
    "/etc/escaped.txt",
    "escaped.txt",
    "C:\\DispatcherParagon\\CON",
    "C:\\DispatcherParagon\\nul.txt",
    "C:\\DispatcherParagon\\a:stream",
    "C:\\DispatcherParagon\\trailing. ",
    "C:\\" + "L" * 300 + "\\x.txt",
    "C:\\DispatcherParagon\\x\x00.txt",
]
RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.IGNORECASE)


def _files_outside(root: Path, allowed: list[Path]) -> list[Path]:
    return [p for p in root.rglob("*") if not any(p == a or a in p.parents for a in allowed)]


# ---- unit level: the two functions every remote path and every node name go through ---------


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_windows_to_relative_refuses_escaping_paths(path):
    with pytest.raises(InputError):
        windows_to_relative(path)


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["nul.txt", "COM1", "lpt9.log", "", ".", "\x00", "x" * 500])
def test_folder_names_are_one_harmless_segment(name):
    folder = safe_folder_name(name)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,100}", folder)
    assert folder.strip(".")
    assert not RESERVED.match(folder), folder
    assert Path(folder).name == folder
    assert not Path(folder).is_absolute()


def test_folder_names_unique_case_insensitive():
    names = ["CON", "con", "Con.", "..", ".", "a/b", "a\\b", "a_b"]
    folders = folder_names(names)
    assert len({f.lower() for f in folders.values()}) == len(names)


def test_save_node_never_writes_outside(tmp_path):
    node_dir = tmp_path / "snap" / "n1"
    for path in HOSTILE_PATHS:
        state = NodeState(name="N1")
        state.files["x"] = FileEntry(path=path, content=b"pwned")
        with pytest.raises(InputError):
            save_node(state, node_dir)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# ---- node names from the inventory: collect + audit through the CLI -------------------------


def test_hostile_node_names_stay_inside_snapshot_and_reports(hard_lab, tmp_path):
    _, inv = hard_lab("healthy", password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV)
    names = dict(zip(["MGMT1", "MGMT2", "SITE1", "SITE2"], HOSTILE_NAMES[:4], strict=True))
    rewrite_inventory(inv, {"check_hostname": False, "deadline": 20},
                      nodes={k: {"name": v} for k, v in names.items()})
    work = tmp_path / "cwd"
    work.mkdir()
    env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
    snap, out = work / "snap", work / "out"
    run = run_cli(["collect", "--inventory", str(inv), "--out", str(snap), "--no-progress"], env, cwd=work)
    assert run.returncode == 0, run.stdout + run.stderr
    run = run_cli(["audit", "--inventory", str(inv), "--out", str(out), "--format", "html,json,junit,csv",
                   "--no-progress", "--no-history"], env, cwd=work)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    run = run_cli(["audit", "--from", str(snap), "--out", str(work / "out2"), "--no-history"], env, cwd=work)
    assert run.returncode in (0, 1), run.stdout + run.stderr

    assert not _files_outside(work, [snap, out, work / "out2"])
    assert not Path("/tmp/abs-hx").exists()
    children = sorted(p.name for p in snap.iterdir())
    assert "manifest.json" in children
    assert len(children) == 5
    for child in children:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", child), child
        assert not RESERVED.match(child), child
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(n["name"] for n in manifest["nodes"]) == sorted(names.values())  # names kept as data
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "junit.xml", "report.html", "report.json"]


# ---- file paths from a remote node: the real wire, the real writers -------------------------


class HostileFiles:
    """Wraps the lab executor: adds file entries with hostile paths to its collect answer."""

    def __init__(self, inner, paths: list[str]):
        self.inner = inner
        self.paths = paths

    def run(self, shell, command_line, arguments, skip_cmd_shell):
        res = self.inner.run(shell, command_line, arguments, skip_cmd_shell)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith(OUTPUT_PREFIX)), None)
        if line is None:
            return res
        resp = json.loads(base64.b64decode(line[len(OUTPUT_PREFIX):]))
        if resp.get("kind") != "collect":
            return res
        files_op = next(r for r in resp["results"] if r["op"] == "files" and r["status"] == "ok")
        for p in self.paths:
            files_op["data"]["files"].append({
                "path": p, "exists": True, "mtime": None, "size": 5, "truncated": False, "error": None,
                "content_b64": base64.b64encode(b"pwned").decode()})
        return CommandResult(stdout=encode_output(resp).replace("\r\n", "\n"), error=res.error,
                             exit_code=res.exit_code)


@pytest.mark.parametrize("path", HOSTILE_PATHS[:6] + HOSTILE_PATHS[6:8])
def test_remote_file_paths_cannot_escape_the_snapshot(tmp_path, path):
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler
    from auditor.lab.scenario_builder import build_healthy

    scenario = tmp_path / "scenario"
    build_healthy(scenario, sites=1, managements=1)

    def factory(entry, node_dir):
        inner = make_handler(entry, node_dir)
        return HostileFiles(inner, [path]) if entry.roles == ["site"] else inner

    work = tmp_path / "cwd"
    work.mkdir()
    with LabCluster(scenario, handler_factory=factory, scheme="http", username=USERNAME, password=PASSWORD,
                    workdir=tmp_path / "lab") as lab:
        inv = lab.write_inventory(tmp_path / "inv" / "inventory.yaml", password_env=PASSWORD_ENV)
        rewrite_inventory(inv, {"deadline": 20})
        env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
        snap = work / "snap"
        run = run_cli(["collect", "--inventory", str(inv), "--out", str(snap), "--no-progress"], env, cwd=work)
        audit = run_cli(["audit", "--inventory", str(inv), "--out", str(work / "out"), "--format", "json",
                         "--no-progress", "--no-history"], env, cwd=work)
        site = next(n.name for n in lab.nodes if n.entry.roles == ["site"])

    assert "Traceback" not in run.stderr + audit.stderr, run.stderr + audit.stderr
    # nothing escaped: no file outside the snapshot/report folders, no 'escaped.txt' anywhere
    assert not _files_outside(work, [snap, work / "out"])
    assert not [p for p in tmp_path.rglob("escaped.txt")]
    assert not Path("/etc/escaped.txt").exists()
    for p in snap.rglob("*"):
        assert not RESERVED.match(p.name), p
    # the hostile node is accounted for as a protocol failure; the snapshot is complete
    assert run.returncode == 3, run.stdout + run.stderr
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    status = {n["name"]: n for n in manifest["nodes"]}
    assert status[site]["status"] == "protocol", status[site]
    assert "path" in status[site]["reason"], status[site]
    assert all(n["status"] == "ok" for name, n in status.items() if name != site)
    assert audit.returncode == 3
    report = json.loads((work / "out" / "report.json").read_text(encoding="utf-8"))
    assert {n["name"]: n["status"] for n in report["nodes"]}[site] == "protocol"
