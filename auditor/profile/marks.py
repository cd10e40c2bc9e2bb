"""The profile override that marks facts this cluster confirmed: the next step of
``auditor profile verify``.

A fact the profile marks ``assumed`` or ``inferred`` that every node concerned bore out (none
contradicted it) can be marked ``confirmed`` for this installation in a profile override: a
section's ``certainty:`` map names it (``spoc_conf: {certainty: {guid_key: confirmed}}``),
merged over the default's map, so nothing else changes. Facts inside a list entry
(``subsystems.management.files[conf\\*.properties]``) are marked in the entry itself, and an
override replaces a list as a whole: those are named for the admin to copy by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from auditor.profile.loader import CERTAINTY
from auditor.profile.verification import FactOutcome, Outcome, Verification
from auditor.profile.view import Certainty


@dataclass(frozen=True)
class Marks:
    """``override``: the YAML text marking the dotted facts confirmed (empty: none);
    ``by_hand``: facts inside list entries, to be marked in a copy of their list."""

    override: str
    facts: tuple[str, ...]
    by_hand: tuple[str, ...]


def verified_facts(v: Verification) -> list[str]:
    """Facts of ``v`` the profile is unsure of that this cluster confirmed and none contradicted."""
    return [f.fact for f in v.facts
            if f.outcome is FactOutcome.CONFIRMED and f.certainty is not Certainty.CONFIRMED
            and not f.count(Outcome.CONTRADICTED)]


def example_mark(fact: str) -> str:
    """One fact's mark as an override line reads it: ``spoc_conf: {certainty: {guid_key: confirmed}}``;
    for a fact inside a list entry, where its mark goes."""
    if "[" in fact:
        return f"certainty: confirmed on the entry {fact[fact.index('['):fact.index(']') + 1]} (in a copy of its list)"
    *sections, name = fact.split(".")
    text = f"{{{CERTAINTY}: {{{name}: {Certainty.CONFIRMED.value}}}}}"
    for part in reversed(sections):
        text = f"{{{part}: {text}}}"
    return text[1:-1]


def confirmed_marks(v: Verification) -> Marks:
    """The override marking :func:`verified_facts` confirmed (docs/first-contact.md, step 6)."""
    tree: dict[str, Any] = {}
    dotted, by_hand = [], []
    for fact in verified_facts(v):
        if "[" in fact:
            by_hand.append(fact)
            continue
        *sections, name = fact.split(".")
        node = tree
        for part in sections:
            node = node.setdefault(part, {})
        node.setdefault(CERTAINTY, {})[name] = Certainty.CONFIRMED.value
        dotted.append(fact)
    if not tree:
        return Marks("", (), tuple(by_hand))
    text = ("# Facts this cluster confirmed (auditor profile verify); pass with --profile FILE\n"
            + yaml.safe_dump({"profile_version": 1, **tree}, sort_keys=False, default_flow_style=None, width=100))
    return Marks(text, tuple(dotted), tuple(by_hand))


__all__ = ["Marks", "confirmed_marks", "example_mark", "verified_facts"]
