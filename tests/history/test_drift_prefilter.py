"""Drift loads only the rows SQLite finds different (auditor.history.changed_rows): the answer
must be exactly the one computed from every row of both runs, whatever the runs hold."""

from __future__ import annotations

import random

import pytest

import auditor.history.drift as drift_module
from auditor.findings import Finding, Severity, Status
from auditor.history import ConfigValue, NodeRecord, RunRecord, compare_runs, connect, record_run

STATUSES = list(Status)
SEVERITIES = list(Severity)
EVIDENCE = [None, "", "x", "y", 1, 1.0, 2, [1, 2], [2, 1], {"a": 1}, {"a": 1.0}, {"b": [None]}]


def _findings(rng: random.Random) -> list[Finding]:
    out = []
    for check in ("A", "B", "C"):
        for i in range(12):
            out.append(Finding(check_id=check, status=rng.choice(STATUSES), severity=rng.choice(SEVERITIES),
                               node=f"N{i % 4}", subject=f"N{i % 4}:{i}", message="m",
                               expected=rng.choice(EVIDENCE), actual=rng.choice(EVIDENCE)))
    # a check that (wrongly) yields a subject twice: drift's "worst one counts" needs every row
    out += [Finding(**{**f.__dict__, "status": rng.choice(STATUSES)}) for f in rng.sample(out, 4)]
    return out


def _mutate(rng: random.Random, findings: list[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        roll = rng.random()
        if roll < 0.08:
            continue  # gone in B
        if roll < 0.2:
            f = Finding(**{**f.__dict__, "status": rng.choice(STATUSES)})
        elif roll < 0.3:
            f = Finding(**{**f.__dict__, "actual": rng.choice(EVIDENCE), "severity": rng.choice(SEVERITIES)})
        elif roll < 0.35:
            out.append(Finding(**{**f.__dict__, "status": rng.choice(STATUSES)}))  # a duplicated key
        out.append(f)
    out += [Finding(check_id="D", status=rng.choice(STATUSES), severity=Severity.HIGH, node="N1",
                    subject=f"N1:new{i}", message="m") for i in range(rng.randint(0, 3))]
    rng.shuffle(out)  # the same findings in another order: duplicates then pick another row
    return out


def _config(rng: random.Random, spelling: str) -> list[ConfigValue]:
    out = []
    for n in range(4):
        node = f"N{n}" if rng.random() < 0.8 else f"n{n}"
        for path in ("C:\\P\\a.conf", "c:/p/A.conf", "C:\\P\\b.properties"):
            if rng.random() < 0.4:
                continue
            for key in ("k1", "k2", "password"):
                out.append(ConfigValue(node, path if spelling == "same" else path.upper(), key,
                                       rng.choice([None, "", "v1", "v2"])))
    return out


def _run(findings, config, nodes) -> RunRecord:
    return RunRecord(findings=findings, nodes=[NodeRecord(n, s) for n, s in nodes], config_values=config,
                     cluster="c")


@pytest.mark.parametrize("seed", range(40))
def test_prefiltered_drift_equals_drift_over_every_row(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    before = _findings(rng)
    nodes_a = [(f"N{i}", "ok") for i in range(4)]
    nodes_b = [(f"N{i}", rng.choice(["ok", "ok", "timeout"])) for i in range(4)]
    db = connect(tmp_path / "h.sqlite")
    a = record_run(db, _run(before, _config(rng, "same"), nodes_a))
    b = record_run(db, _run(_mutate(rng, before), _config(rng, rng.choice(["same", "upper"])), nodes_b))
    fast = compare_runs(db, a, b).to_dict()
    monkeypatch.setattr(drift_module, "fill_changed_finding_keys", lambda db, a, b: None)
    monkeypatch.setattr(drift_module, "changed_config_nodes", lambda db, a, b: None)
    every_row = compare_runs(db, a, b).to_dict()
    db.close()
    assert fast == every_row


def test_identical_runs_load_no_finding_and_no_config_row(tmp_path):
    rng = random.Random(7)
    findings, config = _findings(rng)[:36], _config(rng, "same")  # the first 36: no duplicated key
    db = connect(tmp_path / "h.sqlite")
    a = record_run(db, _run(findings, config, [("N0", "ok")]))
    b = record_run(db, _run(findings, config, [("N0", "ok")]))
    from auditor.history.changed_rows import changed_config_nodes, fill_changed_finding_keys

    table = fill_changed_finding_keys(db, a, b)
    assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert changed_config_nodes(db, a, b) == set()
    db.close()
