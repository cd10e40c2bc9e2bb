"""The Management etcd end to end through the real CLI: over WinRM (NTLM with message encryption
against the lab) and offline from the snapshot. The etcd-drift scenario plants database
settings only in etcd, one node's etcd disagreeing, etcd not answering on one node, a stale
member and a Management server missing from the members, plus encrypted password keys that
must never leave the node; a secret key added by a profile override is refused before any
node is contacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.lab.scenario_builder import LAB_ETCD_SECRETS
from tests.collect.collect_support import PASSWORD, SCENARIOS

pytestmark = pytest.mark.timeout(120)

PLANTED = {(p["check_id"], p["node"]) for p in
           json.loads((SCENARIOS / "etcd-drift" / "manifest.json").read_text())["planted"]}
ETCD_CHECKS = {"ETCD-MEMBERS", "DB-SETTINGS-CONSISTENT", "DB-EXTERNAL"}


def cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return res.exit_code, res.output


def findings(report: Path) -> dict[tuple[str, str], dict]:
    return {(f["check_id"], f["node"]): f for f in json.loads(report.read_text())["findings"]}


def every_byte(*roots: Path) -> bytes:
    return b"".join(p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file())


def test_etcd_drift_live_and_offline(lab_cluster, tmp_path):
    _, inv = lab_cluster("etcd-drift")
    code, out = cli("audit", "--inventory", str(inv), "--out", str(tmp_path / "live"), "-q", "--format", "json",
                    "--no-history")
    assert code == 1, out
    live = findings(tmp_path / "live" / "report.json")
    assert {k for k, f in live.items() if f["status"] == "fail"} == PLANTED
    assert [k for k, f in live.items() if f["status"] == "error"] == []
    # where each database setting was read
    assert live[("DB-EXTERNAL", "MGMT1")]["details"]["decided_by"] == "etcd"
    assert live[("DB-EXTERNAL", "MGMT3")]["details"]["decided_by"] == "properties"
    assert "etcd did not answer: GET http://127.0.0.1:2379/v2/members: Unable to connect" in \
        live[("DB-EXTERNAL", "MGMT3")]["message"]
    assert "sql02.corp.example" in live[("DB-SETTINGS-CONSISTENT", "MGMT2")]["message"]
    assert "stale member" in live[("ETCD-MEMBERS", "MGMT1")]["message"]
    assert "MGMT3 is not a member" in live[("ETCD-MEMBERS", "MGMT1")]["message"]

    code, out = cli("collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"), "--no-progress")
    assert code == 0, out
    mgmt1 = json.loads((tmp_path / "snap" / "mgmt1" / "node.json").read_text())["etcd"]
    assert set(mgmt1["values"]) == {"dbClass", "dbDbName", "dbHost", "dbPort", "dbDbUsername", "embeddedDb"}
    assert "encryptedUserPassword" in mgmt1["key_names"]
    assert json.loads((tmp_path / "snap" / "mgmt3" / "node.json").read_text())["etcd"]["error"].startswith("GET ")
    assert "etcd" not in json.loads((tmp_path / "snap" / "site1" / "node.json").read_text())

    code, out = cli("audit", "--from", str(tmp_path / "snap"), "--out", str(tmp_path / "offline"), "-q",
                    "--format", "json,html,csv,junit", "--no-history")
    assert code == 1, out
    offline = findings(tmp_path / "offline" / "report.json")
    for key, f in live.items():
        if key[0] in ETCD_CHECKS:
            assert (offline[key]["status"], offline[key]["message"]) == (f["status"], f["message"]), key

    # the encrypted password values held by MGMT1's etcd never left it
    written = every_byte(tmp_path / "live", tmp_path / "snap", tmp_path / "offline") + out.encode()
    for value in LAB_ETCD_SECRETS.values():
        assert value.encode() not in written
    assert PASSWORD.encode() not in written


def test_a_management_server_not_collected_is_not_blamed_for_its_membership(lab_cluster, tmp_path):
    _, inv = lab_cluster("healthy", faults={"MGMT2": {"wrong_password": True}})
    code, out = cli("audit", "--inventory", str(inv), "--out", str(tmp_path / "r"), "-q", "--format", "json",
                    "--no-history")
    assert code == 3, out
    found = findings(tmp_path / "r" / "report.json")
    assert found[("ETCD-MEMBERS", "MGMT1")]["status"] == "pass"  # member MGMT2 matched by name
    assert found[("DB-SETTINGS-CONSISTENT", "MGMT1")]["status"] == "skip"  # nothing to compare with
    assert found[("ETCD-MEMBERS", "MGMT2")]["status"] == "skip"
    assert {k for k, f in found.items() if f["status"] in ("fail", "error") and k[0] in ETCD_CHECKS} == set()


def test_a_secret_key_in_a_profile_override_is_refused_before_any_node_is_contacted(lab_cluster, tmp_path):
    lab, inv = lab_cluster("healthy")
    override = tmp_path / "my-profile.yaml"
    override.write_text("# read the password too\netcd:\n  keys: [dbHost, encryptedUserPassword]\n")
    code, out = cli("audit", "--inventory", str(inv), "--profile", str(override), "--out", str(tmp_path / "r"),
                    "--no-history")
    assert code == 2, out
    assert out.strip().splitlines()[-1] == (
        f"error: {override}:3: etcd.keys: encryptedUserPassword matches the secret pattern 'encrypted*'; the "
        "auditor never reads secrets from etcd: remove it from the profile")
    assert "Traceback" not in out
    assert all(node.server.counters().commands_run == 0 for node in lab.nodes)
    override.write_text("etcd:\n  secret_key_patterns: []\n  keys: [dbHost, clusterPassword]\n")
    code, out = cli("collect", "--inventory", str(inv), "--profile", str(override), "--out", str(tmp_path / "s"))
    assert code == 2, out
    assert "clusterPassword matches the secret pattern '*pass*'" in out
