"""The typed view of the profile: built once from the merged YAML, every value from
default.yaml, a misspelt fact an attribute error, certainties readable as data."""

from __future__ import annotations

import copy
import dataclasses
import textwrap

import pytest

from auditor.errors import InputError
from auditor.profile import Certainty, Profile, load_profile
from auditor.profile.loader import build_facts, parse_yaml

DEFAULT = load_profile()


def _default_data() -> dict:
    from importlib import resources

    text = resources.files("auditor.profile").joinpath("default.yaml").read_text(encoding="utf-8")
    return parse_yaml(text, "default.yaml")


def test_the_shipped_default_fills_every_field():
    assert DEFAULT.spoc_conf.guid_key == "serverGUID"
    assert DEFAULT.embedded_db.port == 5433
    assert DEFAULT.management_conf.db.host_key == "dbHost"
    assert DEFAULT.version.registry[0].value == "Version"
    assert DEFAULT.restart_after_change["spoc_conf"] == "YSoftSQ-SPOC"


def test_a_misspelt_fact_is_an_attribute_error_not_a_default():
    with pytest.raises(AttributeError):
        DEFAULT.spoc_conf.guid_kye  # noqa: B018
    assert not hasattr(Profile, "get")


def test_the_view_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.spoc_conf.guid_key = "x"  # type: ignore[misc]


def test_a_key_without_a_field_or_a_field_without_a_key_is_an_error():
    data = _default_data()
    extra = copy.deepcopy(data)
    extra["spoc_conf"]["bind_key"] = "serverBIND"
    with pytest.raises(InputError, match=r"spoc_conf: unknown key\(s\) \['bind_key'\]: no field of SpocConf"):
        build_facts(extra, "default.yaml", "")
    missing = copy.deepcopy(data)
    del missing["embedded_db"]["port"]
    with pytest.raises(InputError, match="embedded_db.port: missing"):
        build_facts(missing, "default.yaml", "")


def test_a_value_of_the_wrong_type_in_the_merged_data_is_an_error():
    data = _default_data()
    data["version"]["registry"] = [{"key": "HKLM\\X"}]
    with pytest.raises(InputError, match=r"version.registry\[HKLM\\X\].value: missing"):
        build_facts(data, "override.yaml", "")


def test_certainties_are_data_next_to_the_facts():
    assert DEFAULT.certainty("spoc_conf.guid_key") is Certainty.ASSUMED
    assert DEFAULT.certainty("embedded_db.port") is Certainty.CONFIRMED
    assert DEFAULT.certainty("management_conf.db.embedded_key") is Certainty.ASSUMED
    assert DEFAULT.certainty("subsystems.spooler_controller.files[ims\\application.properties]") is Certainty.ASSUMED
    assert DEFAULT.certainty("subsystems.management.services[YSoftSQ-Management].display_names") is Certainty.ASSUMED
    assert DEFAULT.certainty("embedded_db.local_hosts") is None  # not a product fact: not marked
    assumed = {fact for fact, level in DEFAULT.certainties.items() if level is Certainty.ASSUMED}
    assert "management_ims.repository_key" in assumed


def test_an_override_can_mark_a_fact_it_verified(tmp_path):
    path = tmp_path / "override.yaml"
    path.write_text(textwrap.dedent("""\
        spoc_conf:
          comment_prefixes: ["#"]
          certainty: {comment_prefixes: confirmed}
        """), encoding="utf-8")
    prof = load_profile(path)
    assert prof.certainty("spoc_conf.comment_prefixes") is Certainty.CONFIRMED
    assert prof.certainty("spoc_conf.guid_key") is Certainty.ASSUMED  # the default's notes stay


@pytest.mark.parametrize("notes, words", [
    ("{comment_prefixes: sure}", "spoc_conf.comment_prefixes certainty: expected one of confirmed, inferred, assumed"),
    ("{comment_prefix: confirmed}", "spoc_conf.certainty.comment_prefix: no such fact here"),
])
def test_a_bad_certainty_note_names_the_profile(tmp_path, notes, words):
    path = tmp_path / "override.yaml"
    path.write_text(f"spoc_conf:\n  certainty: {notes}\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_profile(path)
    assert exc.value.source == str(path)
    assert words in str(exc.value)
