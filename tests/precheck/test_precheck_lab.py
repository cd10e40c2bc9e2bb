"""Both pre-change workflows end to end over WinRM (docs/pre-change.md), and the exit codes.

add-management: the 2 + 2 cluster gets MGMT3, which first answers WinRM with nothing
installed (precheck go, baseline pinned, follow-up blocked), then is installed (its node
folder swapped), then the follow-up is planned and applied one node at a time and the
cluster audits clean; ``auditor drift --baseline`` shows what the change changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.lab.install import install_node
from auditor.vocab import ExitStatus
from tests.precheck.precheck_support import SERVICE_PASSWORD_ENV

pytestmark = pytest.mark.timeout(300)


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output


def precheck(inv: Path, *extra: str) -> tuple[int, str]:
    return run("precheck", "add-management", "--inventory", str(inv), "--node", "MGMT3", "--no-progress", *extra)


def test_add_management_go_after_plan_apply_and_clean_audit(precheck_lab, tmp_path):
    lab, inv = precheck_lab()
    code, out = precheck(inv, "--out", str(tmp_path / "out"))
    assert code == ExitStatus.OK, out
    doc = json.loads((tmp_path / "out" / "precheck.json").read_text())
    assert doc["verdict"] == "go"
    assert doc["needs"]["product version"]["value"] == "6.0.112.4"
    assert doc["history"]["baseline_pinned"] is True
    assert (tmp_path / "out" / "precheck.html").is_file()

    code, out = precheck(inv, "--after")
    assert code == ExitStatus.PENDING, out
    assert "MGMT3 has nothing of the product installed yet" in out

    install_node(lab.serve_dir, "MGMT3")
    code, out = precheck(inv, "--after")
    assert code == ExitStatus.PENDING, out
    assert "one node at a time in this order: MGMT3, MGMT1, MGMT2, SITE1, SITE2" in out

    code, out = precheck(inv, "--after", "--apply", "--yes", "--service-password-env", SERVICE_PASSWORD_ENV,
                         "--journal", str(tmp_path / "journal.jsonl"))
    assert code == ExitStatus.OK, out
    spoc = (lab.serve_dir / "site2" / "files" / "d" / "SafeQ6" / "SPOC" / "conf" / "modules" / "spoc.conf").read_text()
    assert "serverGUID3=6f1c2a03-3b7e-4c1d-9a55-000000000003" in spoc

    code, out = run("audit", "--inventory", str(inv), "--no-progress", "-q", "--out", str(tmp_path / "audit"))
    assert code == ExitStatus.OK, out
    code, out = run("drift", "--baseline", "--json")
    assert code == ExitStatus.OK, out
    changed = {(c["node"], c["key"]) for c in json.loads(out)["config_changes"]}
    assert ("SITE1", "serverGUID3") in changed


def test_a_no_go_over_winrm_exits_1_and_pins_no_baseline(precheck_lab, tmp_path):
    def local_repository(src: Path) -> None:
        p = src / "mgmt2" / "files" / "c" / "DispatcherParagon" / "Management" / "ims" / "application.properties"
        text = p.read_bytes().decode()
        p.write_bytes(text.replace("repository.path=\\\\\\\\fs01.corp.example\\\\paragon\\\\ims-repository",
                                   "repository.path=C\\:\\\\repo").encode())

    _lab, inv = precheck_lab(prepare=local_repository)
    code, out = precheck(inv, "--out", str(tmp_path / "out"))
    assert code == ExitStatus.FINDINGS, out
    doc = json.loads((tmp_path / "out" / "precheck.json").read_text())
    assert {p["id"]: p["verdict"] for p in doc["preconditions"]}["REPOSITORY-SHARED"] == "no-go"
    assert doc["history"]["baseline_pinned"] is False


def test_a_node_not_collected_exits_3(precheck_lab):
    _lab, inv = precheck_lab(faults={"SITE2": {"refuse": True}})
    code, out = precheck(inv)
    assert code == ExitStatus.UNREACHABLE, out
    assert "NO-GO" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--node", "SITE1"), "SITE1 must be in the inventory with roles: [management]"),
    (("--node", "MGMT9"), "unknown node(s): MGMT9"),
])
def test_a_new_server_that_cannot_be_one_is_an_input_error(tmp_path, args, message):
    from auditor.lab.cluster import LabCluster  # noqa: F401 - the inventory is written without serving

    inv = _offline_inventory(tmp_path)
    code, out = run("precheck", "add-management", "--inventory", str(inv), *args)
    assert code == ExitStatus.USAGE, out
    assert message in out


def test_a_malformed_target_version_is_an_input_error(tmp_path):
    code, out = run("precheck", "update", "--inventory", str(_offline_inventory(tmp_path)), "--to", "six")
    assert code == ExitStatus.USAGE, out


def test_apply_without_after_is_a_usage_error(tmp_path):
    code, out = precheck(_offline_inventory(tmp_path), "--apply")
    assert code == ExitStatus.USAGE, out
    assert "only with --after" in out


def _offline_inventory(tmp_path: Path) -> Path:
    """An inventory of nodes nobody serves: input errors must come before any contact."""
    inv = tmp_path / "inventory.yaml"
    inv.write_text("version: 1\ncluster: c\ndefaults: {username: u, credential: {env: PRECHECK_NOBODY}}\nnodes:\n"
                   "  - {name: MGMT1, address: 127.0.0.1, port: 9, roles: [management]}\n"
                   "  - {name: MGMT3, address: 127.0.0.1, port: 9, roles: [management]}\n"
                   "  - {name: SITE1, address: 127.0.0.1, port: 9, roles: [site]}\n")
    return inv


# ---- update -------------------------------------------------------------------------------------
def _set_version(node_dir: Path, version: str) -> None:
    p = node_dir / "node.json"
    doc = json.loads(p.read_text())
    for values in doc["registry"].values():
        if "Version" in values:
            values["Version"] = version
    p.write_text(json.dumps(doc, indent=2))


def test_update_before_during_and_the_order(precheck_lab):
    lab, inv = precheck_lab("healthy")
    code, out = run("precheck", "update", "--inventory", str(inv), "--to", "6.0.113.1", "--no-progress")
    assert code == ExitStatus.OK, out
    assert "1. MGMT1 (management, 6.0.112.4): next" in out

    _set_version(lab.serve_dir / "mgmt1", "6.0.113.1")  # the installer ran on MGMT1
    code, out = run("precheck", "update", "--inventory", str(inv), "--to", "6.0.113.1", "--no-progress")
    assert code == ExitStatus.OK, out
    assert "update in progress: MGMT1 runs 6.0.113.1" in out
    assert "2. MGMT2 (management, 6.0.112.4): next" in out

    code, out = run("precheck", "update", "--inventory", str(inv), "--no-progress")
    assert code == ExitStatus.FINDINGS, out  # without --to the same state is mixed versions


def test_a_new_server_clock_30_seconds_ahead_is_a_no_go_over_winrm(precheck_lab, tmp_path):
    _lab, inv = precheck_lab(faults={"MGMT3": {"clock_skew": 30}})
    code, out = precheck(inv, "--no-history", "--out", str(tmp_path / "out"), "--format", "json")
    assert code == ExitStatus.FINDINGS, out
    doc = json.loads((tmp_path / "out" / "precheck.json").read_text())
    assert {p["id"]: p["verdict"] for p in doc["preconditions"]}["NEW-CLOCK"] == "no-go"


def test_the_follow_up_of_a_node_that_cannot_be_the_new_server_is_an_input_error(tmp_path):
    code, out = run("precheck", "add-management", "--inventory", str(_offline_inventory(tmp_path)), "--node", "SITE1",
                    "--after")
    assert code == ExitStatus.USAGE, out
    assert "SITE1 must be in the inventory with roles: [management]" in out
