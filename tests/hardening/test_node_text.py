"""Text from a node is made valid once, where it enters, so every writer can write it.

A lone UTF-16 surrogate (``"\\ud800"`` in JSON, a ``\\uD800`` escape in a .properties file,
corrupt UTF-16 in a configuration file) used to abort the whole audit with a
UnicodeEncodeError from the report writer (exit 1, no report, the history store crashing
too), and ``auditor collect`` wrote a snapshot that ``audit --from`` could not read. The
readers of node data (the bounded JSON reader behind the remote decoder and the node folder
reader, the configuration parsers) now hand on valid text; raw file bytes stay untouched.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from auditor.parsers import ParseError, SpocConfDocument, parse_properties
from auditor.safetext import valid_text
from tests.hardening import hx_support
from tests.hardening.hx_support import SCENARIOS, cli_env, rewrite_inventory, run_cli

pytestmark = pytest.mark.timeout(180)
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

PASSWORD = "Ps-5120-text-Pw!"  # test-only, for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_TEXT_TEST_PW"
USERNAME = "hx-text"
REPLACEMENT = "\ufffd"


def _plant_surrogates(scenario: Path) -> None:
    """MGMT2's host name and every service account of SITE1 carry a lone surrogate."""
    node = scenario / "mgmt2" / "node.json"
    data = json.loads(node.read_text(encoding="utf-8"))
    data["hostname"] = "MGMT2\ud800"
    node.write_text(json.dumps(data), encoding="utf-8")  # ensure_ascii: written as \ud800
    site = scenario / "site1" / "node.json"
    data = json.loads(site.read_text(encoding="utf-8"))
    for svc in data["services"]:
        svc["display_name"] = svc["display_name"] + "\udc80"
    site.write_text(json.dumps(data), encoding="utf-8")


def _assert_every_report_and_history(out: Path, history: Path) -> None:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {n["name"] for n in report["nodes"]} == {"MGMT1", "MGMT2", "SITE1", "SITE2"}
    assert {n["name"]: n["hostname"] for n in report["nodes"]}["MGMT2"] == "MGMT2" + REPLACEMENT
    assert (out / "report.html").read_text(encoding="utf-8").count("</html>") == 1
    assert (out / "junit.xml").read_text(encoding="utf-8").startswith("<?xml")
    with open(out / "findings.csv", encoding="utf-8", newline="") as fh:
        assert len(list(csv.reader(fh))) > 1
    db = sqlite3.connect(history)
    try:
        assert db.execute("select count(*) from runs").fetchone()[0] == 1
    finally:
        db.close()


def test_lone_surrogates_in_a_snapshot_audit_writes_every_report_and_history(tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(SCENARIOS / "healthy", snap)
    _plant_surrogates(snap)
    env = cli_env(tmp_path)
    run = run_cli(["audit", "--from", str(snap), "--out", str(tmp_path / "out"),
                   "--format", "html,json,junit,csv"], env)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    _assert_every_report_and_history(tmp_path / "out", tmp_path / "history.sqlite")


def test_live_collect_of_lone_surrogates_writes_a_snapshot_audit_from_reads(tmp_path, hard_lab):
    scenario = tmp_path / "hostile"
    shutil.copytree(SCENARIOS / "healthy", scenario)
    _plant_surrogates(scenario)  # the lab serves node.json as it is: \ud800 goes over the wire
    _cluster, inv = hard_lab(scenario, password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV)
    rewrite_inventory(inv, {"deadline": 30})
    env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
    collect = run_cli(["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"), "--no-progress"], env)
    assert collect.returncode == 0, collect.stdout + collect.stderr
    saved = json.loads((tmp_path / "snap" / "mgmt2" / "node.json").read_text(encoding="utf-8"))
    assert saved["hostname"] == "MGMT2" + REPLACEMENT
    audit = run_cli(["audit", "--from", str(tmp_path / "snap"), "--out", str(tmp_path / "out"),
                     "--format", "html,json,junit,csv"], env)
    assert "Traceback" not in audit.stderr, audit.stderr
    assert audit.returncode == 0, audit.stdout + audit.stderr
    _assert_every_report_and_history(tmp_path / "out", tmp_path / "history.sqlite")


def test_valid_text_joins_pairs_and_replaces_lone_surrogates():
    assert valid_text("a\ud83d\ude00b\ud800c\udfff") == "a\U0001f600b" + REPLACEMENT + "c" + REPLACEMENT


def test_properties_escapes_are_utf16_units_as_in_java():
    doc = parse_properties(b"smile=\\ud83d\\ude00\nlone=x\\ud800y\n", "a.properties")
    assert doc.get("smile") == "\U0001f600"
    assert doc.get("lone") == "x" + REPLACEMENT + "y"


def test_corrupt_utf16_config_is_a_parse_error_with_its_line():
    text = "# spoc\r\nserverGUID=a\r\nserverIP=10.0.0.1\ud800\r\n"
    data = b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass")
    with pytest.raises(ParseError) as err:
        SpocConfDocument(data, "spoc.conf")
    assert err.value.line == 3
    assert "UTF-16" in err.value.message


def test_inventory_escape_gives_valid_text(tmp_path):
    from auditor.collect.inventory import parse_inventory

    inv = parse_inventory('version: 1\ncluster: "c\\ud800"\ndefaults: {username: u, credential: {env: X}}\n'
                          'nodes: [{name: "A\\udc00", roles: [site]}]\n', "inv.yaml", base_dir=tmp_path)
    assert inv.cluster == "c" + REPLACEMENT
    assert inv.nodes[0].name == "A" + REPLACEMENT
