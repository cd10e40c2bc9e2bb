"""Service-account kinds (auditor/accounts.py), with the shipped profile's rules."""

from __future__ import annotations

import pytest

from auditor.accounts import AccountKind, classify
from auditor.profile import load_profile

RULES = load_profile().service_accounts
MGMT2 = ("MGMT2", "mgmt2.corp.example", "10.0.10.12")

CASES = [
    ("LocalSystem", AccountKind.BUILTIN),
    ("localsystem", AccountKind.BUILTIN),
    (".\\LocalSystem", AccountKind.BUILTIN),
    ("NT AUTHORITY\\SYSTEM", AccountKind.BUILTIN),
    ("NT AUTHORITY\\LocalService", AccountKind.BUILTIN),
    ("nt authority\\networkservice", AccountKind.BUILTIN),
    ("NetworkService", AccountKind.BUILTIN),
    ("NT SERVICE\\YSoftIms", AccountKind.VIRTUAL),
    ("nt service\\ysoftims", AccountKind.VIRTUAL),
    (".\\svc-paragon", AccountKind.LOCAL),
    ("MGMT2\\svc-paragon", AccountKind.LOCAL),
    ("mgmt2\\svc-paragon", AccountKind.LOCAL),
    ("CORP\\svc-paragon", AccountKind.DOMAIN),
    ("svc-paragon@corp.example", AccountKind.DOMAIN),
    ("MGMT1\\svc-paragon", AccountKind.DOMAIN),  # another server's name: a domain as far as MGMT2 can tell
    ("CORP\\gmsa-paragon$", AccountKind.GMSA),
    ("gmsa-paragon$@corp.example", AccountKind.GMSA),
    (".\\svc$", AccountKind.LOCAL),
    ("svc-paragon", AccountKind.UNKNOWN),
    ("", AccountKind.UNKNOWN),
    ("CORP\\a\\b", AccountKind.UNKNOWN),
    ("CORP\\", AccountKind.UNKNOWN),
    ("@corp.example", AccountKind.UNKNOWN),
    ("CORP\\$", AccountKind.DOMAIN),
]


@pytest.mark.parametrize(("start_name", "kind"), CASES)
def test_kind(start_name, kind):
    assert classify(start_name, RULES, MGMT2).kind is kind


def test_none_is_unknown():
    assert classify(None, RULES, MGMT2).kind is AccountKind.UNKNOWN


def test_an_ip_inventory_name_is_not_a_computer_name():
    assert classify("10\\svc", RULES, ("10.0.10.12",)).kind is AccountKind.DOMAIN


def test_domain_and_user_are_kept_as_written():
    acc = classify("CORP\\Svc-Paragon", RULES, MGMT2)
    assert (acc.domain, acc.user) == ("CORP", "Svc-Paragon")


def test_comparison_key_ignores_case_and_spaces():
    assert classify(" corp\\SVC ", RULES).key == classify("CORP\\svc", RULES).key


def test_kinds_that_cannot_reach_a_share_say_why():
    assert all(k.why_not_on_a_share() for k in AccountKind if k not in (AccountKind.DOMAIN, AccountKind.GMSA))


def test_the_gmsa_label_names_it():
    assert classify("CORP\\g$", RULES).describe() == "CORP\\g$ (group managed service account (gMSA))"


def test_windows_manages_the_passwords_of_builtin_virtual_and_gmsa():
    assert {k for k in AccountKind if not k.needs_password} == {AccountKind.BUILTIN, AccountKind.VIRTUAL,
                                                                 AccountKind.GMSA}


def test_share_capable_kinds_are_profile_data():
    assert RULES.share_capable_kinds == (AccountKind.DOMAIN, AccountKind.GMSA)


def test_an_override_naming_an_unknown_kind_is_refused(tmp_path):
    from auditor.errors import InputError

    override = tmp_path / "p.yaml"
    override.write_text("profile_version: 1\nservice_accounts:\n  share_capable_kinds: [domain, machine]\n")
    with pytest.raises(InputError, match="share_capable_kinds.*expected one of .*got 'machine'"):
        load_profile(override)
