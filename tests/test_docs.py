"""Documentation an admin and a contributor start from: docs/lab.md opens with how to try the
tool (protocol internals have their own page), and CONTRIBUTING.md covers what a contributor
needs (no internal working rules in the repository)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = (ROOT / "docs" / "lab.md").read_text(encoding="utf-8")


def _sections(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, re.MULTILINE)


def test_lab_doc_starts_with_try_it():
    assert _sections(LAB)[0] == "Try it"


def test_lab_doc_leaves_protocol_internals_to_their_own_page():
    internals = ("NTLM_USER_FILE", "CLIXML", "MaxEnvelopeSize", "WSManFault", "counters()")
    assert [word for word in internals if word in LAB] == []


def test_lab_doc_links_the_internals_page():
    assert "(lab-internals.md)" in LAB


def test_internals_page_holds_the_endpoint_details():
    text = (ROOT / "docs" / "lab-internals.md").read_text(encoding="utf-8")
    assert "NTLM_USER_FILE" in text


def test_contributing_covers_what_a_contributor_needs():
    sections = _sections((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"))
    assert {"Set up", "Test", "Add a check", "Add a fixer", "Release"} <= set(sections)


def test_no_internal_working_rules_in_the_repository():
    assert not (ROOT / "docs" / ("CONTRIBUTING-HELPERS" + ".md")).exists()
