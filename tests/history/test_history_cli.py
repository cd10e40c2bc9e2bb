"""history / drift / baseline commands through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from auditor.cli import main


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_history_lists_runs_newest_first(three_runs):
    path, _ = three_runs
    r = run("history", "--history", str(path))
    assert r.exit_code == 0, r.output
    lines = [ln.strip() for ln in r.output.splitlines() if ln.strip()[:1].isdigit()]
    assert [ln.split()[0] for ln in lines] == ["3", "2", "1"]
    assert "2026-11-03T01:02:00Z" in r.output
    assert "PROD" in r.output

    r = run("history", "--history", str(path), "--limit", "2", "--json")
    data = json.loads(r.output)
    assert [x["id"] for x in data["runs"]] == [3, 2]
    assert data["runs"][0]["failing"]["high"] == 2


def test_history_path_from_environment(three_runs):
    path, _ = three_runs
    r = run("history", "--json", env={"PARAGON_AUDITOR_HISTORY": str(path)})
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["runs"]) == 3


def test_drift_default_explicit_and_json(three_runs):
    path, _ = three_runs
    r = run("drift", "--history", str(path))
    assert r.exit_code == 0, r.output
    assert "Drift from run 2 (previous run)" in r.output
    assert "cmlPort" in r.output
    assert "8080" in r.output
    assert "8081" in r.output
    assert "Changed findings (1)" in r.output
    assert "New failing" not in r.output

    r = run("drift", "1", "2", "--history", str(path), "--json")
    data = json.loads(r.output)
    assert (data["baseline_run"], data["run"]) == (1, 2)
    assert [(f["check_id"], f["subject"]) for f in data["new"]] == [("SERVICE-RUNNING", "MGMT1:YSoftSQ-LDAP")]
    assert [(f["check_id"], f["now_status"]) for f in data["resolved"]] == [("SPOC-MGMT-LIST", "pass")]
    assert data["changed"] == []
    assert data["config_changes"] == []
    assert data["nodes"] == []

    r = run("drift", "2", "--history", str(path), "--fail-on-new")
    assert r.exit_code == 1
    assert "New failing findings (1)" in r.output
    r = run("drift", "--history", str(path), "--fail-on-new")
    assert r.exit_code == 0


def test_baseline_set_show_clear_changes_drift(three_runs):
    path, _ = three_runs
    h = ["--history", str(path)]
    r = run("baseline", "show", *h)
    assert r.exit_code == 0
    assert "no baseline pinned" in r.output

    r = run("baseline", "set", "1", "--note", "after CHG0042", *h)
    assert r.exit_code == 0
    assert "pinned to run 1" in r.output
    r = run("baseline", "show", "--json", *h)
    pins = json.loads(r.output)["baselines"]
    assert [(p["cluster"], p["run_id"], p["note"]) for p in pins] == [("PROD", 1, "after CHG0042")]

    r = run("drift", "--json", *h)
    data = json.loads(r.output)
    assert (data["baseline_run"], data["baseline_kind"], data["run"]) == (1, "pinned", 3)
    assert len(data["new"]) == 1
    assert len(data["resolved"]) == 1
    assert len(data["changed"]) == 1
    assert "1*" in run("history", *h).output  # the pin is marked in the list

    r = run("baseline", "clear", *h)
    assert r.exit_code == 0
    assert "cleared 1" in r.output
    assert json.loads(run("drift", "--json", *h).output)["baseline_run"] == 2


def test_unknown_run_and_missing_history_exit_2(three_runs, tmp_path):
    path, _ = three_runs
    h = ["--history", str(path)]
    for args in (["drift", "1", "99"], ["drift", "99"], ["baseline", "set", "42"], ["drift", "x", "1"]):
        r = run(*args, *h)
        assert r.exit_code == 2, (args, r.output)
        assert "error:" in r.output
        assert "unknown run id" in r.output
        assert "Traceback" not in r.output

    r = run("drift", "1", *h)
    assert r.exit_code == 2
    assert "first run" in r.output

    missing = tmp_path / "nope.sqlite"
    r = run("history", "--history", str(missing))
    assert r.exit_code == 2
    assert "no history database" in r.output
    assert not missing.exists()
    r = run("baseline", "clear", "--cluster", "NOPE", *h)
    assert r.exit_code == 2


def test_drift_with_run_keywords(three_runs):
    path, _ = three_runs
    r = run("drift", "previous", "latest", "--history", str(path), "--json")
    data = json.loads(r.output)
    assert (data["baseline_run"], data["run"]) == (2, 3)


def test_drift_baseline_goes_from_the_pinned_run_to_the_latest_or_the_given_run(three_runs):
    path, _ = three_runs
    h = ["--history", str(path)]
    run("baseline", "set", "1", *h)
    data = json.loads(run("drift", "--baseline", "--json", *h).output)
    assert data["baseline_run"] == 1
    assert data["run"] == 3
    assert json.loads(run("drift", "--baseline", "2", "--json", *h).output)["run"] == 2


def test_drift_baseline_without_a_pin_is_an_input_error(three_runs):
    path, _ = three_runs
    r = CliRunner().invoke(main, ["drift", "--baseline", "--history", str(path)])
    assert r.exit_code == 2
    assert "no baseline is pinned" in r.output
