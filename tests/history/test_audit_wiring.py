"""The wiring recommended for `auditor audit`, exercised through a stand-in click command
(the real audit command is owned by the report pipeline): options -> hooks -> run_audit ->
notify, against the lab's drift scenario and a local SMTP server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from click.testing import CliRunner

from auditor.audit import exit_code_for, run_audit
from auditor.cli import _AuditorGroup
from auditor.history.options import audit_history_options, setup_audit_extras
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile

SCENARIO = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios" / "drift"


@click.group(cls=_AuditorGroup)
def cli() -> None:
    pass


@cli.command("audit")
@click.option("--from", "from_dir", type=click.Path(path_type=Path), required=True)
@audit_history_options
def audit(from_dir, history_path, no_history, waivers_path, waiver_tz, notify_config_path, notify_always):
    profile = load_profile(None)
    extras = setup_audit_extras(history_path=history_path, no_history=no_history, waivers_path=waivers_path,
                                waiver_tz=waiver_tz, notify_config_path=notify_config_path,
                                notify_always=notify_always, profile=profile)
    manifest, states = load_cluster_folder(from_dir)
    if extras.history is not None:
        extras.history.cluster = manifest.name
    report = run_audit(states, profile, source_label=str(from_dir), waivers=extras.waivers,
                       history=extras.history, today=date(2026, 11, 25))
    result = extras.notify_after(report, "reports/index.html")
    click.echo(f"run_id={report.run.run_id} notified={bool(result and result.mail_sent)}")
    click.get_current_context().exit(exit_code_for(report, "high"))


def test_audit_options_record_and_notify_only_on_new(tmp_path, smtp_server):
    host, port, cap = smtp_server
    notify_yaml = tmp_path / "notify.yaml"
    notify_yaml.write_text(f"mail:\n  host: {host}\n  port: {port}\n  from: a@x\n  to: [b@x]\n  timeout: 5\n")
    args = ["audit", "--from", str(SCENARIO), "--history", str(tmp_path / "h.sqlite"),
            "--notify-config", str(notify_yaml)]
    runner = CliRunner()
    r1 = runner.invoke(cli, args, catch_exceptions=False)
    assert "run_id=1 notified=True" in r1.output  # first run: every failure is new
    r2 = runner.invoke(cli, args, catch_exceptions=False)
    assert "run_id=2 notified=False" in r2.output  # nothing new
    r3 = runner.invoke(cli, [*args, "--notify-always"], catch_exceptions=False)
    assert "run_id=3 notified=True" in r3.output
    assert len(cap.messages) == 2

    r4 = runner.invoke(cli, ["audit", "--from", str(SCENARIO), "--no-history", "--notify-config", str(notify_yaml),
                             "--notify-always"], catch_exceptions=False)
    assert "run_id=None notified=True" in r4.output
    r5 = runner.invoke(cli, ["audit", "--from", str(SCENARIO), "--no-history", "--notify-config", str(notify_yaml)])
    assert r5.exit_code == 2
    assert "need the history" in r5.output


def test_audit_option_errors_exit_2_before_work(tmp_path, monkeypatch):
    monkeypatch.setenv("PARAGON_AUDITOR_HISTORY", str(tmp_path / "env-history.sqlite"))
    runner = CliRunner()
    bad = tmp_path / "w.yaml"
    bad.write_text("- check: X\n  reason: r\n  owner: o\n  expires: soon\n")
    cases = [
        (["--waivers", str(bad)], f"{bad}:4: expires must be a date"),
        (["--notify-always"], "--notify-always needs --notify-config"),
        (["--no-history", "--history", str(tmp_path / "h")], "exclude each other"),
        (["--waiver-tz", "Nowhere/Town"], "unknown time zone"),
    ]
    for extra, message in cases:
        r = runner.invoke(cli, ["audit", "--from", str(SCENARIO), *extra], catch_exceptions=False)
        assert r.exit_code == 2, (extra, r.output)
        assert message in r.output
    assert not (tmp_path / "env-history.sqlite").exists()  # nothing created for a failed start


def test_broken_history_still_notifies_every_failure(tmp_path, smtp_server):
    host, port, cap = smtp_server
    notify_yaml = tmp_path / "notify.yaml"
    notify_yaml.write_text(f"mail:\n  host: {host}\n  port: {port}\n  from: a@x\n  to: [b@x]\n  timeout: 5\n")
    hist = tmp_path / "h.sqlite"
    runner = CliRunner()
    args = ["audit", "--from", str(SCENARIO), "--history", str(hist), "--notify-config", str(notify_yaml)]
    runner.invoke(cli, args, catch_exceptions=False)
    runner.invoke(cli, args, catch_exceptions=False)
    assert len(cap.messages) == 1  # second run: nothing new

    import sqlite3

    raw = sqlite3.connect(hist)  # the file becomes unusable for writing after the hooks were set up
    raw.execute("CREATE TRIGGER no_runs BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    raw.commit()
    raw.close()
    r = runner.invoke(cli, args, catch_exceptions=False)
    assert "run_id=None notified=True" in r.output, r.output
    assert "history not recorded" in cap.messages[-1]["data"]
    assert "New failing findings" in cap.messages[-1]["data"]
