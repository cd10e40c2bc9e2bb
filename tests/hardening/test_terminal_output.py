"""No control character from the data reaches the admin's terminal, from any command.

A hostile scenario carries terminal escape sequences in every kind of text a command can
print: the cluster name (an OSC window-title sequence), node names (CSI colour), a host name
and a service account (C1 controls, a bidi override), a spoc.conf comment next to the lines
the fix plan changes (``\\x1b[2J\\x1b[8m hidden``: clear screen, hide text), configuration
values that change between two runs (for ``auditor drift``). Every command runs in a real
pseudo-terminal (output post-processing off, so every byte is the program's) against it: the
lab serving it, collect, audit live and offline, fix (live and offline plan), history, drift,
baseline, discover, checks, lab generate, demo. The terminal must receive no C0 control but
TAB and newline (and the carriage return of the progress line), no DEL, no C1 control, no
bidi control; and the planted sequences must show up escaped, proving the data got there.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import yaml

from tests.hardening.hx_support import SCENARIOS, cli_env

pytestmark = pytest.mark.timeout(600)

_SCRIPT = Path(sys.executable).parent / "auditor"
AUDITOR = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "auditor.cli"]
PASSWORD = "Ps-2290-tty-Pw!"  # test-only, for 127.0.0.1 listeners

OSC_TITLE = "\x1b]0;owned\x07"
CLEAR_HIDE = "\x1b[2J\x1b[8m hidden"
C1_CSI = "\x9b2J"
BIDI = "\u202e"
RED = "\x1b[31m"

# bytes a terminal must never get from us: C0 but TAB, LF, CR; DEL; C1 and bidi controls as UTF-8
FORBIDDEN = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\x8e\x8f\xaa-\xae\xa8\xa9]"
                       rb"|\xe2\x81[\xa6-\xa9]|\xd8\x9c")


def hostile_scenario(folder: Path) -> None:
    """The drift scenario with control sequences planted in every kind of printed text."""
    shutil.copytree(SCENARIOS / "drift", folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["name"] = "drift" + OSC_TITLE
    for node in manifest["nodes"]:
        if node["name"] == "SITE2":
            node["name"] = "SITE2" + RED
        for planted in manifest.get("planted", []):
            if planted.get("node") == "SITE2":
                planted["node"] = "SITE2" + RED
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    mgmt1 = folder / "mgmt1" / "node.json"  # the discover seed; its IMS account is what MGMT2 gets
    facts = json.loads(mgmt1.read_text(encoding="utf-8"))
    facts["fqdn"] = "mgmt1.corp" + C1_CSI + BIDI + ".example"
    for svc in facts["services"]:
        if svc["account"].lower() != "localsystem":
            svc["account"] = svc["account"] + C1_CSI + BIDI
    mgmt1.write_text(json.dumps(facts), encoding="utf-8")
    site2 = folder / "site2" / "node.json"
    facts = json.loads(site2.read_text(encoding="utf-8"))
    facts["hostname"] = "SITE2" + RED  # answers as its (hostile) inventory name
    site2.write_text(json.dumps(facts), encoding="utf-8")
    spoc = next((folder / "site1").rglob("spoc.conf"))
    text = spoc.read_bytes().decode("utf-8")
    spoc.write_bytes(text.replace("serverGUID3=", f"# {CLEAR_HIDE}\r\nserverGUID3=", 1).encode("utf-8"))


class PtyRun:
    """A command on a pseudo-terminal (stdin, stdout and stderr), output post-processing off."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path):
        self.master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # no LF -> CRLF: every byte read is one the program wrote
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.proc = subprocess.Popen([*AUDITOR, *args], stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, start_new_session=True)
        os.close(slave)
        self.output = b""

    def read_until(self, marker: bytes | None, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker is not None and marker in self.output:
                break
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side closed: the program ended
                    chunk = b""
                if not chunk:
                    break
                self.output += chunk
            elif self.proc.poll() is not None:
                break
        return self.output

    def finish(self, timeout: float = 120) -> int:
        self.read_until(None, timeout)
        try:
            return self.proc.wait(10)
        finally:
            os.close(self.master)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.finish(30)


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes]:
    r = PtyRun(args, env, cwd)
    code = r.finish()
    return code, r.output


def assert_clean(name: str, out: bytes) -> None:
    bad = [(m.start(), out[max(0, m.start() - 30):m.end() + 10]) for m in FORBIDDEN.finditer(out)]
    assert bad == [], f"{name}: control bytes reached the terminal: {bad[:5]}"
    carriage = [m.start() for m in re.finditer(rb"\r", out)]
    assert all(out[i + 1:i + 10] == b"collected" for i in carriage), f"{name}: a stray carriage return"


def test_no_control_character_from_the_data_reaches_the_terminal_in_any_command(tmp_path):
    scenario = tmp_path / "hostile"
    hostile_scenario(scenario)
    env = cli_env(tmp_path, PARAGON_LAB_PASSWORD=PASSWORD, TERM="xterm")
    work = tmp_path / "work"
    work.mkdir()
    outputs: dict[str, bytes] = {}
    codes: dict[str, int] = {}

    lab = PtyRun(["lab", "serve", str(scenario), "--scheme", "http", "--workdir", str(tmp_path / "lab")], env, work)
    try:
        lab.read_until(b"Press Ctrl-C", 60)
        inv = tmp_path / "lab" / "inventory.yaml"
        assert inv.is_file(), lab.output.decode(errors="replace")
        live = ["--inventory", str(inv)]
        commands = {
            "collect": ["collect", *live, "--out", str(tmp_path / "snap")],
            "audit-live": ["audit", *live, "--out", str(tmp_path / "r1")],
            "fix-live": ["fix", *live, "--remove-stale"],
        }
        for name, args in commands.items():
            codes[name], outputs[name] = run(args, env, work)
        port = next(n["port"] for n in yaml.safe_load(inv.read_text(encoding="utf-8"))["nodes"] if n["name"] == "MGMT1")
        codes["discover"], outputs["discover"] = run(
            ["discover", "--seed", "127.0.0.1", "--port", str(port), "--scheme", "http", "--username",
             "auditor", "--credential-env", "PARAGON_LAB_PASSWORD", "--out", str(tmp_path / "proposed.yaml")],
            env, work)
    finally:
        lab.stop()
    outputs["lab serve"] = lab.output

    # a second run with changed (hostile) values, for history and drift
    snap2 = tmp_path / "snap2"
    shutil.copytree(tmp_path / "snap", snap2)
    props = next((snap2 / "mgmt1").rglob("management.properties"))
    props.write_bytes(props.read_bytes() + f"\r\nsiteName=Prague{CLEAR_HIDE}\r\n".encode())
    more = {
        "audit-offline": ["audit", "--from", str(snap2), "--out", str(tmp_path / "r2")],
        "history": ["history"],
        "drift": ["drift"],
        "baseline set": ["baseline", "set", "latest"],
        "baseline show": ["baseline", "show"],
        "fix-offline": ["fix", "--from", str(snap2), "--remove-stale"],
        "checks": ["checks"],
        "checks ID": ["checks", "SPOC-MGMT-LIST"],
        "lab generate": ["lab", "generate", str(tmp_path / "gen"), "--sites", "2"],
        "demo": ["demo", "--out", str(tmp_path / "demo")],
    }
    for name, args in more.items():
        codes[name], outputs[name] = run(args, env, work)

    for name, out in outputs.items():
        assert b"Traceback" not in out, (name, out.decode(errors="replace")[-2000:])
        assert_clean(name, out)
    # the planted sequences did reach these commands, shown as text
    shown = {name: out for name, out in outputs.items() if b"\\x1b" in out or b"\\x9b" in out}
    assert sorted(shown) == sorted(["lab serve", "collect", "audit-live", "fix-live", "discover", "audit-offline",
                                    "history", "drift", "baseline set", "baseline show", "fix-offline"])
    assert b"\\x1b[2J\\x1b[8m hidden" in outputs["fix-offline"]  # the comment in the plan diff
    assert b"\\x1b]0;owned\\x07" in outputs["history"]  # the cluster name
    assert b"\\x9b2J\\u202e" in outputs["fix-live"]  # the service account MGMT2 is to run as
    assert b"\\x9b2J\\u202e" in outputs["discover"]  # the seed's FQDN
    assert codes["collect"] == 0
    assert b"\rcollected 4/4" in outputs["collect"]  # the progress line, drawn with its own \r
