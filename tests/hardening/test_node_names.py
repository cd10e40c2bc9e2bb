"""Node names a person can tell apart (auditor/nodenames.py).

Two names that differ only by case, by a compatibility form, by an invisible character or by
look-alike letters of another script would be two rows of a report nobody can tell apart, so
the inventory and the manifest refuse the second one with a one-line error naming it and the
first. Names that merely use another script stay distinct nodes, each in its own snapshot
folder and in every report.
"""

from __future__ import annotations

import json
import shutil

import pytest

from auditor.collect.inventory import parse_inventory
from auditor.errors import InputError
from tests.hardening import hx_support
from tests.hardening.hx_support import SCENARIOS, cli_env, rewrite_inventory, run_cli

pytestmark = pytest.mark.timeout(180)
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

PASSWORD = "Ps-6604-names-Pw!"  # test-only, for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_NAMES_TEST_PW"
USERNAME = "hx-names"

LOOK_ALIKES = {
    "case": "mgmt1",
    "cyrillic-te": "MGM\u0422" + "1",
    "greek-capitals": "\u039cG\u039c\u03a41",
    "full-width": "\uff2d\uff27\uff2d\uff34\uff11",
    "zero-for-o": "MGMT1".replace("1", "l"),
    "capital-i-for-one": "MGMTI",
    "zero-width-space": "MGMT\u200b1",
    "bidi-override": "MG\u202eMT1",
}


def _inventory(*names: str) -> str:
    nodes = "".join(f'  - {{name: "{n}", address: 10.0.0.{i}, roles: [site]}}\n' for i, n in enumerate(names, 1))
    return f"version: 1\ncluster: c\ndefaults: {{username: u, credential: {{env: X}}}}\nnodes:\n{nodes}"


@pytest.mark.parametrize("twin", sorted(LOOK_ALIKES))
def test_inventory_refuses_a_name_that_looks_like_another(tmp_path, twin):
    with pytest.raises(InputError) as err:
        parse_inventory(_inventory("MGMT1", "SITE1", LOOK_ALIKES[twin]), "inv.yaml", base_dir=tmp_path)
    assert err.value.line == 7  # the later name
    assert "(first declared on line 5)" in err.value.message


def test_names_in_other_scripts_stay_distinct(tmp_path):
    names = ["Účtárna-1", "Сервер-1", "MGMT1", "MGMT2", "SITE1\x1b[2J"]
    inv = parse_inventory(_inventory(*names).replace('"SITE1\x1b[2J"', json.dumps(names[-1])), "inv.yaml",
                          base_dir=tmp_path)
    assert [n.name for n in inv.nodes] == names


def test_snapshot_manifest_with_look_alike_names_is_one_line_exit_2(tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(SCENARIOS / "healthy", snap)
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    manifest["nodes"][3]["name"] = "MGM\u0422" + "1"  # SITE2 renamed to a look-alike of MGMT1
    (snap / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run = run_cli(["audit", "--from", str(snap), "--out", str(tmp_path / "out"), "--no-history"],
                  cli_env(tmp_path))
    assert run.returncode == 2, run.stdout + run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert "manifest.json" in errors[0]
    assert "looks like 'MGMT1'" in errors[0]


def test_unicode_names_are_collected_into_separate_folders_and_reported(tmp_path, hard_lab):
    scenario = tmp_path / "unicode"
    shutil.copytree(SCENARIOS / "healthy", scenario)
    manifest = json.loads((scenario / "manifest.json").read_text(encoding="utf-8"))
    renamed = {"SITE1": "Сервер-1", "SITE2": "Účtárna-2"}
    for node in manifest["nodes"]:
        node["name"] = renamed.get(node["name"], node["name"])
    (scenario / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    _cluster, inv = hard_lab(scenario, password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV)
    rewrite_inventory(inv, {"deadline": 30})
    env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
    collect = run_cli(["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"), "--no-progress"], env)
    assert collect.returncode == 0, collect.stdout + collect.stderr
    saved = json.loads((tmp_path / "snap" / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(n["name"] for n in saved["nodes"]) == sorted(["MGMT1", "MGMT2", "Сервер-1", "Účtárna-2"])
    assert len({n["folder"] for n in saved["nodes"]}) == 4
    audit = run_cli(["audit", "--from", str(tmp_path / "snap"), "--out", str(tmp_path / "out"), "--no-history"], env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert {n["name"]: n["status"] for n in report["nodes"]} == {
        "MGMT1": "ok", "MGMT2": "ok", "Сервер-1": "ok", "Účtárna-2": "ok"}
