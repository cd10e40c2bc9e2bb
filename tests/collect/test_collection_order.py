"""The slowest nodes of the previous run are started first (auditor.collect.order), and
`auditor audit` with history feeds last night's times to the next live collection."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.order import collection_order
from auditor.lab.scenario_builder import build_healthy
from auditor.remote import execute as REAL_EXECUTE

PASSWORD_ENV = "ORDER_TEST_LAB_PASSWORD"
PASSWORD = "Order-Test-pw-7"


def test_without_previous_times_the_inventory_order_is_kept():
    assert collection_order(["A", "B", "C"], {}) == [0, 1, 2]


def test_slowest_first():
    assert collection_order(["A", "B", "C"], {"a": 1.0, "b": 9.0, "c": 3.0}) == [1, 2, 0]


def test_a_node_not_timed_before_goes_first_nothing_says_it_is_fast():
    assert collection_order(["A", "NEW", "C"], {"a": 1.0, "c": 3.0}) == [1, 2, 0]


def test_equal_times_keep_the_inventory_order():
    assert collection_order(["A", "B", "C"], {"a": 2.0, "b": 2.0, "c": 2.0}) == [0, 1, 2]


def test_names_match_whatever_their_case():
    assert collection_order(["site1", "SITE2"], {"SITE1".lower(): 1.0, "site2": 5.0}) == [1, 0]


@pytest.fixture
def slow_last_lab(tmp_path, monkeypatch):
    """2 Management + 3 Site servers; SITE3, last in the inventory, takes 1.5 s to answer.
    One node at a time, so the order the nodes are started in is the order they are asked."""
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    build_healthy(tmp_path / "scenario", sites=3)
    with LabCluster(tmp_path / "scenario", handler_factory=make_handler, scheme="http", auth="ntlm",
                    password=PASSWORD, workdir=tmp_path / "lab", faults={"SITE3": {"exec_seconds": 1.5}}) as lab:
        yield lab.write_inventory(tmp_path / "inventory.yaml", password_env=PASSWORD_ENV, concurrency=1)


def _audit(inventory, tmp_path, out: str, *history: str, monkeypatch) -> list[str]:
    """Run `auditor audit` in-process over the lab; the node names in the order the real
    transport was asked to collect them."""
    import auditor.remote

    asked: list[str] = []

    def recording(target, request, secrets=None):
        asked.append(target.name)
        return REAL_EXECUTE(target, request, secrets)

    monkeypatch.setattr(auditor.remote, "execute", recording)
    result = CliRunner().invoke(main, ["audit", "--inventory", str(inventory), "--out", str(tmp_path / out),
                                       "--format", "json", "--quiet", "--no-progress", *history])
    assert result.exit_code == 0, result.output
    return asked


def test_second_audit_starts_last_nights_slowest_node_first(slow_last_lab, tmp_path, monkeypatch):
    history = ["--history", str(tmp_path / "history.sqlite")]
    first = _audit(slow_last_lab, tmp_path, "r1", *history, monkeypatch=monkeypatch)
    second = _audit(slow_last_lab, tmp_path, "r2", *history, monkeypatch=monkeypatch)
    assert first[-1] == "SITE3"  # nothing known yet: inventory order
    assert second[0] == "SITE3"
    assert sorted(second) == sorted(first)  # every node once, whatever the order


def test_live_audit_records_each_nodes_seconds(slow_last_lab, tmp_path, monkeypatch):
    _audit(slow_last_lab, tmp_path, "r1", "--history", str(tmp_path / "history.sqlite"), monkeypatch=monkeypatch)
    db = sqlite3.connect(tmp_path / "history.sqlite")
    try:
        seconds = dict(db.execute("SELECT name, seconds FROM run_nodes"))
    finally:
        db.close()
    assert seconds["SITE3"] >= 1.5
    assert max(seconds, key=seconds.__getitem__) == "SITE3"


def test_without_history_the_inventory_order_is_kept(slow_last_lab, tmp_path, monkeypatch):
    history = ["--history", str(tmp_path / "history.sqlite")]
    _audit(slow_last_lab, tmp_path, "r1", *history, monkeypatch=monkeypatch)
    asked = _audit(slow_last_lab, tmp_path, "r2", "--no-history", monkeypatch=monkeypatch)
    assert asked[-1] == "SITE3"
