"""The auditor over ``transport: kerberos`` end to end: a real MIT KDC (tests/conftest.py
``kerberos_realm``), lab nodes accepting only Kerberos, the ticket from ``kinit -k`` in
$KRB5CCNAME, no user name and no password in the inventory. Every command (audit, collect,
fix --apply, discover) over HTTP with message encryption and over HTTPS with channel binding;
the lab's counters prove that every message was sealed and that only Kerberos tokens were sent.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor.cli import main
from auditor.lab.cluster import LabCluster
from auditor.lab.executor import make_handler

pytestmark = pytest.mark.timeout(180)

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
SERVICE_PASSWORD_ENV = "PARAGON_KRB_TEST_SVC_PW"
SERVICE_PASSWORD = "Krb-Svc-7731-Secret!"  # the Infrastructure Service account password a fix sets


@pytest.fixture(scope="module", params=["http", "https"])
def lab(request, kerberos_realm, tmp_path_factory) -> Iterator[tuple[LabCluster, Path]]:
    """The drift scenario on Kerberos-only listeners; (cluster, inventory). One per scheme."""
    tmp = tmp_path_factory.mktemp(f"krb-{request.param}")
    shutil.copytree(SCENARIOS / "drift", tmp / "scenario")
    cluster = LabCluster(tmp / "scenario", handler_factory=make_handler, scheme=request.param, auth="kerberos",
                         workdir=tmp / "lab", kdc=kerberos_realm.kdc)
    with cluster:
        yield cluster, cluster.write_inventory(tmp / "inventory.yaml")


@pytest.fixture(autouse=True)
def _state(tmp_path, monkeypatch):
    monkeypatch.setenv("PARAGON_AUDITOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.setenv(SERVICE_PASSWORD_ENV, SERVICE_PASSWORD)


def run(*argv: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(argv), catch_exceptions=False)
    return res.exit_code, res.output


def counters(cluster: LabCluster) -> dict[str, object]:
    """Totals over the cluster's listeners."""
    tot: dict[str, object] = {"encrypted_requests": 0, "encrypted_replies": 0, "auth_tokens": {}, "encrypted_by": {},
                              "commands_run": 0, "shells_open": 0, "operations": 0}
    for node in cluster.nodes:
        assert node.server is not None
        c = node.server.counters()
        for key in ("encrypted_requests", "encrypted_replies", "commands_run", "shells_open"):
            tot[key] += getattr(c, key)  # type: ignore[operator]
        for key in ("auth_tokens", "encrypted_by"):
            for k, v in getattr(c, key).items():
                tot[key][k] = tot[key].get(k, 0) + v  # type: ignore[index,union-attr]
        tot["operations"] += sum(c.actions.values())  # type: ignore[operator]  # WS-Management messages
    return tot


def test_inventory_has_no_user_and_no_credential(lab):
    _cluster, inv = lab
    defaults = yaml.safe_load(inv.read_text())["defaults"]
    assert defaults["transport"] == "kerberos"
    assert defaults["kerberos_hostname_override"] == "localhost"
    assert "username" not in defaults
    assert "credential" not in defaults


def test_audit_collect_and_discover_over_kerberos(lab, tmp_path):
    cluster, inv = lab
    before = counters(cluster)
    code, out = run("audit", "--inventory", str(inv), "--out", str(tmp_path / "reports"), "-q", "--format", "json")
    assert code == 1, out  # the drift scenario's planted findings; every node audited
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert report["summary"]["nodes_audited"] == 4

    code, out = run("collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"), "--no-progress")
    assert code == 0, out
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert [n["status"] for n in manifest["nodes"]] == ["ok"] * 4

    seed = cluster.node("MGMT1")
    argv = ["discover", "--seed", "127.0.0.1", "--port", str(seed.port), "--scheme", cluster.scheme,
            "--kerberos-hostname-override", "localhost", "--out", str(tmp_path / "proposed.yaml")]
    if cluster.ca_file is not None:
        argv += ["--ca-file", str(cluster.ca_file)]
    code, out = run(*argv)
    assert code == 0, out
    proposed = yaml.safe_load((tmp_path / "proposed.yaml").read_text())
    assert proposed["defaults"]["transport"] == "kerberos"  # chosen because a ticket is there
    assert "username" not in proposed["defaults"]

    after = counters(cluster)
    assert after["auth_tokens"].keys() == {"kerberos"}  # never an NTLM or Basic token
    assert after["shells_open"] == 0
    assert after["commands_run"] - before["commands_run"] >= 9  # audit 4 + collect 4 + discover 1 (+ retries)
    operations = after["operations"] - before["operations"]
    sealed = after["encrypted_requests"] - before["encrypted_requests"]
    if cluster.scheme == "http":
        # every WS-Management message, both ways, sealed with the Kerberos context
        assert sealed == operations
        assert after["encrypted_replies"] - before["encrypted_replies"] == operations
        assert after["encrypted_by"].keys() == {"kerberos"}
    else:
        assert sealed == 0  # TLS protects them; the ticket was bound to the channel (strict CBT)


def test_fix_apply_over_kerberos(lab, tmp_path):
    cluster, inv = lab
    journal = tmp_path / "journal.jsonl"
    code, out = run("fix", "--inventory", str(inv), "--no-progress", "--apply", "--yes", "--remove-stale",
                    "--service-password-env", SERVICE_PASSWORD_ENV, "--journal", str(journal))
    assert code == 0, out
    assert "Every planned change was applied and verified" in out
    code, out = run("fix", "--inventory", str(inv), "--no-progress", "--remove-stale")
    assert code == 0, out
    assert "Nothing to change." in out
    assert counters(cluster)["auth_tokens"].keys() == {"kerberos"}
