"""``--help`` explains each precheck subcommand and its exit codes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from auditor.cli import main


def _help(*args: str) -> str:
    res = CliRunner().invoke(main, [*args, "--help"])
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())  # click re-wraps the text


@pytest.mark.parametrize("sub", ["add-management", "update"])
def test_each_subcommand_documents_its_exit_codes(sub):
    assert "0 go: every precondition holds" in _help("precheck", sub)


def test_add_management_help_explains_the_follow_up():
    assert "NODE in infrastructureServiceAddresses" in _help("precheck", "add-management")


def test_update_help_explains_update_in_progress():
    assert "update in progress" in _help("precheck", "update")


def test_the_group_help_points_to_the_step_by_step_guide():
    assert "docs/pre-change.md" in _help("precheck")
