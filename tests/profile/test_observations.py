"""Every fact of the profile has a way to be observed on a cluster, or is explicitly listed as
unobservable (with the reason) or as a setting of the auditor: a new profile key cannot silently
escape ``auditor profile verify``."""

from __future__ import annotations

import textwrap

import pytest

from auditor.profile import Certainty, load_profile
from auditor.profile.observations import (
    OBSERVATIONS,
    Observable,
    Observe,
    Setting,
    Unobservable,
    entries_for,
    entry_for,
    parent_fact,
    profile_facts,
)
from auditor.profile.observers import OBSERVERS

DEFAULT = load_profile()
FACTS = profile_facts(DEFAULT)


@pytest.mark.parametrize("fact", [f.key for f in FACTS])
def test_every_fact_of_the_profile_has_exactly_one_entry(fact):
    assert len(entries_for(fact)) == 1


@pytest.mark.parametrize("fact", [f for f in FACTS if f.certainty in (Certainty.ASSUMED, Certainty.INFERRED)],
                         ids=lambda f: f.key)
def test_every_assumed_or_inferred_fact_is_observed_or_says_why_not(fact):
    entry, _ = entry_for(fact.key)
    assert isinstance(entry, (Observable, Unobservable))


@pytest.mark.parametrize("entry", [e for e in OBSERVATIONS if isinstance(e, Unobservable)], ids=lambda e: e.fact)
def test_an_unobservable_fact_gives_its_reason(entry):
    assert len(entry.reason.split()) >= 5


@pytest.mark.parametrize("entry", OBSERVATIONS, ids=lambda e: e.fact)
def test_every_entry_names_facts_the_profile_has(entry):
    assert any(entry in [e for e, _ in entries_for(f.key)] for f in FACTS)


def test_a_setting_of_the_auditor_carries_no_product_certainty():
    settings = [f.key for f in FACTS if isinstance(entry_for(f.key)[0], Setting) and f.certainty is not None]
    assert settings == []


@pytest.mark.parametrize("kind", list(Observe))
def test_every_kind_of_observation_has_an_observer(kind):
    assert kind in OBSERVERS


def test_a_key_the_table_does_not_know_has_no_entry():
    """What the completeness test above catches: a new key in a known section."""
    assert entry_for("spoc_conf.new_key") is None


def test_facts_are_named_as_the_profile_names_their_certainties():
    """Every certainty the profile records names a fact, an entry holding facts, or a section
    holding facts (``etcd: {certainty: {db: confirmed}}``)."""
    keys = {f.key for f in FACTS}
    holders = {p for k in keys for p in _parents(k)}
    assert set(DEFAULT.certainties) - keys - holders == set()


def _parents(key: str) -> list[str]:
    out = []
    probe = parent_fact(key)
    while probe:
        out.append(probe)
        probe = parent_fact(probe)
    return out


def test_a_certainty_on_a_section_or_entry_qualifies_its_facts():
    by_key = {f.key: f for f in FACTS}
    assert by_key["management_conf.db.host_key"].certainty is Certainty.ASSUMED
    assert by_key["subsystems.management.files[conf\\*.properties]"].certainty is Certainty.CONFIRMED


@pytest.mark.parametrize("key, parent", [
    ("version.registry[HKLM\\A.B\\C].value", "version.registry[HKLM\\A.B\\C]"),
    ("version.registry[HKLM\\A.B\\C]", "version.registry"),
    ("subsystems.management.files[conf\\*.properties]", "subsystems.management.files"),
    ("spoc_conf", None),
])
def test_the_parent_of_a_fact_respects_brackets(key, parent):
    assert parent_fact(key) == parent


def test_an_override_adding_a_subsystem_is_covered(tmp_path):
    path = tmp_path / "override.yaml"
    path.write_text(textwrap.dedent("""\
        subsystems:
          mobile_print:
            title: Mobile Print
            mandatory_on: []
            services:
              - name: YSoftSQ-MPS
                display_names: ["Dispatcher Paragon Mobile Print Server"]
                certainty: {name: assumed, display_names: assumed}
            install_dir_strip: ["\\\\bin"]
            files:
              - {path: "conf\\\\mps.properties", certainty: assumed}
        """), encoding="utf-8")
    facts = [f for f in profile_facts(load_profile(path)) if f.key.startswith("subsystems.mobile_print.")]
    assert [(f.key, type(entry_for(f.key)[0]).__name__) for f in facts if f.certainty is Certainty.ASSUMED] == [
        ("subsystems.mobile_print.services[YSoftSQ-MPS].name", "Observable"),
        ("subsystems.mobile_print.services[YSoftSQ-MPS].display_names", "Observable"),
        ("subsystems.mobile_print.files[conf\\mps.properties]", "Observable"),
    ]
