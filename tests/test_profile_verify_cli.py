"""``auditor profile verify`` through the real CLI: offline (``--from``) and over the WinRM lab
(NTLM with encryption), on a cluster that contradicts an assumed fact (its Management
configuration carries no ``localGUID``) and with a node not collected (could not tell, never
contradicted). The live run, the snapshot ``auditor collect`` took of it and the audit report
say the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.profile.verification import FactOutcome, Outcome, Verification
from auditor.vocab import ExitStatus

pytestmark = pytest.mark.timeout(240)

SCENARIOS = Path(__file__).resolve().parent.parent / "auditor" / "lab" / "scenarios"
MGMT_PROPERTIES = Path("files/c/DispatcherParagon/Management/conf/management.properties")
GUID_FACT = "management_conf.guid_key"


def without_local_guid(tmp_path: Path) -> Path:
    """The healthy scenario whose Management servers' management.properties hold no localGUID
    (the vendor documents the GUID in the Management interface, not in a file)."""
    src = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "healthy", src)
    for node in ("mgmt1", "mgmt2"):
        path = src / node / MGMT_PROPERTIES
        lines = path.read_bytes().split(b"\n")
        path.write_bytes(b"\n".join(line for line in lines if not line.startswith(b"localGUID=")))
    return src


def verify(*args: str) -> tuple[int, Verification, str]:
    """Run ``auditor profile verify ... --json -``: (exit code, the result, the output)."""
    result = CliRunner().invoke(main, ["profile", "verify", *args, "--json", "-"])
    assert result.exit_code in (0, 1, 3), result.output
    return result.exit_code, Verification.from_dict(json.loads(result.output)), result.output


def groups(v: Verification, fact: str, outcome: Outcome) -> list:
    return [g for f in v.facts if f.fact == fact for g in f.groups if g.outcome is outcome]


def nodes_with(v: Verification, outcome: Outcome) -> set[str]:
    return {n for f in v.facts for g in f.groups if g.outcome is outcome for n in g.nodes}


# ---- offline ---------------------------------------------------------------------------------
def test_offline_a_missing_local_guid_contradicts_the_assumed_key_and_exits_1(tmp_path):
    code, v, _ = verify("--from", str(without_local_guid(tmp_path)))
    assert code == ExitStatus.FINDINGS


def test_offline_the_contradiction_names_both_management_servers(tmp_path):
    _, v, _ = verify("--from", str(without_local_guid(tmp_path)))
    assert sorted(n for g in groups(v, GUID_FACT, Outcome.CONTRADICTED) for n in g.nodes) == ["MGMT1", "MGMT2"]


def test_offline_the_contradiction_says_what_the_file_holds_instead(tmp_path):
    _, v, _ = verify("--from", str(without_local_guid(tmp_path)))
    seen = groups(v, GUID_FACT, Outcome.CONTRADICTED)[0].seen
    assert seen.startswith("no key localGUID in management.properties (keys there: usedLocalIp, cmlPort")


def test_offline_the_healthy_lab_contradicts_nothing(tmp_path):
    code, v, _ = verify("--from", str(SCENARIOS / "healthy"))
    assert [f.fact for f in v.contradicted] == []


def test_the_table_summary_and_next_step_are_printed(tmp_path):
    result = CliRunner().invoke(main, ["profile", "verify", "--from", str(without_local_guid(tmp_path))],
                                env={"COLUMNS": "80"})
    lines = result.output.splitlines()
    assert any(line.startswith("contradicted") and line.endswith(GUID_FACT) for line in lines), result.output
    assert "Next steps:" in lines, result.output


def test_json_file_and_table_together(tmp_path):
    out = tmp_path / "verify.json"
    result = CliRunner().invoke(main, ["profile", "verify", "--from", str(without_local_guid(tmp_path)),
                                       "--json", str(out)])
    doc = json.loads(out.read_text())
    assert (doc["document"], doc["summary"]["contradicted"] >= 1, f"JSON written to {out}" in result.output) == (
        "paragon-auditor-profile-verify", True, True)


def test_a_fact_pattern_that_names_nothing_is_a_one_line_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["profile", "verify", "--from", str(SCENARIOS / "healthy"),
                                       "--fact", "spoc_conf.gui_key"])
    assert (result.exit_code, result.output.count("\n"), "Traceback" in result.output) == (
        ExitStatus.USAGE, 1, False)


def test_inventory_and_from_together_are_refused(tmp_path):
    inv = tmp_path / "cluster.yaml"
    inv.write_text("cluster: x\nnodes: []\n")
    result = CliRunner().invoke(main, ["profile", "verify", "--from", str(SCENARIOS / "healthy"),
                                       "--inventory", str(inv)])
    assert result.exit_code == ExitStatus.USAGE


def test_the_audit_report_carries_the_same_product_model(tmp_path):
    src = without_local_guid(tmp_path)
    _, v, _ = verify("--from", str(src))
    result = CliRunner().invoke(main, ["audit", "--from", str(src), "--out", str(tmp_path / "out"), "-q",
                                       "--format", "json,html", "--no-history"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert Verification.from_dict(report["product_model"]).facts == v.facts


def test_the_html_report_has_a_product_model_section_naming_the_contradiction(tmp_path):
    src = without_local_guid(tmp_path)
    CliRunner().invoke(main, ["audit", "--from", str(src), "--out", str(tmp_path / "out"), "-q",
                              "--format", "html", "--no-history"])
    html = (tmp_path / "out" / "report.html").read_text()
    section = html[html.index('<section id="product-model"'):]
    assert GUID_FACT in section[:section.index("</section>")]


DB_FACT = "management_conf.db.class_key"
ETCD_HELD = "the node's etcd holds a key of that name"


def test_offline_database_keys_only_in_etcd_contradict_the_properties_keys():
    _, v, _ = verify("--from", str(SCENARIOS / "etcd-drift"), "--fact", DB_FACT)
    contradicted = groups(v, DB_FACT, Outcome.CONTRADICTED)
    assert ([n for g in contradicted for n in g.nodes], contradicted[0].seen.endswith(ETCD_HELD)) == (
        ["MGMT1", "MGMT2"], True)


def test_offline_the_etcd_keys_are_confirmed_where_etcd_answered():
    _, v, _ = verify("--from", str(SCENARIOS / "etcd-drift"), "--all", "--fact", "etcd.db.class_key")
    assert sorted(n for g in groups(v, "etcd.db.class_key", Outcome.CONFIRMED) for n in g.nodes) == ["MGMT1", "MGMT2"]


# ---- over WinRM ------------------------------------------------------------------------------
@pytest.fixture
def lab(ntlm_lab, tmp_path):
    """``lab(down)`` -> inventory of the running lab of :func:`without_local_guid` where ``down``
    (a node name or None) rejects the password."""
    return lambda down: ntlm_lab(without_local_guid(tmp_path / (down or "all")),
                                 {down: {"wrong_password": True}} if down else None)


def test_live_and_its_snapshot_contradict_the_local_guid_alike(lab, tmp_path):
    inv = lab(None)
    live_code, live, _ = verify("--inventory", str(inv), "--no-progress")
    collected = CliRunner().invoke(main, ["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"),
                                          "--no-progress"])
    assert collected.exit_code == 0, collected.output
    _, offline, _ = verify("--from", str(tmp_path / "snap"))
    assert (live_code, [f.fact for f in live.contradicted], offline.facts) == (
        ExitStatus.FINDINGS, [GUID_FACT], live.facts)


def test_live_a_node_not_collected_could_not_tell_and_is_never_contradicted(lab, tmp_path):
    code, v, _ = verify("--inventory", str(lab("MGMT2")), "--no-progress")
    assert (code, v.not_collected, "MGMT2" in nodes_with(v, Outcome.CONTRADICTED),
            "MGMT2" in nodes_with(v, Outcome.COULD_NOT_TELL)) == (ExitStatus.UNREACHABLE, ("MGMT2",), False, True)


def test_live_the_uncollected_node_is_named_once_and_the_rest_still_verified(lab, tmp_path):
    _, v, _ = verify("--inventory", str(lab("MGMT2")), "--no-progress")
    guid = next(f for f in v.facts if f.fact == GUID_FACT)
    assert (guid.outcome, guid.nodes(Outcome.CONTRADICTED), guid.nodes(Outcome.COULD_NOT_TELL)) == (
        FactOutcome.CONTRADICTED, ["MGMT1"], ["MGMT2"])


def test_live_database_keys_only_in_etcd_contradict_the_properties_keys(ntlm_lab):
    inv = ntlm_lab(SCENARIOS / "etcd-drift")
    _, v, _ = verify("--inventory", str(inv), "--no-progress", "--fact", DB_FACT, "--fact", "etcd.db.class_key",
                     "--all")
    contradicted = groups(v, DB_FACT, Outcome.CONTRADICTED)
    assert ([n for g in contradicted for n in g.nodes], contradicted[0].seen.endswith(ETCD_HELD),
            sorted(n for g in groups(v, "etcd.db.class_key", Outcome.CONFIRMED) for n in g.nodes)) == (
        ["MGMT1", "MGMT2"], True, ["MGMT1", "MGMT2"])


def test_offline_snapshot_with_a_node_not_collected_could_not_tell(lab, tmp_path):
    inv = lab("SITE1")
    collected = CliRunner().invoke(main, ["collect", "--inventory", str(inv), "--out", str(tmp_path / "snap"),
                                          "--no-progress"])
    assert collected.exit_code == ExitStatus.UNREACHABLE, collected.output
    code, v, _ = verify("--from", str(tmp_path / "snap"))
    assert (code, v.not_collected, "SITE1" in nodes_with(v, Outcome.CONTRADICTED),
            "SITE1" in nodes_with(v, Outcome.COULD_NOT_TELL)) == (ExitStatus.UNREACHABLE, ("SITE1",), False, True)


# ---- marking what was verified ---------------------------------------------------------------
def test_the_written_override_marks_the_confirmed_facts_so_they_are_no_longer_uncertain(tmp_path):
    marks = tmp_path / "confirmed.yaml"
    src = str(without_local_guid(tmp_path))
    _, before, _ = verify("--from", src, "--confirmed-override", str(marks))
    _, after, _ = verify("--from", src, "--profile", str(marks))
    left = {f.fact for f in after.facts}
    assert sorted(f.fact for f in before.facts if f.fact in left and f.outcome is FactOutcome.CONFIRMED
                  and "[" not in f.fact) == []


def test_the_written_override_never_marks_a_contradicted_fact(tmp_path):
    marks = tmp_path / "confirmed.yaml"
    src = str(without_local_guid(tmp_path))
    verify("--from", src, "--confirmed-override", str(marks))
    _, after, _ = verify("--from", src, "--profile", str(marks))
    assert [f.fact for f in after.contradicted] == [GUID_FACT]


def test_an_existing_override_file_is_never_overwritten(tmp_path):
    marks = tmp_path / "confirmed.yaml"
    marks.write_text("# mine\n")
    result = CliRunner().invoke(main, ["profile", "verify", "--from", str(SCENARIOS / "healthy"),
                                       "--confirmed-override", str(marks)])
    assert (result.exit_code, marks.read_text()) == (ExitStatus.USAGE, "# mine\n")


def test_the_audit_console_points_at_the_product_model_when_a_fact_is_contradicted(tmp_path):
    result = CliRunner().invoke(main, ["audit", "--from", str(without_local_guid(tmp_path)), "--out",
                                       str(tmp_path / "out"), "--format", "html", "--no-history"])
    assert "1 product fact(s) of the profile contradicted by this cluster" in result.output
