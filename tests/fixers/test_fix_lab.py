"""`auditor fix` end to end against the lab (NTLM over HTTPS, drift scenario copies)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.checks import run_checks
from auditor.cli import main
from auditor.cluster import Cluster
from auditor.collect.inventory import load_inventory
from auditor.collect.runner import collect_cluster
from auditor.fixers.journal import read_journal
from auditor.profile import load_profile
from auditor.vocab import ExitStatus
from tests.fixers.fix_lab_support import LAB_PASSWORD, SERVICE_PASSWORD, SERVICE_PASSWORD_ENV

pytestmark = pytest.mark.timeout(240)

SITE1_SPOC = Path("site1/files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf")


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fix(inv: Path, *args: str, journal: Path | None = None) -> tuple[int, str]:
    argv = ["fix", "--inventory", str(inv), "--no-progress", *args]
    if journal is not None:
        argv += ["--journal", str(journal)]
    res = CliRunner().invoke(main, argv, catch_exceptions=False)
    return res.exit_code, res.output


def failing(inv: Path) -> list[tuple[str, str]]:
    prof = load_profile()
    result = collect_cluster(load_inventory(inv), prof)
    assert all(n.status == "ok" for n in result.nodes), [(n.name, n.reason) for n in result.nodes]
    findings = run_checks(Cluster.build(result.nodes, prof))
    return sorted((f.check_id, f.node or "") for f in findings if f.failing)


APPLY = ("--apply", "--yes", "--remove-stale", "--service-password-env", SERVICE_PASSWORD_ENV)


def test_apply_fixes_drift_to_only_db_external_then_nothing_to_do(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    journal = tmp_path / "journal.jsonl"
    code, out = fix(inv, *APPLY, journal=journal)
    assert code == 0, out
    assert "Every planned change was applied and verified" in out
    assert failing(inv) == [("DB-EXTERNAL", "MGMT1"), ("DB-EXTERNAL", "MGMT2")]

    # the journal: every change, its backup and diff; never a password
    text = journal.read_text()
    assert SERVICE_PASSWORD not in text
    assert LAB_PASSWORD not in text
    entries = read_journal(journal)
    writes = [e for e in entries if e["action"] == "write_file"]
    assert {(e["node"], e["result"]) for e in writes} == {("MGMT2", "ok"), ("SITE1", "ok"), ("SITE2", "ok")}
    assert len(writes) == 4
    assert all(e["backup"].endswith(".paragon-auditor.bak") and e["diff"] for e in writes)
    acct = [e for e in entries if e["action"] == "set_service_account"]
    assert acct
    assert acct[0]["account"] == "CORP\\svc-paragon"
    assert acct[0]["password_source"] == f"environment variable {SERVICE_PASSWORD_ENV}"
    assert all(e["user"] and e["time"] for e in entries)
    assert [e["result"] for e in entries if e["action"] == "verify"] == ["ok", "ok", "ok"]
    # backups are kept on the nodes
    for e in writes:
        folder = {"MGMT2": "mgmt2", "SITE1": "site1", "SITE2": "site2"}[e["node"]]
        drive, rest = e["backup"].split(":\\", 1)
        assert (lab.serve_dir / folder / "files" / drive.lower() / Path(*rest.split("\\"))).is_file()

    # a second run finds nothing to do, and changes nothing
    before = tree(lab.serve_dir)
    code, out = fix(inv, "--remove-stale")
    assert code == 0, out
    assert "Nothing to change." in out
    assert "DB-EXTERNAL" in out
    code, out = fix(inv, *APPLY, journal=journal)
    assert code == 0
    assert "Nothing to apply." in out
    assert tree(lab.serve_dir) == before


def test_dry_run_changes_nothing(fix_lab):
    lab, inv = fix_lab("drift")
    before = tree(lab.serve_dir)
    code, out = fix(inv, "--remove-stale")
    assert code == 1, out
    assert "+serverGUID2=6f1c2a02-3b7e-4c1d-9a55-000000000002" in out
    assert "Nothing was changed" in out
    assert tree(lab.serve_dir) == before


def test_service_fails_to_start_rolls_back_and_stops_rollout(fix_lab, tmp_path):
    lab, inv = fix_lab("drift", faults={"SITE1": {"service_start_fail": ["YSoftSQ-SPOC"]}})
    original = tree(lab.serve_dir)
    journal = tmp_path / "j.jsonl"
    code, out = fix(inv, *APPLY, journal=journal)
    # MGMT2 (first) is fixed; SITE1's write is rolled back byte for byte; its service stays
    # down (the fault persists), which needs the admin: exit 5. SITE2 is never touched.
    assert code == 5, out
    assert "Rollout STOPPED at SITE1" in out
    assert "Not touched: SITE2" in out
    assert "byte-identical to before" in out
    assert "MANUAL ACTION NEEDED: start service YSoftSQ-SPOC" in out
    now = tree(lab.serve_dir)
    assert now[str(SITE1_SPOC)] == original[str(SITE1_SPOC)]
    assert {k: v for k, v in now.items() if k.startswith("site2/")} == \
        {k: v for k, v in original.items() if k.startswith("site2/")}
    assert now["mgmt2/node.json"] != original["mgmt2/node.json"]  # MGMT2 was fixed before
    actions = [(e["node"], e["action"], e["result"]) for e in read_journal(journal)]
    assert ("SITE1", "restore_file", "ok") in actions
    assert ("SITE1", "rollback", "incomplete") in actions
    assert not any(n == "SITE2" for n, _, _ in actions)


def test_write_refused_by_node_rolls_back_cleanly_exit_4(fix_lab):
    lab, inv = fix_lab("drift", faults={"MGMT2": {"op_errors": {"write_file": "Access to the path is denied."}}})
    original = tree(lab.serve_dir)
    code, out = fix(inv, *APPLY, "--journal", str(lab.workdir / "j.jsonl"))
    assert code == 4, out
    assert "Access to the path is denied" in out
    assert "Rollout STOPPED at MGMT2" in out
    assert tree(lab.serve_dir) == original


def test_installer_running_anywhere_refuses_before_any_change(fix_lab):
    lab, inv = fix_lab("drift", faults={"SITE2": {"installer_running": True}})
    original = tree(lab.serve_dir)
    code, out = fix(inv, *APPLY, "--journal", str(lab.workdir / "j.jsonl"))
    assert code == 6, out
    assert "installer is running" in out
    assert "SITE2" in out
    assert tree(lab.serve_dir) == original
    assert not (lab.workdir / "j.jsonl").exists()


def test_apply_needs_yes_without_a_terminal(fix_lab):
    lab, inv = fix_lab("drift")
    original = tree(lab.serve_dir)
    code, out = fix(inv, "--apply")
    assert code == 6
    assert "--yes" in out
    assert tree(lab.serve_dir) == original


def test_check_and_node_filters_limit_the_change(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    code, out = fix(inv, "--apply", "--yes", "--check", "SPOC-MGMT-LIST", "--node", "SITE2",
                    journal=tmp_path / "j.jsonl")
    assert code == 0, out
    left = failing(inv)
    assert ("SPOC-MGMT-LIST", "SITE2") not in left
    assert ("SPOC-MGMT-LIST", "SITE1") in left
    assert ("SPOC-IMS-ADDRESSES", "SITE2") in left
    entries = read_journal(tmp_path / "j.jsonl")
    assert {e["node"] for e in entries if e["action"] == "write_file"} == {"SITE2"}
    assert json.dumps(entries).count("spoc.conf") >= 1


# ---- the engine directly: things that happen between collection and apply -------------------


def _engine_setup(lab, inv, tmp_path, **opts):
    from auditor.collect.credentials import resolve_credentials
    from auditor.fixers import FixOptions, build_plan
    from auditor.fixers.apply import ApplyEngine, RemoteNodeOps
    from auditor.fixers.journal import Journal

    prof = load_profile()
    inventory = load_inventory(inv)
    creds = resolve_credentials(inventory)
    states = collect_cluster(inventory, prof, credentials=creds).nodes
    cluster = Cluster.build(states, prof)
    plan = build_plan(cluster, run_checks(cluster), FixOptions(**opts))
    journal = Journal(tmp_path / "j.jsonl", cluster="drift", secrets=[LAB_PASSWORD])
    lines: list[str] = []
    engine = ApplyEngine(RemoteNodeOps(inventory, prof, creds), prof, states, journal, echo=lines.append)
    return engine, plan, lines


def test_file_changed_since_collection_stops_without_overwriting(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    engine, plan, lines = _engine_setup(lab, inv, tmp_path, remove_stale=True, nodes=["SITE1", "SITE2"])
    # an admin edits SITE1's spoc.conf after the plan was made
    target = lab.serve_dir / SITE1_SPOC
    edited = target.read_bytes() + b"# edited by hand\r\n"
    target.write_bytes(edited)
    site2_before = tree(lab.serve_dir / "site2")
    result = engine.run(plan)
    assert result.exit_code == 4
    assert [(o.node, o.status) for o in result.outcomes] == [("SITE1", "rolled_back"), ("SITE2", "not_reached")]
    assert "changed since it was read" in (result.outcomes[0].error or "")
    assert target.read_bytes() == edited  # the admin's edit is kept, not overwritten
    assert tree(lab.serve_dir / "site2") == site2_before


def test_installer_started_after_collection_is_caught_on_the_node(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    engine, plan, lines = _engine_setup(lab, inv, tmp_path, remove_stale=True, nodes=["SITE1", "SITE2"])
    # the installer starts on SITE2 after collection: simulate by adding it to the node's facts
    node_json = lab.serve_dir / "site2" / "node.json"
    facts = json.loads(node_json.read_text())
    facts["processes"] = [{"name": "ysq-management-server-install-6.0.113.exe", "pid": 4242, "path": "",
                           "start_time": None, "command_line": ""}]
    node_json.write_text(json.dumps(facts, indent=2))
    before = tree(lab.serve_dir / "site2")
    result = engine.run(plan)
    assert [(o.node, o.status) for o in result.outcomes] == [("SITE1", "verified"), ("SITE2", "refused")]
    assert result.exit_code == 4  # stopped mid-rollout (SITE1 stays fixed)
    assert "installer" in (result.outcomes[1].error or "")
    assert tree(lab.serve_dir / "site2") == before


def test_second_fix_on_the_same_cluster_is_locked_out(fix_lab, tmp_path):
    from auditor.fixers.lock import ClusterLock

    lab, inv = fix_lab("drift")
    original = tree(lab.serve_dir)
    with ClusterLock(load_inventory(inv).cluster, Path(os.environ["PARAGON_AUDITOR_STATE_DIR"])):
        code, out = fix(inv, *APPLY, journal=tmp_path / "j.jsonl")
    assert code == 6
    assert "another fix is running" in out
    assert tree(lab.serve_dir) == original


class _Flaky:
    """Wraps the real NodeOps; misbehaves once on the first request holding ``op``."""

    def __init__(self, inner, op: str, exc: BaseException, after: bool):
        self.inner, self.op, self.exc, self.after, self.fired = inner, op, exc, after, False

    def apply(self, node, ops, secrets=None):
        if not self.fired and any(o["op"] == self.op for o in ops):
            self.fired = True
            if self.after:
                self.inner.apply(node, ops, secrets)  # it ran on the node ...
            raise self.exc  # ... but the answer never came back
        return self.inner.apply(node, ops, secrets)

    def collect(self, node):
        return self.inner.collect(node)


def test_lost_answer_after_write_is_undone_from_collected_bytes(fix_lab, tmp_path):
    from auditor.fixers.apply import OpsError

    lab, inv = fix_lab("drift")
    engine, plan, _ = _engine_setup(lab, inv, tmp_path, remove_stale=True, nodes=["SITE1"])
    engine.ops = _Flaky(engine.ops, "write_file", OpsError("timeout: connection dropped"), after=True)
    before = (lab.serve_dir / SITE1_SPOC).read_bytes()
    result = engine.run(plan)
    assert result.exit_code == 4, result.outcomes[0].steps
    assert (lab.serve_dir / SITE1_SPOC).read_bytes() == before


def test_interrupt_mid_node_rolls_back_then_propagates(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    engine, plan, _ = _engine_setup(lab, inv, tmp_path, remove_stale=True, nodes=["SITE1"])
    engine.ops = _Flaky(engine.ops, "restart_service", KeyboardInterrupt(), after=False)
    before = (lab.serve_dir / SITE1_SPOC).read_bytes()
    with pytest.raises(KeyboardInterrupt):
        engine.run(plan)
    assert (lab.serve_dir / SITE1_SPOC).read_bytes() == before
    actions = [e["action"] for e in read_journal(tmp_path / "j.jsonl")]
    assert actions[-1] == "rollback"
    assert "restore_file" in actions


# ---- interactive use (a terminal stood in for) ----------------------------------------------


def test_declined_confirmation_changes_nothing(fix_lab, monkeypatch):
    import auditor.commands.fix as fix_cmd

    monkeypatch.setattr(fix_cmd, "_has_terminal", lambda: True)
    lab, inv = fix_lab("drift")
    original = tree(lab.serve_dir)
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--no-progress", "--apply"], input="n\n")
    assert res.exit_code == 6
    assert "not confirmed" in res.output
    assert tree(lab.serve_dir) == original
    # Ctrl-D at the prompt: the error starts on its own line, not after "[y/N]: "
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--no-progress", "--apply"], input="")
    assert res.exit_code == 6
    assert "\nerror: not confirmed: nothing was changed" in res.output
    assert tree(lab.serve_dir) == original


def test_confirmed_with_hidden_password_prompt(fix_lab, monkeypatch, tmp_path):
    import auditor.commands.fix as fix_cmd

    monkeypatch.setattr(fix_cmd, "_has_terminal", lambda: True)
    lab, inv = fix_lab("drift")
    journal = tmp_path / "j.jsonl"
    res = CliRunner().invoke(main, ["fix", "--inventory", str(inv), "--no-progress", "--apply", "--check",
                                    "IMS-SERVICE-ACCOUNT", "--journal", str(journal)],
                             input=f"y\n{SERVICE_PASSWORD}\n")
    assert res.exit_code == 0, res.output
    assert "Password for CORP\\svc-paragon" in res.output
    assert SERVICE_PASSWORD not in res.output
    assert SERVICE_PASSWORD not in journal.read_text()
    assert ("IMS-SERVICE-ACCOUNT", "MGMT2") not in failing(inv)
    assert any(e.get("password_source") == "a hidden prompt when applying" for e in read_journal(journal))


class _ServiceRewritesConfig:
    """The first re-collection sees spoc.conf as the service rewrote it on start (old content),
    as a product that regenerates its configuration would: the fix does not hold."""

    def __init__(self, inner, path: str, content: bytes):
        self.inner, self.path, self.content, self.done = inner, path, content, False

    def apply(self, node, ops, secrets=None):
        return self.inner.apply(node, ops, secrets)

    def collect(self, node):
        st = self.inner.collect(node)
        if not self.done:
            self.done = True
            st.file(self.path).content = self.content
        return st


def test_fix_that_does_not_hold_after_restart_is_rolled_back(fix_lab, tmp_path):
    lab, inv = fix_lab("drift")
    engine, plan, lines = _engine_setup(lab, inv, tmp_path, remove_stale=True, nodes=["SITE1"])
    before = (lab.serve_dir / SITE1_SPOC).read_bytes()
    engine.ops = _ServiceRewritesConfig(engine.ops, "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf", before)
    result = engine.run(plan)
    assert result.exit_code == 4, lines
    assert "verification failed: SPOC-MGMT-LIST still fail" in (result.outcomes[0].error or "")
    assert (lab.serve_dir / SITE1_SPOC).read_bytes() == before
    entries = read_journal(tmp_path / "j.jsonl")
    assert [e["result"] for e in entries if e["action"] == "verify"] == ["failed"]
    assert [e["service"] for e in entries if e["action"] == "restart_service"] == ["YSoftSQ-SPOC", "YSoftSQ-SPOC"]


def test_utf16_lf_file_round_trips_through_the_real_protocol(fix_lab, tmp_path):
    rel = Path("site2/files/d/SafeQ6/SPOC/conf/modules/spoc.conf")

    def to_utf16_lf(src: Path) -> None:
        p = src / rel
        p.write_bytes(b"\xff\xfe" + p.read_bytes().decode("utf-8").replace("\r\n", "\n").encode("utf-16-le"))

    lab, inv = fix_lab("drift", prepare=to_utf16_lf)
    before = (lab.serve_dir / rel).read_bytes()
    code, out = fix(inv, "--apply", "--yes", "--check", "SPOC-MGMT-LIST", "--node", "SITE2",
                    journal=tmp_path / "j.jsonl")
    assert code == 0, out
    assert "UTF-16 LE with BOM, line endings: LF" in out
    after = (lab.serve_dir / rel).read_bytes()
    assert after.startswith(b"\xff\xfe")
    assert b"\r\x00" not in after
    old_lines = before[2:].decode("utf-16-le").split("\n")
    new_lines = after[2:].decode("utf-16-le").split("\n")
    assert [ln for ln in new_lines if ln not in old_lines] == [
        "serverGUID2=6f1c2a02-3b7e-4c1d-9a55-000000000002", "serverIP2=10.0.10.12", "serverPORT2=6010"]
    assert ("SPOC-MGMT-LIST", "SITE2") not in failing(inv)


def test_partial_fix_keeps_stale_entry_verifies_and_exits_7(fix_lab, tmp_path):
    def site1_lacks_mgmt2(src: Path) -> None:
        p = src / SITE1_SPOC
        text = p.read_bytes().decode()
        text = text.replace("serverGUID2=6f1c2a02-3b7e-4c1d-9a55-000000000002\r\nserverIP2=10.0.10.12\r\n"
                            "serverPORT2=6010\r\n", "")
        p.write_bytes(text.replace("serverGUID3=", "serverGUID2=").replace("serverIP3=", "serverIP2=")
                      .replace("serverPORT3=", "serverPORT2=").encode())

    lab, inv = fix_lab("drift", prepare=site1_lacks_mgmt2)
    journal = tmp_path / "j.jsonl"
    code, out = fix(inv, "--apply", "--yes", "--check", "SPOC-MGMT-LIST", "--node", "SITE1", journal=journal)
    assert code == ExitStatus.APPLIED_BLOCKED, out  # applied and verified, but the stale entry waits
    assert "kept stale entry 2" in out
    assert "verified" in out
    assert "Exit code 7: 1 blocked item(s) above still need your input." in out  # why not 0
    text = (lab.serve_dir / SITE1_SPOC).read_text()
    assert "serverGUID3=6f1c2a02-3b7e-4c1d-9a55-000000000002" in text
    assert "serverIP2=10.0.10.10" in text
    code, out = fix(inv, "--apply", "--yes", "--check", "SPOC-MGMT-LIST", "--node", "SITE1", "--remove-stale",
                    journal=journal)
    assert code == 0, out
    assert ("SPOC-MGMT-LIST", "SITE1") not in failing(inv)
    text = (lab.serve_dir / SITE1_SPOC).read_text()
    assert "10.0.10.10" not in text
    assert "serverGUID2=6f1c2a02-3b7e-4c1d-9a55-000000000002" in text


def test_change_that_cannot_be_journaled_is_not_kept(fix_lab, tmp_path):
    from auditor.fixers.journal import Journal

    class FullDisk(Journal):
        def record(self, *, node, action, result, strict=True, **fields):
            if action == "write_file" and strict:
                self.lost += 1
                from auditor.fixers.journal import JournalError
                raise JournalError("cannot write the fix journal: No space left on device")
            return super().record(node=node, action=action, result=result, strict=strict, **fields)

    lab, inv = fix_lab("drift")
    engine, plan, lines = _engine_setup(lab, inv, tmp_path, remove_stale=True, nodes=["SITE1"])
    engine.journal = FullDisk(tmp_path / "j.jsonl", cluster="drift")
    before = (lab.serve_dir / SITE1_SPOC).read_bytes()
    result = engine.run(plan)
    assert result.exit_code == 5  # rolled back, but the lost journal entry is reported for the admin
    assert "No space left" in (result.outcomes[0].error or "")
    assert (lab.serve_dir / SITE1_SPOC).read_bytes() == before
    assert any("journal entr" in m for m in result.outcomes[0].manual)


def test_changing_a_shared_value_on_every_node_is_not_mistaken_for_drift(fix_lab, tmp_path):
    """All three Management servers move to a new share, one at a time: in between, the first
    node differs from the others, which must not count as 'got worse' (the plan's end state is
    what each node is compared with)."""
    from auditor.lab.scenario_builder import NodeSpec, mgmt_specs, write_cluster

    new_share = "\\\\fs02.corp.example\\paragon\\repo2"
    mgmts = mgmt_specs(3)
    specs = [NodeSpec(name=m.name, ip=m.ip, roles=["management"], mgmt_guid=m.guid,
                      spoc_guid=f"spoc-{m.name.lower()}") for m in mgmts]
    write_cluster(tmp_path / "three", "three", "3 management servers", mgmts, specs)
    for folder in ("mgmt1", "mgmt2", "mgmt3"):
        nj = tmp_path / "three" / folder / "node.json"
        facts = json.loads(nj.read_text())
        facts["probes"][new_share] = {"exists": True, "is_dir": True, "error": None}
        nj.write_text(json.dumps(facts, indent=2))
    lab, inv = fix_lab(tmp_path / "three")
    code, out = fix(inv, "--repository-path", new_share)
    assert code == 1, out
    assert out.count("repository.path=\\\\\\\\fs02") == 3, out
    code, out = fix(inv, "--apply", "--yes", "--repository-path", new_share, journal=tmp_path / "j.jsonl")
    assert code == 0, out
    for folder in ("mgmt1", "mgmt2", "mgmt3"):
        props = lab.serve_dir / folder / "files/c/DispatcherParagon/Management/ims/application.properties"
        assert b"repository.path=\\\\\\\\fs02.corp.example\\\\paragon\\\\repo2" in props.read_bytes()
    assert failing(inv) == []
