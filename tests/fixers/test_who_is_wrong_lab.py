"""Who is wrong when Management servers disagree, through the real CLI over WinRM (lab, NTLM over
HTTPS) and offline from the snapshot ``auditor collect`` wrote: two and three servers that
disagree on the Infrastructure Service account, the repository share, the database and the
version (and the shared configuration), with and without a declaration in the inventory; and
each service-account kind on one server and on all of them. Every case states exactly which
(check, node) pairs fail; the same set must come from the live audit and the offline one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.declared import DatabaseDeclaration, Declarations
from auditor.lab.scenario_builder import ACCOUNT_KINDS, OLDER_VERSION
from auditor.manifest import load_manifest, save_manifest

pytestmark = pytest.mark.timeout(240)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
ACCOUNT, REPO, DB, VERSION, CONFIG = ("IMS-SERVICE-ACCOUNT", "IMS-REPO-SHARED", "DB-SETTINGS-CONSISTENT",
                                      "VERSION-CONSISTENT", "MGMT-CONFIG-CONSISTENT")
FS02 = "\\\\fs02.corp.example\\paragon\\ims-repository"
PORT_8080 = {"ims\\application.properties": {"server.port": "8080"}}


def planted(name: str) -> set[tuple[str, str]]:
    return {(p["check_id"], p["node"]) for p in json.loads((SCENARIOS / name / "manifest.json").read_text())["planted"]}


def pairs(check: str, *nodes: str) -> set[tuple[str, str]]:
    return {(check, n) for n in nodes}


def failing(args: list[str], out: Path) -> tuple[set[tuple[str, str]], dict]:
    res = CliRunner().invoke(main, ["audit", *args, "--out", str(out), "-q", "--format", "json", "--no-history"])
    assert res.exit_code in (0, 1), res.output
    data = json.loads((out / "report.json").read_text())
    return {(f["check_id"], f["node"]) for f in data["findings"] if f["status"] in ("fail", "error")}, data


def live_and_offline(fix_lab, tmp_path: Path, scenario: str, prepare) -> tuple[set, set, dict]:
    _lab, inv = fix_lab(scenario, prepare=prepare)
    live, report = failing(["--inventory", str(inv)], tmp_path / "live")
    snap = CliRunner().invoke(main, ["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"),
                                     "--no-progress"])
    assert snap.exit_code == 0, snap.output
    return live, failing(["--from", str(tmp_path / "snap")], tmp_path / "offline")[0], report


def declaring(declared: Declarations | None):
    """A ``prepare`` that writes ``declared`` into the scenario copy's manifest: the lab's
    inventory then declares it, and ``auditor collect`` records it in the snapshot."""
    def prepare(folder: Path) -> None:
        if declared is not None:
            manifest = load_manifest(folder)
            manifest.declared = declared
            save_manifest(manifest, folder)
    return prepare


DISAGREEMENTS = {
    # three servers, nothing declared: the majority (and validity: a virtual account) decides
    "three-undeclared": ("disagree", None, planted("disagree")),
    # three servers, the inventory declares the minority's values: the majority is wrong
    "three-declared": ("disagree", Declarations(
        source="cluster.yaml", ims_repository=FS02, database=DatabaseDeclaration(host="sql02.corp.example"),
        expected_version=OLDER_VERSION, ims_service_account="CORP\\svc-paragon", shared_config=PORT_8080),
        pairs(REPO, "MGMT1", "MGMT2") | pairs(DB, "MGMT1", "MGMT2") | pairs(VERSION, "MGMT1", "MGMT3", "SITE1")
        | pairs(ACCOUNT, "MGMT2") | pairs(CONFIG, "MGMT1", "MGMT2", "MGMT3")),
    # two valid servers, nothing declared: every comparison is a tie (a build behind is not)
    "two-undeclared": ("tie", None, planted("tie")),
    # two servers, the inventory declares MGMT2's values: only MGMT1 (and what runs the newer build) fails
    "two-declared": ("tie", Declarations(
        source="cluster.yaml", ims_repository=FS02, database=DatabaseDeclaration(host="sql02.corp.example"),
        expected_version=OLDER_VERSION, ims_service_account="CORP\\svc-ims", shared_config=PORT_8080),
        pairs(REPO, "MGMT1") | pairs(DB, "MGMT1") | pairs(VERSION, "MGMT1", "SITE1") | pairs(ACCOUNT, "MGMT1")
        | pairs(CONFIG, "MGMT1")),
}


@pytest.mark.parametrize("case", sorted(DISAGREEMENTS))
def test_only_the_servers_that_are_wrong_fail(case, fix_lab, tmp_path):
    scenario, declared, expected = DISAGREEMENTS[case]
    live, offline, _ = live_and_offline(fix_lab, tmp_path, scenario, declaring(declared))
    assert (live, offline) == (expected, expected)


KINDS = ACCOUNT_KINDS  # one account of each kind (the lab's servers run as CORP\svc-paragon)
SHARE_CAPABLE = ("domain", "gMSA")


def running_as(account: str, nodes: tuple[str, ...]):
    """A ``prepare`` that makes the Infrastructure Service of ``nodes`` run as ``account``."""
    def prepare(folder: Path) -> None:
        for node in nodes:
            path = folder / node.lower() / "node.json"
            facts = json.loads(path.read_text())
            for svc in facts["services"]:
                if svc["name"] == "YSoftIms":
                    svc["account"] = account
            path.write_text(json.dumps(facts, indent=1))
    return prepare


def kind_expectation(kind: str, everywhere: bool) -> set[tuple[str, str]]:
    if kind in SHARE_CAPABLE:
        # on every server: they agree on an account that can work; on one of two: a tie
        return set() if everywhere else pairs(ACCOUNT, "MGMT1", "MGMT2")
    return pairs(ACCOUNT, "MGMT1", "MGMT2") if everywhere else pairs(ACCOUNT, "MGMT2")


@pytest.mark.parametrize("everywhere", [False, True], ids=["one-node", "all-nodes"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_account_kind_on_one_and_on_all_servers(kind, everywhere, fix_lab, tmp_path):
    nodes = ("MGMT1", "MGMT2") if everywhere else ("MGMT2",)
    live, offline, report = live_and_offline(fix_lab, tmp_path, "healthy", running_as(KINDS[kind], nodes))
    mgmt2 = next(f for f in report["findings"] if f["check_id"] == ACCOUNT and f["node"] == "MGMT2")
    assert (live, offline, mgmt2["details"]["account_kind"]) == (
        kind_expectation(kind, everywhere), kind_expectation(kind, everywhere), kind)
