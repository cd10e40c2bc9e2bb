"""The executor's PowerShell mirror of the Windows path rules against the shared table of
cases (winpath_cases.json, the table auditor/winpath.py is checked against too).

No PowerShell here: ps_subset evaluates the five functions with the .NET semantics of the
few constructs they use and refuses anything else (see its docstring for what that proves
and what it does not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.remote import bootstrap
from tests.remote.ps_subset import PsError, PsScript, Unsupported

CASES = json.loads((Path(__file__).parent / "winpath_cases.json").read_text(encoding="utf-8"))
SCRIPT = PsScript(bootstrap.executor_script())
MIRRORED = {name: sec["powershell"] for name, sec in CASES.items() if name != "about" and "powershell" in sec}


def _params():
    for name, function in MIRRORED.items():
        for case in CASES[name]["cases"]:
            yield pytest.param(function, case, id=f"{function}:{json.dumps(case, ensure_ascii=True)[:70]}")


@pytest.mark.parametrize("function, case", list(_params()))
def test_powershell_rules_match_the_shared_table(function, case):
    *args, expected = case
    assert SCRIPT.call(function, *args) == expected


def test_the_mirrored_functions_are_the_ones_the_executor_defines():
    assert set(MIRRORED.values()) == {"PA-NormPath", "PA-IsAbs", "PA-Join", "PA-ImageExe", "PA-InstallDir"}
    assert {f.lower() for f in MIRRORED.values()} <= set(SCRIPT.functions)


@pytest.mark.parametrize("body, why", [
    ("$p = $path.StartsWith('x')", "culture-sensitive"),
    ("$p = $path.ToLower()", "method ToLower"),
    ("$p = \"$path\"", "expression"),
    ("$p = $path -like 'x*'", "operator -like"),
    ("return $undefined", "variable used before it is set"),
    ("$p = [StringComparison]::CurrentCultureIgnoreCase", "culture-sensitive comparison"),
])
def test_the_interpreter_refuses_what_it_does_not_model(body, why):
    script = PsScript("function F([string]$path) {\n    " + body + "\n    return $path\n}\n")
    with pytest.raises(Unsupported, match=why):
        script.call("F", "C:\\x")


def test_the_interpreter_models_dotnet_errors_and_semantics():
    script = PsScript("function F([string]$path, $n) {\n    return $path.Substring($n)\n}\n"
                      "function G([string]$path) {\n    return $path.EndsWith('SS', [StringComparison]::OrdinalIgnoreCase)\n}\n"
                      "function H([string]$path) {\n    return $path\n}\n")
    with pytest.raises(PsError):
        script.call("F", "ab", 3)
    assert script.call("F", "abc", 1) == "bc"
    assert script.call("G", "Straße") is False  # ordinal ignore-case is a simple mapping: no ß -> SS
    assert script.call("G", "strass") is True
    assert script.call("H", None) == ""  # [string]$null is ''
