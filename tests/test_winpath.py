"""auditor/winpath.py against the shared table of cases (tests/remote/winpath_cases.json),
the same table the PowerShell executor's mirror is checked against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor import winpath

CASES = json.loads((Path(__file__).parent / "remote" / "winpath_cases.json").read_text(encoding="utf-8"))
FUNCTIONS = [k for k in CASES if k != "about"]


def _params():
    for name in FUNCTIONS:
        for case in CASES[name]["cases"]:
            yield pytest.param(name, case, id=f"{name}:{json.dumps(case, ensure_ascii=True)[:70]}")


@pytest.mark.parametrize("name, case", list(_params()))
def test_python_rules_match_the_shared_table(name, case):
    *args, expected = case
    assert getattr(winpath, name)(*args) == expected


def test_every_public_rule_has_cases():
    assert set(FUNCTIONS) == set(winpath.__all__) - {"to_backslashes", "split"}


def test_normalize_is_idempotent_and_keys_agree():
    for name in ("normalize", "is_absolute", "is_unc"):
        for path, _ in CASES[name]["cases"]:
            once = winpath.normalize(path)
            assert winpath.normalize(once) == once
            assert winpath.path_key(path) == winpath.path_key(once)
            assert getattr(winpath, name)(once) == getattr(winpath, name)(path)


def test_split():
    assert winpath.split("C:/DP/SPOC/conf/") == ("C:\\DP\\SPOC", "conf")
