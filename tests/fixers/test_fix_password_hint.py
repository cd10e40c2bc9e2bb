"""The dry run says which option supplies the password of a planned account change (issue 15
item 13): an admin preparing an unattended ``--apply --yes`` reads it before the change window."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main

DRIFT = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "drift"


def _dry_run(*extra: str) -> str:
    res = CliRunner().invoke(main, ["fix", "--from", str(DRIFT), "--check", "IMS-SERVICE-ACCOUNT", *extra])
    assert res.exit_code == 1, res.output
    return res.output


def test_without_a_password_option_the_dry_run_names_both_options():
    out = _dry_run()
    assert ("Password of CORP\\svc-paragon: asked for with a hidden prompt when applying (needs a terminal); for "
            "an unattended run give --service-password-env VAR or --service-password-keyring SERVICE:USER") in out


def test_with_an_environment_variable_the_dry_run_names_it_and_its_option():
    out = _dry_run("--service-password-env", "PARAGON_IMS_PW")
    assert "Password of CORP\\svc-paragon: from environment variable PARAGON_IMS_PW (--service-password-env)" in out


def test_with_a_keyring_entry_the_dry_run_names_it_and_its_option():
    out = _dry_run("--service-password-keyring", "paragon:CORP\\svc-paragon")
    assert "(--service-password-keyring)" in out
