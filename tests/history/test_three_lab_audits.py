"""Three real audits of a lab cluster that changes between runs (issue: nightly operations).

The lab serves a copy of the healthy scenario over NTLM with message encryption; between runs
the test edits the served node folders the way drift happens on real servers:

* run 1: healthy -> clean, recorded;
* before run 2: SITE1's spoc.conf loses MGMT2 (serverGUID2/IP2/PORT2) and MGMT2's
  Infrastructure Service is switched to LocalSystem (a service's log-on account is
  configuration too: it shows as ``service YSoftIms`` ``StartName``);
* before run 3: SITE1's spoc.conf is put back; MGMT1's sessionTimeoutMinutes goes 30 -> 45.

`auditor drift` (CLI, JSON) and the HTML report's "Since last run" section must show exactly
those changes: nothing missing, nothing extra.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

pytestmark = pytest.mark.timeout(180)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
PASSWORD = "Three-Runs-Lab-7781!"
PASSWORD_ENV = "PARAGON_THREE_RUNS_LAB_PW"
SITE1_SPOC = "site1/files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf"
MGMT1_CONF = "mgmt1/files/c/DispatcherParagon/Management/conf/management.properties"
SPOC_FILE = r"C:\DispatcherParagon\SPOC\conf\modules\spoc.conf"
MGMT_FILE = r"C:\DispatcherParagon\Management\conf\management.properties"


class _SinceSection(HTMLParser):
    """Rows of each table in <section id="since">, keyed by the <h3> above the table."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.title = ""
        self.tables: dict[str, list[list[str]]] = {}
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_h3 = False

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.inside = dict(attrs).get("id") == "since"
        elif self.inside and tag == "h3":
            self._in_h3, self.title = True, ""
        elif self.inside and tag == "tr":
            self._row = []
        elif self.inside and tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "section":
            self.inside = False
        elif tag == "h3":
            self._in_h3 = False
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row:
            self.tables.setdefault(self.title, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_h3:
            self.title += data
        elif self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    shutil.copytree(SCENARIOS / "healthy", tmp_path / "scenario")
    cluster = LabCluster(tmp_path / "scenario", handler_factory=make_handler, scheme="http", auth="ntlm",
                         password=PASSWORD, workdir=tmp_path / "lab")
    cluster.start()
    try:
        yield cluster, cluster.write_inventory(tmp_path / "inventory.yaml", password_env=PASSWORD_ENV)
    finally:
        cluster.stop()


def test_three_audits_show_exactly_what_changed(lab, tmp_path):
    cluster, inv = lab
    history = tmp_path / "history.sqlite"
    runner = CliRunner()

    def audit(n: int) -> int:
        res = runner.invoke(main, ["audit", "--inventory", str(inv), "--history", str(history), "--no-progress",
                                   "-o", str(tmp_path / f"run{n}"), "--format", "html,json"])
        assert "Traceback" not in res.output, res.output
        return res.exit_code

    def drift(*runs: str) -> dict:
        res = runner.invoke(main, ["drift", *runs, "--history", str(history), "--json"])
        assert res.exit_code == 0, res.output
        return json.loads(res.output)

    spoc = cluster.serve_dir / SITE1_SPOC
    spoc_before = spoc.read_bytes()
    assert audit(1) == 0

    # drift between run 1 and run 2
    kept = [ln for ln in spoc_before.decode().splitlines(keepends=True)
            if not ln.startswith(("serverGUID2=", "serverIP2=", "serverPORT2="))]
    spoc.write_text("".join(kept))
    node_json = cluster.serve_dir / "mgmt2" / "node.json"
    facts = json.loads(node_json.read_text())
    for svc in facts["services"]:
        if svc["name"] == "YSoftIms":
            svc["account"] = "LocalSystem"
    node_json.write_text(json.dumps(facts, indent=1))
    assert audit(2) == 1

    d12 = drift()  # latest against previous
    assert {(f["check_id"], f["node"]) for f in d12["new"]} == {("SPOC-MGMT-LIST", "SITE1"),
                                                              ("IMS-SERVICE-ACCOUNT", "MGMT2")}
    assert d12["resolved"] == []
    assert d12["changed"] == []
    assert d12["nodes"] == []
    assert {(c["node"], c["file"], c["key"], c["change"], c["after"]) for c in d12["config_changes"]} == {
        ("SITE1", SPOC_FILE, "serverGUID2", "removed", None),
        ("SITE1", SPOC_FILE, "serverIP2", "removed", None),
        ("SITE1", SPOC_FILE, "serverPORT2", "removed", None),
        ("MGMT2", "service YSoftIms", "StartName", "changed", "LocalSystem"),
    }

    # drift between run 2 and run 3
    spoc.write_bytes(spoc_before)
    conf = cluster.serve_dir / MGMT1_CONF
    conf.write_text(conf.read_text().replace("sessionTimeoutMinutes=30", "sessionTimeoutMinutes=45"))
    assert audit(3) == 1

    d23 = drift()
    new23 = {(f["check_id"], f["node"]) for f in d23["new"]}
    # two Management servers now differ: no majority to trust, so both are flagged
    assert new23 == {("MGMT-CONFIG-CONSISTENT", "MGMT1"), ("MGMT-CONFIG-CONSISTENT", "MGMT2")}, new23
    assert {(f["check_id"], f["node"], f["now_status"]) for f in d23["resolved"]} == {
        ("SPOC-MGMT-LIST", "SITE1", "pass")}
    assert d23["changed"] == []
    assert d23["nodes"] == []
    assert {(c["node"], c["key"], c["change"], c["before"], c["after"]) for c in d23["config_changes"]} == {
        ("SITE1", "serverGUID2", "added", None, "6f1c2a02-3b7e-4c1d-9a55-000000000002"),
        ("SITE1", "serverIP2", "added", None, "10.0.10.12"),
        ("SITE1", "serverPORT2", "added", None, "6010"),
        ("MGMT1", "sessionTimeoutMinutes", "changed", "30", "45"),
    }
    # IMS-SERVICE-ACCOUNT on MGMT2 still fails: unchanged, so in neither list
    assert ("IMS-SERVICE-ACCOUNT", "MGMT2") not in new23 | {(f["check_id"], f["node"]) for f in d23["resolved"]}

    # run 1 -> run 3 directly: the spoc.conf round trip cancels out
    d13 = drift("1", "3")
    assert {(f["check_id"], f["node"]) for f in d13["new"]} == new23 | {("IMS-SERVICE-ACCOUNT", "MGMT2")}
    assert d13["resolved"] == []
    assert {(c["node"], c["key"]) for c in d13["config_changes"]} == {("MGMT1", "sessionTimeoutMinutes"),
                                                                      ("MGMT2", "StartName")}

    # the reports say the same: JSON since_last_run, and the HTML "Since last run" tables
    report3 = json.loads((tmp_path / "run3" / "report.json").read_text())
    assert {(f["check_id"], f["node"]) for f in report3["since_last_run"]["new"]} == new23
    assert {(f["check_id"], f["node"]) for f in report3["since_last_run"]["resolved"]} == {("SPOC-MGMT-LIST", "SITE1")}
    page = _SinceSection()
    page.feed((tmp_path / "run3" / "report.html").read_text(encoding="utf-8"))
    assert {(r[1], r[2]) for r in page.tables["New findings"]} == new23
    assert [(r[1], r[2]) for r in page.tables["Resolved findings"]] == [("SPOC-MGMT-LIST", "SITE1")]
    assert {(r[0], r[2], r[3], r[4], r[5]) for r in page.tables["Configuration values changed"]} == {
        ("SITE1", "serverGUID2", "added", "", "6f1c2a02-3b7e-4c1d-9a55-000000000002"),
        ("SITE1", "serverIP2", "added", "", "10.0.10.12"),
        ("SITE1", "serverPORT2", "added", "", "6010"),
        ("MGMT1", "sessionTimeoutMinutes", "changed", "30", "45"),
    }
    assert "Changed findings" not in page.tables
    # and `auditor history` lists the three runs
    res = runner.invoke(main, ["history", "--history", str(history), "--json"])
    assert res.exit_code == 0, res.output
    assert [r["id"] for r in json.loads(res.output)["runs"]] == [3, 2, 1]  # newest first
