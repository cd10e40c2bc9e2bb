"""The catalogue: registry discovery, the `auditor checks` command, docs/checks.md freshness."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from auditor.checks import all_checks
from auditor.cli import main
from auditor.commands.checks import catalogue_markdown
from auditor.findings import CheckMeta

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_IDS = {
    "SPOC-MGMT-LIST", "SPOC-IMS-ADDRESSES", "IMS-REPO-SHARED", "IMS-SERVICE-ACCOUNT", "DB-EXTERNAL",
    "MGMT-CONFIG-CONSISTENT", "MGMT-SUBSYSTEMS", "GUID-UNIQUE", "VERSION-CONSISTENT", "CONFIG-PENDING-RESTART",
    "SERVER-OS", "NODE-REACHABLE", "INSTALL-IN-PROGRESS", "SERVICE-DISABLED", "SERVICE-STOPPED",
    "LEGACY-SERVICES",
}


def test_registry_discovers_every_check_with_valid_meta():
    checks = all_checks()
    ids = [m.META.id for m in checks]
    assert set(ids) >= EXPECTED_IDS
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    for mod in checks:
        meta = mod.META
        assert isinstance(meta, CheckMeta)
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", meta.id)
        assert meta.title
        assert meta.rationale
        assert meta.remediation
        assert meta.scope in ("node", "cluster")


def test_fixable_flags_match_the_brief():
    fixable = {m.META.id for m in all_checks() if m.META.fixable}
    assert {"SPOC-MGMT-LIST", "SPOC-IMS-ADDRESSES", "IMS-REPO-SHARED", "IMS-SERVICE-ACCOUNT"} <= fixable
    assert "DB-EXTERNAL" not in fixable


def test_a_check_is_fixable_exactly_when_a_fixer_is_registered_for_it():
    """CheckMeta.fixable (what reports promise) and FIXERS (what `auditor fix` plans) are
    declared apart; they must name the same checks."""
    from auditor.fixers import FIXERS

    assert {m.META.id for m in all_checks() if m.META.fixable} == set(FIXERS)


def test_checks_command_lists_table():
    res = CliRunner().invoke(main, ["checks"])
    assert res.exit_code == 0, res.output
    assert "SPOC-MGMT-LIST" in res.output
    assert "severity" in res.output
    assert "fixable" in res.output


def test_checks_markdown_is_docs_file_and_docs_are_up_to_date():
    res = CliRunner().invoke(main, ["checks", "--markdown"])
    assert res.exit_code == 0
    assert res.output == catalogue_markdown()
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == catalogue_markdown(), "docs/checks.md is stale: run `make docs`"
    for check_id in EXPECTED_IDS:
        assert f"## {check_id}" in committed


def test_one_check_in_full():
    res = CliRunner().invoke(main, ["checks", "spoc-mgmt-list"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("SPOC-MGMT-LIST: ")
    for part in ("Why it matters:", "Remediation:", "Fixable:   yes: auditor fix --inventory FILE --check SPOC-MGMT-LIST",
                 "Product facts it relies on"):
        assert part in res.output


def test_one_check_shows_the_certainty_of_each_fact_it_relies_on():
    res = CliRunner().invoke(main, ["checks", "DB-EXTERNAL"])
    rows = {line.split()[0]: line.split()[-1] for line in res.output.splitlines()
            if line.startswith("  embedded_db.") or line.startswith("  management_conf.")}
    assert rows["embedded_db.port"] == "confirmed"
    assert rows["management_conf.db.host_key"] == "assumed"


def test_one_check_shows_values_of_a_profile_override(tmp_path):
    override = tmp_path / "site.yaml"
    override.write_text("spoc_conf:\n  default_port: 6011\n")
    res = CliRunner().invoke(main, ["checks", "SPOC-MGMT-LIST", "--profile", str(override)])
    assert any(line.split()[:2] == ["spoc_conf.default_port", "6011"] for line in res.output.splitlines())


def test_unknown_check_id_is_a_one_line_error_listing_the_valid_ids():
    res = CliRunner().invoke(main, ["checks", "NOPE"])
    assert res.exit_code == 2
    assert "SPOC-MGMT-LIST" in res.output


def test_every_fact_a_check_relies_on_is_in_the_default_profile():
    from auditor.profile import load_profile

    profile = load_profile(None)
    def known(key: str) -> bool:
        try:
            return profile.value_of(key) is not None
        except KeyError:
            return False

    missing = [(m.META.id, key) for m in all_checks() for key in m.RELIES_ON if not known(key)]
    assert missing == []


def test_every_fact_a_check_relies_on_states_its_certainty():
    from auditor.profile import load_profile
    from auditor.profile.facts import CERTAINTIES, fact

    profile = load_profile(None)
    vague = [(m.META.id, key) for m in all_checks() for key in m.RELIES_ON
             if fact(profile, key).certainty not in CERTAINTIES]
    assert vague == []
