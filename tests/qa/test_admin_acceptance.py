"""Acceptance checks from an admin's point of view: a bad --out is a one-line error, found
before any node is contacted (so a long collection is never thrown away), never a traceback.

The "node" here is a plain listening socket: if the command contacted it, a connection
would be waiting in its backlog. No connection means the command stopped before collecting.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

ENV = "QA_ACCEPTANCE_PASSWORD"


@pytest.fixture()
def silent_node() -> Iterator[socket.socket]:
    """A TCP listener that never answers; the test reads its backlog to see if it was contacted."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.setblocking(False)
    try:
        yield srv
    finally:
        srv.close()


def contacted(srv: socket.socket) -> bool:
    try:
        conn, _ = srv.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.fixture()
def inventory(tmp_path: Path, silent_node: socket.socket, monkeypatch) -> Path:
    monkeypatch.setenv(ENV, "not-a-real-password")
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "history.sqlite"))
    port = silent_node.getsockname()[1]
    path = tmp_path / "cluster.yaml"
    path.write_text(
        "version: 1\ncluster: qa\n"
        "defaults: {transport: ntlm, scheme: http, username: auditor, credential: {env: " + ENV + "},"
        " deadline: 5, connect_timeout: 1, read_timeout: 2}\n"
        f"nodes:\n  - {{name: MGMT1, address: 127.0.0.1, port: {port}, roles: [management]}}\n",
        encoding="utf-8")
    return path


@pytest.fixture()
def a_file(tmp_path: Path) -> Path:
    """A plain file where the command line asks for a folder below it."""
    path = tmp_path / "afile"
    path.write_text("x")
    return path


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def one_line_error(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    return lines[0]


def test_collect_out_below_a_file_fails_before_collecting(inventory, a_file, silent_node):
    result = run("collect", "--inventory", str(inventory), "--out", str(a_file / "snap"))
    assert result.exit_code == 2
    assert "cannot create the snapshot folder" in one_line_error(result)
    assert not contacted(silent_node)


def test_audit_out_below_a_file_fails_before_collecting(inventory, a_file, silent_node):
    result = run("audit", "--inventory", str(inventory), "--out", str(a_file / "reports"), "--no-history")
    assert result.exit_code == 2
    assert "cannot create report folder" in one_line_error(result)
    assert not contacted(silent_node)


def test_discover_out_below_a_file_fails_before_contacting_the_seed(inventory, a_file, silent_node):
    port = str(silent_node.getsockname()[1])
    result = run("discover", "--seed", "127.0.0.1", "--port", port, "--scheme", "http", "-u", "auditor",
                 "--credential-env", ENV, "--deadline", "2", "--out", str(a_file / "cluster.yaml"))
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "cannot create the folder for the inventory" in line
    assert "a file is in the way" in line
    assert not contacted(silent_node)


def test_lab_generate_out_below_a_file_is_a_one_line_error(a_file):
    # no command-specific handling here: the CLI's safety net for file system errors
    result = run("lab", "generate", str(a_file / "scenario"))
    assert result.exit_code == 2
    assert "Not a directory" in one_line_error(result)


def test_discover_help_documents_exit_codes():
    result = run("discover", "--help")
    assert result.exit_code == 0
    assert "Exit codes:" in result.output
    assert "3 the seed could not be collected" in result.output


def test_fix_plan_json_below_a_file_fails_before_planning(a_file, tmp_path):
    from importlib import resources

    drift = Path(str(resources.files("auditor.lab").joinpath("scenarios"))) / "drift"
    result = run("fix", "--from", str(drift), "--plan-json", str(a_file / "plan.json"),
                 "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 2
    line = one_line_error(result)  # the plan is not printed first: the error comes before any work
    assert "cannot create the folder for the plan: a file is in the way" in line


def _drift_scenario() -> Path:
    from importlib import resources

    return Path(str(resources.files("auditor.lab").joinpath("scenarios"))) / "drift"


def test_out_has_the_same_short_option_in_audit_collect_and_discover(tmp_path):
    # collect and discover took -o, audit did not: one spelling across the commands
    for cmd in ("audit", "collect", "discover", "demo"):
        assert "-o, --out" in run(cmd, "--help").output, cmd
    result = run("audit", "--from", str(_drift_scenario()), "-o", str(tmp_path / "r"), "--no-history", "-q")
    assert result.exit_code == 1
    assert (tmp_path / "r" / "report.html").is_file()


def test_history_for_an_unknown_cluster_names_the_cluster(tmp_path, monkeypatch):
    hist = tmp_path / "h.sqlite"
    assert run("audit", "--from", str(_drift_scenario()), "--out", str(tmp_path / "r"), "--history", str(hist),
               "-q").exit_code == 1
    result = run("history", "--history", str(hist), "--cluster", "nope")
    assert result.exit_code == 0
    assert result.output.strip() == f"no runs of cluster 'nope' recorded in {hist}"
    assert "Exit codes:" in run("history", "--help").output


def test_prompt_credential_without_input_is_exit_2_not_aborted(inventory, tmp_path, silent_node):
    # a scheduled run with credential {prompt: true}: stdin is empty. click said "Aborted!" and
    # exited 1, which a pipeline reads as "findings".
    inventory.write_text(inventory.read_text().replace("{env: " + ENV + "}", "{prompt: true}"))
    result = CliRunner().invoke(main, ["audit", "--inventory", str(inventory), "--out", str(tmp_path / "r"),
                                       "--no-history"], input="")
    assert result.exit_code == 2, result.output
    assert "Aborted" not in result.output
    assert "Traceback" not in result.output
    assert "error: no password entered (end of input)" in result.output
    assert "{env: VAR}" in result.output
    assert not contacted(silent_node)


@pytest.mark.parametrize("cmd", ["audit", "fix"])
@pytest.mark.parametrize("opts, named", [
    (["--deadline", "30"], "--deadline only applies"),
    (["--concurrency", "4", "--insecure-skip-verify"], "--insecure-skip-verify, --concurrency only apply"),
])
def test_live_only_options_with_from_are_refused_not_ignored(cmd, opts, named, tmp_path):
    result = run(cmd, "--from", str(_drift_scenario()), *opts, "--no-history" if cmd == "audit" else "--no-progress")
    assert result.exit_code == 2
    assert named in result.output
    assert "not to --from SNAPSHOT_DIR" in result.output


def test_no_progress_with_from_is_harmless(tmp_path):
    result = run("audit", "--from", str(_drift_scenario()), "--no-progress", "--no-history", "-q",
                 "-o", str(tmp_path / "r"))
    assert result.exit_code == 1


def test_history_file_that_is_not_a_database_stops_before_collecting(inventory, tmp_path, silent_node):
    # docs/scheduling.md: exit 2 before anything is collected (not a warning in the report)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n" * 100)
    result = run("audit", "--inventory", str(inventory), "--out", str(tmp_path / "r"), "--history", str(junk))
    assert result.exit_code == 2
    assert "is not usable" in one_line_error(result)
    assert not contacted(silent_node)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv, message", [
    (["audit", "--check", ""], "--check needs a check id, got an empty value"),
    (["audit", "--node", " "], "--node needs a node name, got an empty value"),
    (["fix", "--node", ""], "--node needs a node name, got an empty value"),
    (["fix", "--check", "SPOC-MGMT-LIST", "--check", ""], "--check needs a check id"),
])
def test_empty_check_or_node_value_is_an_error_not_everything(argv, message, tmp_path):
    # `--node "$NODE"` with an unset variable: audit silently covered every node and fix
    # silently planned nothing (exit 0)
    extra = ["--no-history", "-o", str(tmp_path / "r")] if argv[0] == "audit" else []
    result = run(*argv, "--from", str(_drift_scenario()), *extra)
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_report_folder_that_is_a_file_is_named_as_such(a_file):
    result = run("audit", "--from", str(_drift_scenario()), "--no-history", "-o", str(a_file))
    assert result.exit_code == 2  # click's own check: "Directory ... is a file"
    result = run("audit", "--from", str(_drift_scenario()), "--no-history", "-o", "/dev/null")
    assert result.exit_code == 2
    assert one_line_error(result) == "error: cannot create report folder /dev/null: a file is in the way"


def test_repeated_format_adds_formats_instead_of_replacing(tmp_path):
    # `--format html --format csv` used to keep only the last one, silently
    out = tmp_path / "r"
    result = run("audit", "--from", str(_drift_scenario()), "--no-history", "-q", "-o", str(out),
                 "--format", "html", "--format", "csv,junit")
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "junit.xml", "report.html"]


@pytest.mark.parametrize("cmd", ["audit", "collect", "fix", "discover", "history", "drift", "baseline"])
def test_every_command_that_scripts_run_documents_its_exit_codes(cmd):
    result = run(cmd, "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # click re-wraps the text
    assert "Exit codes" in text
    assert "2 " in text.split("Exit codes", 1)[1]


def test_fix_apply_with_unwritable_journal_fails_before_collecting(inventory, a_file, tmp_path, silent_node):
    # the journal was checked only after the collection and the printed plan, as 'File exists'
    result = run("fix", "--inventory", str(inventory), "--apply", "--yes", "--no-progress",
                 "--state-dir", str(tmp_path / "state"), "--journal", str(a_file / "journal.jsonl"))
    assert result.exit_code == 2
    assert one_line_error(result) == f"error: cannot write the fix journal {a_file / 'journal.jsonl'}: a file is in the way"
    assert not contacted(silent_node)


def test_inventory_saved_as_utf16_by_notepad_is_read(inventory, tmp_path, monkeypatch, silent_node):
    # Notepad's "Unicode" encoding (UTF-16 LE with BOM) was "the inventory must be UTF-8 text"
    inventory.write_bytes(inventory.read_text(encoding="utf-8").encode("utf-16"))
    monkeypatch.delenv(ENV)  # stop right after the inventory was read: proves it parsed
    result = run("collect", "--inventory", str(inventory), "--out", str(tmp_path / "snap"))
    assert result.exit_code == 2
    assert f"environment variable {ENV} is not set" in one_line_error(result)
    assert not contacted(silent_node)


def test_waivers_saved_as_utf16_are_applied_and_other_encodings_named(tmp_path):
    import json

    waivers = tmp_path / "waivers.yaml"
    waivers.write_bytes(("waivers:\n  - check: SPOC-MGMT-LIST\n    reason: r\n    owner: o\n"
                         "    expires: 2099-12-31\n").encode("utf-16"))
    out = tmp_path / "r"
    result = run("audit", "--from", str(_drift_scenario()), "--no-history", "-q", "-o", str(out),
                 "--format", "json", "--waivers", str(waivers))
    assert result.exit_code == 1, result.output
    statuses = {(f["check_id"], f["status"]) for f in json.loads((out / "report.json").read_text())["findings"]}
    assert ("SPOC-MGMT-LIST", "waived") in statuses
    assert ("SPOC-MGMT-LIST", "fail") not in statuses
    waivers.write_bytes(b"waivers: []\n# caf\xe9\n")  # Latin-1
    result = run("audit", "--from", str(_drift_scenario()), "--no-history", "-q", "-o", str(out),
                 "--waivers", str(waivers))
    assert result.exit_code == 2
    assert one_line_error(result) == f"error: {waivers}: the waivers file must be UTF-8 text"


def test_fix_names_each_node_not_collected_with_its_reason(tmp_path):
    import json
    import shutil

    snap = tmp_path / "snap"
    shutil.copytree(_drift_scenario(), snap)
    manifest = json.loads((snap / "manifest.json").read_text())
    for n in manifest["nodes"]:
        if n["name"] == "MGMT2":
            n["status"], n["reason"] = "refused", "connection refused at 10.0.10.12:5986"
    (snap / "manifest.json").write_text(json.dumps(manifest))
    result = run("fix", "--from", str(snap))
    assert result.exit_code == 3
    assert "Not collected (the plan may be incomplete): MGMT2: refused (connection refused at 10.0.10.12:5986)" \
        in result.output


def test_progress_on_a_terminal_starts_before_the_first_node_answers(inventory, tmp_path):
    # the progress line appeared only when the first node finished: on a slow WAN, seconds
    # of silence. Run the real CLI with stderr on a pseudo-terminal (the node never answers).
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "collect", "--inventory", str(inventory),
                             "--out", str(tmp_path / "snap")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=dict(os.environ))
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while b"collected 0/1 (0 failed)" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 1024)
                except OSError:
                    break
            if proc.poll() is not None and not ready:
                break
        assert b"collected 0/1 (0 failed)" in seen, seen
        assert proc.poll() is None  # shown while the node is still being waited for
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.close(master)

