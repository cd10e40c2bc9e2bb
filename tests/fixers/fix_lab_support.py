"""Constants and helpers shared by the fix tests and their conftest (a uniquely named module:
importing ``conftest`` by name would collide with other test folders' conftest modules)."""

from __future__ import annotations

from pathlib import Path

from auditor.fixers.journal import read_journal

LAB_PASSWORD = "Fx-8812-lab-Pw!"  # distinctive test-only password for the 127.0.0.1 listeners
LAB_PASSWORD_ENV = "PARAGON_FIX_TEST_LAB_PW"
SERVICE_PASSWORD = "Svc-Acct-9931-Secret!"  # the Infrastructure Service account password under test
SERVICE_PASSWORD_ENV = "PARAGON_FIX_TEST_SVC_PW"


def journal_shows(journal: Path, node: str, action: str) -> bool:
    """Whether the fix journal already holds an entry ``action`` for ``node`` (tests poll this
    to interrupt an apply at a known step)."""
    return journal.exists() and any(e.get("node") == node and e.get("action") == action
                                    for e in read_journal(journal))
