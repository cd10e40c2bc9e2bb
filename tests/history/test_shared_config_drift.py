"""Changes of the configuration Management servers share show in drift like any other
configuration change: a key of Management\\ims\\application.properties, and the database settings
the Management etcd holds (pseudo-file ``etcd``)."""

from __future__ import annotations

import copy
from pathlib import Path

from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, NodeState, path_key
from tests.history.hist_data import config_drift

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
MGMT_IMS = "C:\\DispatcherParagon\\Management\\ims\\application.properties"


def mgmt2() -> NodeState:
    return next(n for n in load_cluster_folder(SCENARIOS / "tie")[1] if n.name == "MGMT2")


drift = config_drift


def test_a_shared_key_change_is_drift(tmp_path):
    before = mgmt2()
    after = copy.deepcopy(before)
    entry = after.file(MGMT_IMS)
    after.files[path_key(MGMT_IMS)] = FileEntry(path=entry.path, mtime=entry.mtime,
                                                content=entry.content.replace(b"server.port=8080", b"server.port=5111"))
    assert drift(before, after, tmp_path) == {("MGMT2", entry.path, "server.port", "8080", "5111")}


def test_a_database_setting_changed_in_etcd_is_drift(tmp_path):
    before = mgmt2()
    after = copy.deepcopy(before)
    after.etcd.values["dbHost"] = "sql01.corp.example"
    assert drift(before, after, tmp_path) == {("MGMT2", "etcd", "dbHost", "sql02.corp.example", "sql01.corp.example")}


def test_an_unchanged_etcd_is_no_drift(tmp_path):
    assert drift(mgmt2(), mgmt2(), tmp_path) == set()
