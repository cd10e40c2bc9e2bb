"""The fix use case (auditor/fixers/rollout.py) without Click: it plans, refuses, confirms,
applies and answers with an exit code through the console it is given; the command only
parses options and prints."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from auditor.collect.runner import SILENT, CollectionEvents
from auditor.fixers.outcome import ApplyResult
from auditor.fixers.plan import FixOptions, FixPlan
from auditor.fixers.rollout import FixRequest, Refused, run_fix
from auditor.vocab import ApplyOutcome, ExitStatus

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"


class RecordingConsole:
    """Stands in for the terminal: records what the use case shows and answers prompts."""

    def __init__(self, *, terminal: bool = False, answer: bool = False):
        self.terminal, self.answer = terminal, answer
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self.plans: list[tuple[FixPlan, str, bool]] = []
        self.results: list[ApplyResult] = []
        self.questions: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def plan(self, plan: FixPlan, *, cluster: str, applying: bool) -> None:
        self.plans.append((plan, cluster, applying))

    def result(self, result: ApplyResult) -> None:
        self.results.append(result)

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.answer

    def has_terminal(self) -> bool:
        return self.terminal

    def events(self, *, progress: bool) -> CollectionEvents:
        return SILENT


def test_a_dry_run_from_a_snapshot_is_planned_and_shown_without_click(tmp_path):
    snapshot = tmp_path / "drift"
    shutil.copytree(SCENARIOS / "drift", snapshot)
    console = RecordingConsole()
    code = run_fix(FixRequest(options=FixOptions(), state_dir=tmp_path / "state", snapshot=snapshot), console)
    assert code is ExitStatus.PENDING
    (plan, cluster, applying), = console.plans
    assert cluster == "drift"
    assert applying is False
    assert plan.has_changes
    assert console.questions == []


def test_the_use_case_does_not_import_click():
    import subprocess

    probe = "import sys, auditor.fixers.rollout; print('click' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_applying_without_a_terminal_or_yes_is_refused_before_anything_is_read(tmp_path):
    console = RecordingConsole(terminal=False)
    request = FixRequest(options=FixOptions(), state_dir=tmp_path / "state", inventory=tmp_path / "absent.yaml",
                         apply=True)
    with pytest.raises(Refused, match="without a terminal to confirm on"):
        run_fix(request, console)
    assert console.plans == []
    assert not (tmp_path / "state").exists()


def test_a_declined_confirmation_changes_nothing(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    before = sorted((p, p.read_bytes()) for p in lab.serve_dir.rglob("*") if p.is_file())
    console = RecordingConsole(terminal=True, answer=False)
    request = FixRequest(options=FixOptions(), state_dir=tmp_path / "state", inventory=inv, apply=True,
                         progress=False, journal=tmp_path / "journal.jsonl")
    with pytest.raises(Refused, match="not confirmed"):
        run_fix(request, console)
    assert console.questions
    assert console.questions[0].startswith("Apply these ")
    assert console.results == []
    assert sorted((p, p.read_bytes()) for p in lab.serve_dir.rglob("*") if p.is_file()) == before


def test_a_confirmed_apply_ends_with_every_node_verified(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    console = RecordingConsole(terminal=True, answer=True)
    request = FixRequest(options=FixOptions(remove_stale=True), state_dir=tmp_path / "state", inventory=inv,
                         checks=("SPOC-MGMT-LIST",), apply=True, progress=False, journal=tmp_path / "journal.jsonl")
    code = run_fix(request, console)
    assert code is ExitStatus.OK
    (result,) = console.results
    assert {o.status for o in result.outcomes} == {ApplyOutcome.VERIFIED}
    assert any(line.startswith("\nApplying (journal: ") for line in console.lines)


# ---- every input --apply needs is checked before collecting or printing (issue 15 item 13) ----
def test_an_unset_password_variable_fails_before_anything_is_read(tmp_path, monkeypatch):
    from auditor.collect.credentials import EnvRef
    from auditor.errors import InputError

    monkeypatch.delenv("PARAGON_TEST_UNSET_PW", raising=False)
    console = RecordingConsole(terminal=False)
    request = FixRequest(options=FixOptions(password_ref=EnvRef("PARAGON_TEST_UNSET_PW")),
                         state_dir=tmp_path / "state", inventory=tmp_path / "absent.yaml", apply=True, yes=True)
    with pytest.raises(InputError, match="PARAGON_TEST_UNSET_PW is not set"):
        run_fix(request, console)
    assert not (tmp_path / "state").exists()


def test_a_missing_keyring_entry_fails_before_anything_is_read(tmp_path):
    import keyring
    from keyring.backends.null import Keyring as NullKeyring

    from auditor.collect.credentials import KeyringRef
    from auditor.errors import InputError

    previous = keyring.get_keyring()
    keyring.set_keyring(NullKeyring())
    try:
        request = FixRequest(options=FixOptions(password_ref=KeyringRef("paragon-test", "CORP\\svc")),
                             state_dir=tmp_path / "state", inventory=tmp_path / "absent.yaml", apply=True, yes=True)
        with pytest.raises(InputError, match="no password in the keyring for service='paragon-test'"):
            run_fix(request, RecordingConsole(terminal=False))
    finally:
        keyring.set_keyring(previous)
    assert not (tmp_path / "state").exists()


def test_an_account_change_without_a_password_source_fails_before_the_plan_is_printed(fix_lab, tmp_path):
    from auditor.errors import InputError

    lab, inv = fix_lab("drift")
    before = sorted((p, p.read_bytes()) for p in lab.serve_dir.rglob("*") if p.is_file())
    console = RecordingConsole(terminal=False)
    request = FixRequest(options=FixOptions(), state_dir=tmp_path / "state", inventory=inv,
                         checks=("IMS-SERVICE-ACCOUNT",), apply=True, yes=True, progress=False,
                         journal=tmp_path / "journal.jsonl")
    with pytest.raises(InputError, match="--service-password-env VAR or --service-password-keyring"):
        run_fix(request, console)
    assert console.plans == []
    assert sorted((p, p.read_bytes()) for p in lab.serve_dir.rglob("*") if p.is_file()) == before
