"""The command line explains itself: the top-level help groups the commands by purpose with
their whole summaries, audit and collect document exit 130, and every error is one line in one
style (``error: ...``), the parser's as much as ours."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from auditor.cli import HELP_SECTIONS, main


def _help(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=100, prog_name="auditor")
    assert result.exit_code == 0, result.output
    return result.output


def _sections(text: str) -> dict[str, list[str]]:
    """{section title: command names} of a group's help."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][\w ]+:", line):
            current = line[:-1]
            out[current] = []
        elif current and re.match(r"  [a-z][\w-]+  ", line):
            out[current].append(line.split()[0])
    return out


def test_top_level_help_groups_the_commands_by_purpose():
    sections = _sections(_help())
    assert sections["Audit and repair"] == ["audit", "fix", "precheck", "collect", "checks", "discover", "profile"]
    assert sections["History"] == ["history", "drift", "baseline"]
    assert sections["Lab and demo"] == ["demo", "lab"]


def test_every_command_is_in_a_section():
    listed = {name for _title, names in HELP_SECTIONS for name in names}
    assert set(main.list_commands(None)) == listed  # type: ignore[arg-type]


@pytest.mark.parametrize("group", [(), ("lab",), ("baseline",)])
def test_group_help_never_cuts_a_summary(group):
    commands_part = _help(*group).split("Options:", 1)[1]
    assert "..." not in commands_part


@pytest.mark.parametrize("cmd", ["audit", "collect"])
def test_audit_and_collect_document_exit_130(cmd):
    text = " ".join(_help(cmd).split())
    assert "130 interrupted" in text


@pytest.mark.parametrize("argv, message", [
    (["audit", "--bogus"], "error: no such option '--bogus'"),
    (["audit"], "error: give --inventory FILE (live) or --from SNAPSHOT_DIR (offline)"),
    (["audit", "--from", "/nonexistent/snapshot"], "error: invalid value for '--from'"),
    (["nope"], "error: no such command 'nope'"),
])
def test_parser_errors_are_one_line_in_our_style(argv, message):
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_parser_errors_point_at_the_help_of_the_command():
    result = CliRunner().invoke(main, ["audit", "--bogus"], prog_name="auditor")
    assert result.output.rstrip().endswith("(see 'auditor audit --help')")


def test_a_group_without_a_command_shows_its_help():
    result = CliRunner().invoke(main, ["lab"])
    assert "serve" in result.output
    assert not result.output.startswith("error:")
