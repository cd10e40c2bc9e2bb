"""Constants shared by the collection tests (uniquely named: see tests/lab/lab_support.py)."""

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
PASSWORD = "Qz-4471-collect-Pw!"  # distinctive test-only password for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_COLLECT_TEST_PW"
