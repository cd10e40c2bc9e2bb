"""The shared vocabulary (auditor/vocab.py): statuses stay the strings every output always
showed, text statuses are converted where they enter, and the documented exit codes are
exactly the ExitStatus members."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.manifest import NodeEntry, load_manifest
from auditor.nodestate import NodeState
from auditor.vocab import MASK, ApplyOutcome, ExitStatus, FileStatus, NodeStatus, OpStatus, iso_utc

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("member", [*NodeStatus, *FileStatus, *OpStatus, *ApplyOutcome])
def test_a_status_prints_and_serialises_as_its_text(member):
    assert f"{member}" == member.value
    assert json.dumps({"s": member}) == json.dumps({"s": member.value})


def test_node_state_converts_a_text_status_and_refuses_an_unknown_one():
    assert NodeState("n", status="timeout").status is NodeStatus.TIMEOUT
    with pytest.raises(ValueError, match="'late'"):
        NodeState("n", status="late")


def test_failures_are_every_node_status_but_ok():
    assert set(NodeStatus.failures()) == set(NodeStatus) - {NodeStatus.OK}


def test_manifest_status_is_typed_on_load(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({
        "format": "paragon-auditor-cluster", "version": 1,
        "nodes": [{"name": "A", "roles": ["site"], "status": "auth", "reason": "bad password"}]}))
    entry: NodeEntry = load_manifest(tmp_path).nodes[0]
    assert entry.status is NodeStatus.AUTH


def _documented_codes(doc: str, section: str = "") -> set[int]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    if section:
        text = text.split(f"\n## `{section}`\n", 1)[1]
    table = text.split("| code |", 1)[1].split("\n\n", 1)[0]
    return {int(c) for c in re.findall(r"^\| `(\d+)` \|", table, re.M)}


def test_documented_audit_exit_codes_are_exit_statuses():
    assert _documented_codes("exit-codes.md", "auditor audit") == {
        ExitStatus.OK, ExitStatus.FINDINGS, ExitStatus.USAGE, ExitStatus.UNREACHABLE, ExitStatus.INTERRUPTED}


def test_documented_fix_exit_codes_in_exit_codes_md_are_every_exit_status():
    assert _documented_codes("exit-codes.md", "auditor fix") == {int(s) for s in ExitStatus}


def test_documented_precheck_exit_codes_are_exit_statuses():
    assert _documented_codes("exit-codes.md", "auditor precheck") == {
        ExitStatus.OK, ExitStatus.FINDINGS, ExitStatus.USAGE, ExitStatus.UNREACHABLE, ExitStatus.INTERRUPTED}


def test_applied_with_items_blocked_has_its_own_code():
    assert ExitStatus.APPLIED_BLOCKED not in {ExitStatus.OK, ExitStatus.PENDING}


def test_documented_fix_exit_codes_are_every_exit_status():
    assert _documented_codes("fix.md") == {int(s) for s in ExitStatus}


def test_pending_and_findings_are_one_code():
    assert ExitStatus.PENDING is ExitStatus.FINDINGS


def test_mask_and_time_spelling():
    from datetime import UTC, datetime, timedelta, timezone

    assert MASK == "********"
    moment = datetime(2026, 1, 2, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    assert iso_utc(moment) == "2026-01-02T03:05:06Z"
    assert iso_utc(moment.astimezone(UTC).replace(tzinfo=None)) == "2026-01-02T03:05:06Z"
