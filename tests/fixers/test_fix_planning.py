"""Fix planning on scenario copies: what each fixer would change, byte for byte, touching nothing."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.collect.credentials import EnvRef
from auditor.errors import InputError
from auditor.fixers import FixOptions, build_plan
from auditor.fixers.plan import RESTART, SET_ACCOUNT, FixPlan
from auditor.lab.scenario_builder import NodeSpec, mgmt_specs, write_cluster
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, NodeState, Service, path_key
from auditor.profile import load_profile

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
SITE1_SPOC = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
SITE2_SPOC = "D:\\SafeQ6\\SPOC\\conf\\modules\\spoc.conf"
SITE2_IMS = "D:\\SafeQ6\\SPOC\\ims\\application.properties"
MGMT_IMS = "C:\\DispatcherParagon\\Management\\ims\\application.properties"
MGMT2_GUID = "6f1c2a02-3b7e-4c1d-9a55-000000000002"


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def load(name: str) -> list[NodeState]:
    return load_cluster_folder(SCENARIOS / name)[1]


def node(nodes: list[NodeState], name: str) -> NodeState:
    return next(n for n in nodes if n.name == name)


def set_file(state: NodeState, path: str, content: bytes) -> None:
    state.files[path_key(path)] = FileEntry(path=path, content=content, mtime="2026-10-01T08:00:00Z")


def plan_for(states: list[NodeState], profile, only: set[str] | None = None, **opts) -> tuple[Cluster, FixPlan]:
    cluster = Cluster.build(states, profile)
    findings = run_checks(cluster, only=only)
    return cluster, build_plan(cluster, findings, FixOptions(**opts))


def applied(nodes: list[NodeState], plan: FixPlan) -> list[NodeState]:
    """The cluster as it would be after the plan: new file bytes, new service accounts."""
    out = copy.deepcopy(nodes)
    for np in plan.nodes:
        st = node(out, np.node)
        for e in np.edits:
            set_file(st, e.path, e.new)
        for a in np.actions:
            if a.kind == SET_ACCOUNT:
                st.service(a.service).account = a.account
    return out


def edit(plan: FixPlan, node_name: str, path: str):
    np = plan.node(node_name)
    assert np is not None, f"no plan for {node_name}"
    return next(e for e in np.edits if e.path.lower() == path.lower())


# ---- the drift scenario -------------------------------------------------------------------


def test_drift_plan_fixes_everything_fixable_and_advises_on_db(profile):
    nodes = load("drift")
    before = copy.deepcopy(nodes)
    cluster, plan = plan_for(nodes, profile, remove_stale=True)
    assert [n.node for n in plan.nodes if not n.empty] == ["MGMT2", "SITE1", "SITE2"]
    assert not plan.blocked
    assert [(a.check_id, a.nodes) for a in plan.advice] == [("DB-EXTERNAL", ["MGMT1", "MGMT2"])]
    assert "external" in plan.advice[0].text
    assert plan.advice[0].references
    # planning touched nothing
    assert [n.files for n in nodes] == [n.files for n in before]
    # every fixable failure is gone once the plan is in place
    after = applied(nodes, plan)
    left = [f for f in run_checks(Cluster.build(after, profile)) if f.failing]
    assert sorted({f.check_id for f in left}) == ["DB-EXTERNAL"]
    # a second plan finds nothing to do
    _, again = plan_for(after, profile, remove_stale=True)
    assert not again.has_changes
    assert not again.blocked


def test_missing_server_appended_with_next_suffix_as_three_lines(profile):
    _, plan = plan_for(load("drift"), profile, only={"SPOC-MGMT-LIST"})
    e = edit(plan, "SITE2", SITE2_SPOC)
    old_lines = e.old.split(b"\r\n")
    new_lines = e.new.split(b"\r\n")
    added = [ln for ln in new_lines if ln not in old_lines]
    assert added == [f"serverGUID2={MGMT2_GUID}".encode(), b"serverIP2=10.0.10.12", b"serverPORT2=6010"]
    assert new_lines.index(added[0]) == old_lines.index(b"serverPORT=6010") + 1
    assert e.restart == "YSoftSQ-SPOC"
    assert [(a.kind, a.service) for a in plan.node("SITE2").actions] == [(RESTART, "YSoftSQ-SPOC")]
    assert f"+serverGUID2={MGMT2_GUID}" in e.diff


def test_stale_entry_kept_without_remove_stale(profile):
    _, plan = plan_for(load("drift"), profile, only={"SPOC-MGMT-LIST"})
    site1 = plan.node("SITE1")
    assert site1 is None or site1.empty
    assert [(b.check_id, b.nodes) for b in plan.blocked] == [("SPOC-MGMT-LIST", ["SITE1"])]
    assert "--remove-stale" in plan.blocked[0].reason


def test_stale_in_the_middle_removed_and_renumbered_without_gap(profile):
    nodes = load("drift")
    text = (
        "# SPOC\r\nlocalGUID=spoc-site1\r\n\r\n"
        "; first\r\nserverGUID=6f1c2a01-3b7e-4c1d-9a55-000000000001\r\nserverIP=10.0.10.11\r\nserverPORT=6010\r\n"
        "serverGUID2=dead-beef\r\nserverIP2=10.0.10.99\r\nserverPORT2=6010\r\n"
        f"# the new one\r\nserverGUID3={MGMT2_GUID}\r\nserverIP3=10.0.10.12\r\nserverPORT3=6010\r\n"
        "spoolCacheDir=SpoolCache\r\n"
    )
    set_file(node(nodes, "SITE1"), SITE1_SPOC, text.encode())
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"}, remove_stale=True)
    new = edit(plan, "SITE1", SITE1_SPOC).new.decode()
    assert new == (
        "# SPOC\r\nlocalGUID=spoc-site1\r\n\r\n"
        "; first\r\nserverGUID=6f1c2a01-3b7e-4c1d-9a55-000000000001\r\nserverIP=10.0.10.11\r\nserverPORT=6010\r\n"
        f"# the new one\r\nserverGUID2={MGMT2_GUID}\r\nserverIP2=10.0.10.12\r\nserverPORT2=6010\r\n"
        "spoolCacheDir=SpoolCache\r\n"
    )


def test_wrong_ip_and_port_corrected_in_place(profile):
    nodes = load("healthy")
    st = node(nodes, "SITE1")
    old = st.file(SITE1_SPOC).content
    set_file(st, SITE1_SPOC, old.replace(b"serverIP2=10.0.10.12", b"serverIP2=10.0.10.77")
             .replace(b"serverPORT2=6010", b"serverPORT2 = 6011"))
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    assert edit(plan, "SITE1", SITE1_SPOC).new == old.replace(b"serverPORT2=6010", b"serverPORT2 = 6010")


def test_utf16_bom_crlf_file_round_trips_with_only_the_new_lines(profile):
    nodes = load("drift")
    st = node(nodes, "SITE2")
    text = st.file(SITE2_SPOC).content.decode("utf-8")
    utf16 = b"\xff\xfe" + text.encode("utf-16-le")
    set_file(st, SITE2_SPOC, utf16)
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    e = edit(plan, "SITE2", SITE2_SPOC)
    assert e.new.startswith(b"\xff\xfe")
    new_text = e.new[2:].decode("utf-16-le")
    assert "\n" not in new_text.replace("\r\n", "")  # CRLF only
    assert [ln for ln in new_text.split("\r\n") if ln not in text.split("\r\n")] == [
        f"serverGUID2={MGMT2_GUID}", "serverIP2=10.0.10.12", "serverPORT2=6010"]
    assert "UTF-16 LE with BOM" in e.diff
    assert "CRLF" in e.diff
    # comments and order untouched
    assert new_text.startswith("# Spooler Controller module configuration\r\n# Management servers")


def test_lf_file_keeps_lf(profile):
    nodes = load("drift")
    st = node(nodes, "SITE2")
    set_file(st, SITE2_SPOC, st.file(SITE2_SPOC).content.replace(b"\r\n", b"\n"))
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    assert b"\r" not in edit(plan, "SITE2", SITE2_SPOC).new


# ---- SPOC-IMS-ADDRESSES -----------------------------------------------------------------------


def test_ims_addresses_copy_the_existing_format(profile):
    nodes = load("drift")
    st = node(nodes, "SITE2")
    set_file(st, SITE2_IMS, b"# proxy\r\ninfrastructureServiceAddresses = https://mgmt1.corp.example:8443/ims\r\n"
                            b"proxy.cacheSeconds=60\r\n")
    _, plan = plan_for(nodes, profile, only={"SPOC-IMS-ADDRESSES"})
    e = edit(plan, "SITE2", SITE2_IMS)
    assert e.new == (b"# proxy\r\ninfrastructureServiceAddresses = https://mgmt1.corp.example:8443/ims,"
                     b"https://mgmt2.corp.example:8443/ims\r\nproxy.cacheSeconds=60\r\n")
    assert e.restart == "YSoftImsProxy"


def test_ims_addresses_keep_separator_and_stale_needs_flag(profile):
    nodes = load("healthy")
    st = node(nodes, "SITE1")
    path = "C:\\DispatcherParagon\\SPOC\\ims\\application.properties"
    set_file(st, path, b"infrastructureServiceAddresses=10.0.10.11:8443; 10.0.10.99:8443\n")
    _, plan = plan_for(nodes, profile, only={"SPOC-IMS-ADDRESSES"})
    assert edit(plan, "SITE1", path).new == \
        b"infrastructureServiceAddresses=10.0.10.11:8443; 10.0.10.99:8443; 10.0.10.12:8443\n"
    assert "10.0.10.99" in plan.blocked[0].reason
    assert plan.node("SITE1").partial
    _, plan = plan_for(nodes, profile, only={"SPOC-IMS-ADDRESSES"}, remove_stale=True)
    assert edit(plan, "SITE1", path).new == b"infrastructureServiceAddresses=10.0.10.11:8443; 10.0.10.12:8443\n"


# ---- IMS-REPO-SHARED --------------------------------------------------------------------------


def three_mgmt(tmp_path: Path, repos: list[str], accounts: list[str] | None = None) -> list[NodeState]:
    mgmts = mgmt_specs(3)
    specs = [NodeSpec(name=m.name, ip=m.ip, roles=["management"], mgmt_guid=m.guid,
                      spoc_guid=f"spoc-{m.name.lower()}", repository_path=repos[i],
                      ims_account=(accounts or ["CORP\\svc-paragon"] * 3)[i])
             for i, m in enumerate(mgmts)]
    write_cluster(tmp_path / "c", "three", "3 mgmt", mgmts, specs)
    return load_cluster_folder(tmp_path / "c")[1]


def test_repository_majority_unc_written_escaped(profile, tmp_path):
    nodes = three_mgmt(tmp_path, ["\\\\fs01\\paragon\\repo", "\\\\FS01\\paragon\\repo\\", "\\\\fs02\\other"])
    _, plan = plan_for(nodes, profile, only={"IMS-REPO-SHARED"})
    assert [n.node for n in plan.nodes] == ["MGMT3"]
    e = plan.nodes[0].edits[0]
    assert b"repository.path=\\\\\\\\fs01\\\\paragon\\\\repo\r\n" in e.new
    assert e.restart == "YSoftIms"
    assert e.new.replace(b"\\\\\\\\fs01\\\\paragon\\\\repo", b"\\\\\\\\fs02\\\\other") == e.old


def test_repository_without_majority_is_blocked_unless_given(profile, tmp_path):
    nodes = three_mgmt(tmp_path, ["\\\\fs01\\a", "\\\\fs02\\b", "C:\\local"])
    _, plan = plan_for(nodes, profile, only={"IMS-REPO-SHARED"})
    assert not plan.has_changes
    assert plan.blocked
    assert "--repository-path" in plan.blocked[0].reason
    _, plan = plan_for(nodes, profile, only={"IMS-REPO-SHARED"}, repository_path="\\\\fs09\\new share\\r")
    assert [n.node for n in plan.nodes] == ["MGMT1", "MGMT2", "MGMT3"]
    assert b"repository.path=\\\\\\\\fs09\\\\new share\\\\r" in plan.nodes[0].edits[0].new
    with pytest.raises(InputError):
        plan_for(nodes, profile, only={"IMS-REPO-SHARED"}, repository_path="D:\\repo")


def test_no_unc_at_all_is_blocked(profile, tmp_path):
    nodes = three_mgmt(tmp_path, ["C:\\a", "C:\\a", "C:\\a"])
    _, plan = plan_for(nodes, profile, only={"IMS-REPO-SHARED"})
    assert not plan.has_changes
    assert "no node has a repository.path that can work" in plan.blocked[0].reason


def test_repository_written_with_single_backslashes_is_rewritten_as_java_reads_it(profile, tmp_path):
    """Every admin wrote \\\\fs01\\imsrepo plainly (Java reads \\fs01imsrepo): no node has a UNC
    value as read, yet the path they mean is clear; the fix writes it escaped, and after the fix
    the service reads exactly that path."""
    mgmts = mgmt_specs(3)
    specs = [NodeSpec(name=m.name, ip=m.ip, roles=["management"], mgmt_guid=m.guid, spoc_guid=f"spoc-{m.name}",
                      repository_path="\\\\fs01\\imsrepo", repository_escaped=False)
             for m in mgmts]
    write_cluster(tmp_path / "c", "misread", "3 mgmt", mgmts, specs)
    nodes = load_cluster_folder(tmp_path / "c")[1]
    _, plan = plan_for(nodes, profile, only={"IMS-REPO-SHARED"})
    assert [n.node for n in plan.nodes] == ["MGMT1", "MGMT2", "MGMT3"]
    e = edit(plan, "MGMT2", MGMT_IMS)
    assert b"repository.path=\\\\\\\\fs01\\\\imsrepo\r\n" in e.new
    assert e.old.replace(b"repository.path=\\\\fs01\\imsrepo", b"repository.path=\\\\\\\\fs01\\\\imsrepo") == e.new
    after = Cluster.build(applied(nodes, plan), profile)
    assert {n.name: n.management.repository_path for n in after.management_nodes} == \
        {"MGMT1": "\\\\fs01\\imsrepo", "MGMT2": "\\\\fs01\\imsrepo", "MGMT3": "\\\\fs01\\imsrepo"}


# ---- IMS-SERVICE-ACCOUNT ----------------------------------------------------------------------


def test_service_account_from_majority_with_password_reference_only(profile):
    _, plan = plan_for(load("drift"), profile, only={"IMS-SERVICE-ACCOUNT"},
                       password_ref=EnvRef("IMS_PW"))
    np = plan.node("MGMT2")
    assert [(a.kind, a.service) for a in np.actions] == [(SET_ACCOUNT, "YSoftIms"), (RESTART, "YSoftIms")]
    a = np.actions[0]
    assert a.account == "CORP\\svc-paragon"
    assert a.previous_account == "LocalSystem"
    assert a.password_ref == "environment variable IMS_PW"
    assert "IMS_PW" in str(plan.to_dict())


def test_service_account_blocked_without_reference_and_gmsa_needs_no_password(profile, tmp_path):
    nodes = three_mgmt(tmp_path, ["\\\\fs\\r"] * 3, ["LocalSystem", "NT AUTHORITY\\NetworkService", "LocalSystem"])
    _, plan = plan_for(nodes, profile, only={"IMS-SERVICE-ACCOUNT"})
    assert not plan.has_changes
    assert "--service-account" in plan.blocked[0].reason
    _, plan = plan_for(nodes, profile, only={"IMS-SERVICE-ACCOUNT"}, service_account="CORP\\gmsa-ims$")
    assert len(plan.nodes) == 3
    assert all(n.actions[0].password_ref is None for n in plan.nodes)


def test_node_filter_limits_changes_not_knowledge(profile):
    _, plan = plan_for(load("drift"), profile, remove_stale=True, nodes=["site2"])
    assert [n.node for n in plan.nodes] == ["SITE2"]
    assert any(f"serverGUID2={MGMT2_GUID}".encode() in e.new for e in plan.nodes[0].edits)


def test_unreadable_spoc_conf_is_blocked_not_guessed(profile):
    nodes = load("drift")
    set_file(node(nodes, "SITE2"), SITE2_SPOC, b"serverGUID=x\r\nthis is not key value\r\n")
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    assert plan.node("SITE2") is None or plan.node("SITE2").empty
    assert any(b.nodes == ["SITE2"] for b in plan.blocked)


def test_missing_service_blocks(profile):
    nodes = load("drift")
    st = node(nodes, "SITE2")
    st.services = [s for s in st.services if s.name != "YSoftSQ-SPOC"] + [
        Service(name="Other", state="Running")]
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    assert any("SITE2" in b.nodes for b in plan.blocked)


def test_loopback_inventory_address_is_never_written(profile):
    nodes = load("drift")
    for st in nodes:
        st.address = "127.0.0.1"  # as in the lab, or through a tunnel
    _, plan = plan_for(nodes, profile, remove_stale=True)
    new = b"".join(e.new for n in plan.nodes for e in n.edits)
    assert b"127.0.0.1" not in new
    assert b"serverIP2=10.0.10.12" in new
    assert b"10.0.10.12:8443" in new


# ---- the command offline (--from) -----------------------------------------------------------


def _fix_cli(*args: str):
    from click.testing import CliRunner

    from auditor.cli import main

    return CliRunner().invoke(main, ["fix", *args], catch_exceptions=False)


def test_cli_from_snapshot_plans_and_exits_1_then_0_for_healthy():
    res = _fix_cli("--from", str(SCENARIOS / "drift"), "--remove-stale")
    assert res.exit_code == 1, res.output
    assert "+serverGUID2=6f1c2a02" in res.output
    assert "DB-EXTERNAL" in res.output
    res = _fix_cli("--from", str(SCENARIOS / "healthy"))
    assert res.exit_code == 0
    assert "Nothing to change." in res.output


def test_cli_refuses_apply_from_snapshot_and_password_on_command_line():
    res = _fix_cli("--from", str(SCENARIOS / "drift"), "--apply", "--yes")
    assert res.exit_code == 2
    assert "--from" in res.output
    res = _fix_cli("--from", str(SCENARIOS / "drift"), "--service-password-env", "hunter2!")
    assert res.exit_code == 2
    assert "NAME of an environment variable" in res.output
    res = _fix_cli("--from", str(SCENARIOS / "drift"), "--check", "NOPE")
    assert res.exit_code == 2


def test_cli_waived_failure_is_left_alone(tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - check: SPOC-MGMT-LIST\n    node: SITE1\n    reason: CHG1\n"
                       "    owner: print-team\n    expires: 2999-12-31\n")
    res = _fix_cli("--from", str(SCENARIOS / "drift"), "--remove-stale", "--waivers", str(waivers))
    assert res.exit_code == 1
    assert "SITE1  [" not in res.output
    assert "SPOC-MGMT-LIST on SITE1 is waived (owner print-team" in res.output


def test_failure_the_fixer_cannot_change_is_reported_not_dropped(profile):
    nodes = load("healthy")
    share = "\\\\fs01.corp.example\\paragon\\ims-repository"
    node(nodes, "MGMT2").probes[path_key(share)].exists = False  # right path, share unreachable
    _, plan = plan_for(nodes, profile, only={"IMS-REPO-SHARED"})
    assert not plan.has_changes
    assert [(b.check_id, b.nodes) for b in plan.blocked] == [("IMS-REPO-SHARED", ["MGMT2"])]
    assert "not reachable" in plan.blocked[0].reason


def test_cli_plan_json_is_versioned_and_carries_no_file_content(tmp_path):
    import json

    out = tmp_path / "plan.json"
    res = _fix_cli("--from", str(SCENARIOS / "drift"), "--remove-stale", "--plan-json", str(out))
    assert res.exit_code == 1
    doc = json.loads(out.read_text())
    assert doc["format"] == "paragon-auditor-fix-plan"
    assert doc["version"] == 1
    assert doc["cluster"] == "drift"
    assert [n["node"] for n in doc["nodes"]] == ["MGMT2", "SITE1", "SITE2"]
    edit = doc["nodes"][2]["edits"][1]
    assert edit["old_sha256"] != edit["new_sha256"]
    assert "+serverGUID2=" in edit["diff"]
    assert set(edit) == {"node", "path", "check_id", "reason", "old_sha256", "new_sha256", "restart", "diff"}
    assert doc["advice"][0]["check_id"] == "DB-EXTERNAL"


def test_duplicate_and_odd_suffix_server_keys_made_canonical(profile):
    nodes = load("healthy")
    st = node(nodes, "SITE1")
    text = (
        "serverGUID=6f1c2a01-3b7e-4c1d-9a55-000000000001\r\nserverIP=10.0.10.11\r\nserverPORT=6010\r\n"
        "serverGUID02=6f1c2a02-3b7e-4c1d-9a55-000000000002\r\nserverIP02=10.0.10.12\r\nserverPORT02=6010\r\n"
        "serverIP=10.0.10.11\r\n"
    )
    set_file(st, SITE1_SPOC, text.encode())
    cluster, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    new = edit(plan, "SITE1", SITE1_SPOC).new.decode()
    assert new.count("serverIP=") == 1
    assert "serverGUID2=" in new
    assert "02=" not in new
    after = applied(nodes, plan)
    assert not [f for f in run_checks(Cluster.build(after, profile), only={"SPOC-MGMT-LIST"}) if f.failing]


def test_ims_addresses_without_any_template_are_blocked(profile):
    nodes = load("drift")
    for st in nodes:
        for f in list(st.files.values()):
            if f.path.lower().endswith("spoc\\ims\\application.properties"):
                set_file(st, f.path, b"proxy.cacheSeconds=60\r\n")
    _, plan = plan_for(nodes, profile, only={"SPOC-IMS-ADDRESSES"})
    assert not plan.has_changes
    assert plan.blocked
    assert all("format" in b.reason for b in plan.blocked)


def test_duplicate_management_guid_blocks_the_list_fix(profile):
    nodes = load("drift")
    mg2 = node(nodes, "MGMT2")
    path = "C:\\DispatcherParagon\\Management\\conf\\management.properties"
    set_file(mg2, path, mg2.file(path).content.replace(MGMT2_GUID.encode(),
                                                       b"6f1c2a01-3b7e-4c1d-9a55-000000000001"))
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    assert not plan.has_changes
    assert any("share a GUID" in b.reason for b in plan.blocked), [b.reason for b in plan.blocked]


def test_wrong_guid_on_a_current_servers_address_is_corrected_in_place(profile):
    nodes = load("healthy")
    st = node(nodes, "SITE1")
    old = st.file(SITE1_SPOC).content
    set_file(st, SITE1_SPOC, old.replace(f"serverGUID2={MGMT2_GUID}".encode(), b"serverGUID2=reinstalled-old"))
    _, plan = plan_for(nodes, profile, only={"SPOC-MGMT-LIST"})
    assert edit(plan, "SITE1", SITE1_SPOC).new == old
    assert not plan.blocked


def test_explicit_values_are_enforced_even_without_failures(profile):
    _, plan = plan_for(load("healthy"), profile, service_account="CORP\\svc-new",
                       password_ref=EnvRef("X"))
    assert [n.node for n in plan.nodes] == ["MGMT1", "MGMT2"]
    assert all(n.actions[0].account == "CORP\\svc-new" for n in plan.nodes)
    # ... but only when that check is selected
    _, plan = plan_for(load("healthy"), profile, only={"SPOC-MGMT-LIST"}, service_account="CORP\\svc-new")
    assert not plan.has_changes
