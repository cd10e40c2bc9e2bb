"""A service's log-on account, start mode and state are configuration: drift shows their changes
like any other configuration value (``service <name>``, keys StartName/StartMode/State)."""

from __future__ import annotations

from auditor.history import NodeRecord, RunRecord, compare_runs, connect, record_run
from auditor.history.config_values import config_values_from_nodes
from auditor.nodestate import NodeState, Service


def node(**ims) -> NodeState:
    svc = {"name": "YSoftIms", "state": "Running", "start_mode": "Auto", "account": "CORP\\svc-paragon", **ims}
    return NodeState(name="MGMT2", services=[Service(**svc), Service(name="YSoftSQ-SPOC", state="Running")])


def drift(before: NodeState, after: NodeState, tmp_path) -> set[tuple]:
    db = connect(tmp_path / "h.sqlite")
    ids = [record_run(db, RunRecord(findings=[], nodes=[NodeRecord("MGMT2", "ok")], cluster="c",
                                    config_values=config_values_from_nodes([n]))) for n in (before, after)]
    changes = compare_runs(db, *ids).config_changes
    db.close()
    return {(c.node, c.file, c.key, c.before, c.after) for c in changes}


def test_log_on_account_change(tmp_path):
    assert drift(node(), node(account="NT SERVICE\\YSoftIms"), tmp_path) == {
        ("MGMT2", "service YSoftIms", "StartName", "CORP\\svc-paragon", "NT SERVICE\\YSoftIms")}


def test_start_mode_change(tmp_path):
    assert drift(node(), node(start_mode="Disabled"), tmp_path) == {
        ("MGMT2", "service YSoftIms", "StartMode", "Auto", "Disabled")}


def test_state_change(tmp_path):
    assert drift(node(), node(state="Stopped"), tmp_path) == {
        ("MGMT2", "service YSoftIms", "State", "Running", "Stopped")}


def test_unchanged_services_are_no_drift(tmp_path):
    assert drift(node(), node(), tmp_path) == set()


def test_a_removed_service_shows_its_keys_removed(tmp_path):
    gone = node()
    gone.services = gone.services[1:]
    assert {(k, after) for _n, _f, k, _b, after in drift(node(), gone, tmp_path)} == {
        ("StartName", None), ("StartMode", None), ("State", None)}
