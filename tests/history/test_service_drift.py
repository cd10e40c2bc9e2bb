"""A service's log-on account, start mode and state are configuration: drift shows their changes
like any other configuration value (``service <name>``, keys StartName/StartMode/State)."""

from __future__ import annotations

from auditor.nodestate import NodeState, Service
from tests.history.hist_data import config_drift


def node(**ims) -> NodeState:
    svc = {"name": "YSoftIms", "state": "Running", "start_mode": "Auto", "account": "CORP\\svc-paragon", **ims}
    return NodeState(name="MGMT2", services=[Service(**svc), Service(name="YSoftSQ-SPOC", state="Running")])


drift = config_drift


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
