"""End to end against the lab: real pywinrm over NTLM+encryption/HTTP and HTTPS with a CA file."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.inventory import load_inventory
from auditor.collect.runner import collect_cluster
from auditor.collect.snapshot import write_snapshot
from auditor.manifest import load_cluster_folder, load_manifest
from auditor.profile import load_profile
from auditor.vocab import NodeStatus
from tests.collect.collect_support import PASSWORD, PASSWORD_ENV, SCENARIOS

pytestmark = pytest.mark.timeout(90)


def run_cli(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def node_data(folder: Path) -> tuple[dict, dict[str, bytes]]:
    """node.json minus when it was collected (collected_at, clock), and every collected file's
    bytes by relative path."""
    facts = json.loads((folder / "node.json").read_text())
    facts.pop("collected_at", None)
    facts.pop("clock", None)
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted((folder / "files").rglob("*"))
             if p.is_file()}
    return facts, files


def assert_same_cluster(a: Path, b: Path, *, scenario: bool = False) -> None:
    """Identical node data. ``scenario``: ``a`` is a hand-built scenario, which declares only the
    probes it cares about; the collected side also has the profile's other probes (answered
    from the node folder), so only the declared ones are compared."""
    ma, mb = load_manifest(a), load_manifest(b)
    fa = {n.name: n.folder for n in ma.nodes}
    fb = {n.name: n.folder for n in mb.nodes}
    assert set(fa) == set(fb)
    for name in fa:
        facts_a, files_a = node_data(a / fa[name])
        facts_b, files_b = node_data(b / fb[name])
        if scenario:
            facts_b["probes"] = {k: v for k, v in facts_b["probes"].items() if k in facts_a["probes"]}
        assert facts_a == facts_b, name
        assert files_a.keys() == files_b.keys(), name
        for rel in files_a:
            assert files_a[rel] == files_b[rel], f"{name}: {rel}"


def every_file_text(*roots: Path) -> list[tuple[Path, bytes]]:
    out = []
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file():
                out.append((p, p.read_bytes()))
    return out


def test_ntlm_http_failures_accounted_and_no_secret_written(lab_cluster, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    cluster, inv = lab_cluster("healthy", scheme="http",
                               faults={"MGMT2": {"refuse": True}, "SITE2": {"wrong_password": True}})
    out = tmp_path / "snap"
    res = run_cli("collect", "--inventory", str(inv), "--out", str(out))
    assert res.exit_code == 3, res.output
    manifest = load_manifest(out)
    assert manifest.kind == "snapshot"
    assert manifest.tool_version
    status = {n.name: (n.status, n.reason) for n in manifest.nodes}
    assert status["MGMT1"][0] is NodeStatus.OK
    assert status["SITE1"][0] is NodeStatus.OK
    assert status["MGMT2"][0] is NodeStatus.REFUSED
    assert status["MGMT2"][1]
    assert status["SITE2"][0] is NodeStatus.AUTH
    assert status["SITE2"][1]
    stats = manifest.to_dict()["extra"]["collection"]["nodes"]
    assert stats["MGMT2"]["attempts"] == 1
    assert stats["SITE2"]["attempts"] == 1  # final kinds: no retry
    assert manifest.to_dict()["extra"]["collection"]["cpu_seconds"] > 0
    assert "of CPU on this host" in res.output
    assert "node(s) at once" in res.output  # how many were in flight, and what bounded it
    assert "MGMT2" in res.output
    assert "refused" in res.output
    assert "collected 2/4" in res.output
    # the snapshot loads for offline audit
    _, nodes = load_cluster_folder(out)
    assert [n.status for n in nodes] == ["ok", "refused", "ok", "auth"]
    # secrets: nothing written, printed or logged contains the password
    captured = capfd.readouterr()
    for path, data in every_file_text(out, inv.parent):
        assert PASSWORD.encode() not in data, path
    for text in (res.output, captured.out, captured.err, repr(manifest), caplog.text):
        assert PASSWORD not in text


def test_https_with_ca_file_matches_scenario(lab_cluster, tmp_path):
    cluster, inv = lab_cluster("healthy", scheme="https")
    assert "ca_file" in inv.read_text()
    out = tmp_path / "snap"
    res = run_cli("collect", "-i", str(inv), "-o", str(out), "--no-progress")
    assert res.exit_code == 0, res.output
    assert_same_cluster(SCENARIOS / "healthy", out, scenario=True)


def test_round_trip_snapshot_served_back(lab_cluster, tmp_path):
    """Collect a scenario, serve the snapshot through the lab, collect again: identical node data."""
    _, inv1 = lab_cluster("drift", scheme="http")
    snap1 = tmp_path / "snap1"
    assert run_cli("collect", "-i", str(inv1), "-o", str(snap1)).exit_code == 0
    _, inv2 = lab_cluster(snap1, scheme="https")
    snap2 = tmp_path / "snap2"
    res = run_cli("collect", "-i", str(inv2), "-o", str(snap2))
    assert res.exit_code == 0, res.output
    assert_same_cluster(snap1, snap2)
    # (scenario -> snapshot is not byte-identical for "drift": its MGMT1 holds a file the profile
    # does not collect, PGSQL-data\postgresql.conf; the healthy scenario is compared in
    # test_https_with_ca_file_matches_scenario.)


@pytest.mark.parametrize("fault", [{"delay_seconds": 3}, {"timeout_faults": 100000}])
def test_timeout_past_deadline(lab_cluster, tmp_path, fault):
    _, inv_path = lab_cluster("healthy", scheme="http", faults={"SITE1": fault})
    inv = load_inventory(inv_path).with_overrides(deadline=2)
    t0 = time.monotonic()
    result = collect_cluster(inv, load_profile(None))
    elapsed = time.monotonic() - t0
    by = {n.name: n for n in result.nodes}
    assert by["SITE1"].status is NodeStatus.TIMEOUT
    assert by["SITE1"].reason
    assert all(by[n].status is NodeStatus.OK for n in ("MGMT1", "MGMT2", "SITE2"))
    assert result.stats_for("SITE1").seconds < 3.5
    assert elapsed < 6


def test_identity_mismatch_is_visible(lab_cluster, tmp_path):
    _, inv_path = lab_cluster("healthy", scheme="http")
    text = inv_path.read_text().replace("name: SITE2,", "name: SITE9,")
    inv_path.write_text(text)
    inv = load_inventory(inv_path)
    result = collect_cluster(inv, load_profile(None))
    node = {n.name: n for n in result.nodes}["SITE9"]
    assert node.status is NodeStatus.PROTOCOL
    assert node.reason.startswith("identity mismatch")
    assert "site2" in node.reason.lower()
    assert node.services  # data kept as evidence
    out = tmp_path / "snap"
    write_snapshot(result, inv, load_profile(None), out)
    assert (out / "site9" / "node.json").is_file()


def test_out_dir_rules(lab_cluster, tmp_path):
    _, inv = lab_cluster("healthy", scheme="http")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    res = run_cli("collect", "-i", str(inv), "-o", str(busy))
    assert res.exit_code == 2
    assert "--force" in res.output
    res = run_cli("collect", "-i", str(inv), "-o", str(busy), "--force")
    assert res.exit_code == 0
    assert (busy / "notes.txt").read_text() == "mine"
    # a previous snapshot is replaced without --force, and stale node folders go away
    (busy / "mgmt1" / "files" / "stale.txt").write_text("old")
    res = run_cli("collect", "-i", str(inv), "-o", str(busy))
    assert res.exit_code == 0
    assert not (busy / "mgmt1" / "files" / "stale.txt").exists()


def test_discover_from_seed(lab_cluster, tmp_path):
    cluster, _ = lab_cluster("healthy", scheme="https")
    seed = cluster.node("MGMT1")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(Path(cluster.ca_file).read_bytes())
    out = tmp_path / "proposed.yaml"
    res = run_cli("discover", "--seed", "127.0.0.1", "--port", str(seed.port), "--username", "auditor",
                  "--credential-env", PASSWORD_ENV, "--ca-file", str(ca), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "10.0.10.12" in res.output
    assert "site servers cannot be learned" in res.output
    text = out.read_text()
    assert PASSWORD not in text
    assert "{env: " + PASSWORD_ENV + "}" in text
    assert "Site servers CANNOT be learned" in text
    inv = load_inventory(out)
    names = {n.name: n for n in inv.nodes}
    assert set(names) == {"MGMT1", "10.0.10.12"}
    assert names["MGMT1"].address == "127.0.0.1"
    assert names["MGMT1"].roles == ("management",)
    assert names["10.0.10.12"].roles == ("management",)
    assert names["MGMT1"].ca_file == ca.resolve()


def test_dropped_connection_is_retried(lab_cluster):
    _, inv_path = lab_cluster("healthy", scheme="http", faults={"SITE1": {"drop_mid_receive": True}})
    result = collect_cluster(load_inventory(inv_path), load_profile(None))
    assert [n.status for n in result.nodes] == ["ok"] * 4
    assert result.stats_for("SITE1").attempts == 2
    assert result.stats_for("MGMT1").attempts == 1


def test_dropped_connection_without_retries_is_reported(lab_cluster):
    _, inv_path = lab_cluster("healthy", scheme="http", faults={"SITE1": {"drop_mid_receive": True}})
    text = inv_path.read_text().replace("  deadline: 60\n", "  deadline: 60\n  retries: 0\n")
    inv_path.write_text(text)
    result = collect_cluster(load_inventory(inv_path), load_profile(None))
    site1 = {n.name: n for n in result.nodes}["SITE1"]
    assert site1.status is NodeStatus.PROTOCOL
    assert "closed unexpectedly" in site1.reason


def test_cli_prompt_credential_and_overrides(lab_cluster, tmp_path):
    _, inv = lab_cluster("healthy", scheme="http")
    inv.write_text(inv.read_text().replace(f"{{env: {PASSWORD_ENV}}}", "{prompt: true}"))
    out = tmp_path / "snap"
    res = run_cli("collect", "-i", str(inv), "-o", str(out), "--concurrency", "2", "--deadline", "30",
                  input=PASSWORD + "\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("Password for auditor") == 1
    assert PASSWORD not in res.output
    assert "collected 4/4" in res.output


def test_forward_slash_paths_are_probed_and_followed_on_the_node(lab_cluster, tmp_path):
    """The vendor's own example ``repository.path = //clusteredstorage/imsrepo`` is probed from
    each Management server over WinRM like ``\\\\clusteredstorage\\imsrepo`` (it used to be
    left unprobed, so IMS-REPO-SHARED was ``error``), and a Spooler Controller whose service
    ImagePath is written with forward slashes still has its files found and collected."""
    scenario = tmp_path / "forward-slashes"
    shutil.copytree(SCENARIOS / "healthy", scenario)
    for folder, reachable in (("mgmt1", True), ("mgmt2", False)):
        props = scenario / folder / "files" / "c" / "DispatcherParagon" / "Management" / "ims" / "application.properties"
        lines = [("repository.path=//clusteredstorage/imsrepo" if ln.startswith("repository.path=") else ln)
                 for ln in props.read_text().splitlines()]
        props.write_text("\n".join(lines) + "\n")
        node = json.loads((scenario / folder / "node.json").read_text())
        node["probes"] = {"\\\\clusteredstorage\\imsrepo": {
            "exists": reachable, "is_dir": reachable, "error": None if reachable else "The network path was not found."}}
        (scenario / folder / "node.json").write_text(json.dumps(node, indent=2))
    site = json.loads((scenario / "site1" / "node.json").read_text())
    spoc = next(s for s in site["services"] if s["name"] == "YSoftSQ-SPOC")
    spoc["image_path"] = '"C:/DispatcherParagon/SPOC/bin/wrapper.exe" -s "C:/DispatcherParagon/SPOC/conf/wrapper.conf"'
    (scenario / "site1" / "node.json").write_text(json.dumps(site, indent=2))
    _, inv = lab_cluster(scenario)
    out = tmp_path / "out"
    res = run_cli("audit", "--inventory", str(inv), "--out", str(out), "-q", "--format", "json", "--no-history")
    assert res.exit_code == 1, res.output
    found = {(f["check_id"], f["node"]): f for f in json.loads((out / "report.json").read_text())["findings"]}
    assert found[("IMS-REPO-SHARED", "MGMT1")]["status"] == "pass"
    assert found[("IMS-REPO-SHARED", "MGMT2")]["status"] == "fail"
    assert "//clusteredstorage/imsrepo is not reachable from the node (The network path was not found.)" \
        in found[("IMS-REPO-SHARED", "MGMT2")]["message"]
    assert found[("SPOC-MGMT-LIST", "SITE1")]["status"] == "pass"
    assert found[("CONFIG-PARSEABLE", "SITE1")]["status"] == "pass"
