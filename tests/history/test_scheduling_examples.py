"""The scheduling examples stay valid: task XML, PowerShell syntax, cron line, flags that
exist, notify/waivers examples that load, and no secret in any of them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.history.options import audit_history_options
from auditor.notify import load_notify_config
from auditor.waivers import load_waivers

ROOT = Path(__file__).resolve().parents[2]
SCHED = ROOT / "examples" / "scheduling"
TASK_NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"


def known_audit_flags() -> set[str]:
    import click

    audit = main.get_command(click.Context(main), "audit")
    flags = {o for p in audit.params for o in getattr(p, "opts", [])}
    stand_in = audit_history_options(click.command()(lambda **kw: None))
    flags |= {o for p in stand_in.params for o in p.opts}
    return flags


def test_task_xml_runs_the_wrapper_as_gmsa_daily():
    root = ET.parse(SCHED / "paragon-auditor-nightly.xml").getroot()
    assert root.tag == f"{TASK_NS}Task"
    principal = root.find(f"{TASK_NS}Principals/{TASK_NS}Principal")
    assert principal.findtext(f"{TASK_NS}UserId").endswith("$")  # a gMSA
    assert principal.findtext(f"{TASK_NS}LogonType") == "Password"
    trigger = root.find(f"{TASK_NS}Triggers/{TASK_NS}CalendarTrigger")
    assert trigger.findtext(f"{TASK_NS}ScheduleByDay/{TASK_NS}DaysInterval") == "1"
    assert root.findtext(f"{TASK_NS}Settings/{TASK_NS}MultipleInstancesPolicy") == "IgnoreNew"
    args = root.findtext(f"{TASK_NS}Actions/{TASK_NS}Exec/{TASK_NS}Arguments")
    assert "-File" in args
    assert "run-nightly.ps1" in args


def test_powershell_wrapper_parses_and_uses_real_flags():
    ts = pytest.importorskip("tree_sitter")
    tsp = pytest.importorskip("tree_sitter_powershell")
    source = (SCHED / "run-nightly.ps1").read_bytes()
    tree = ts.Parser(ts.Language(tsp.language())).parse(source)
    assert not tree.root_node.has_error
    text = source.decode()
    assert "exit $exitCode" in text
    used = set(re.findall(r"'(--[a-z-]+)'", text))
    assert used, used - known_audit_flags()
    assert used <= known_audit_flags(), used - known_audit_flags()


def test_cron_line_is_valid_and_uses_real_flags():
    lines = [ln for ln in (SCHED / "paragon-auditor.cron").read_text().splitlines()
             if ln.strip() and not ln.startswith("#") and "=" not in ln.split()[0]]
    assert len(lines) == 1
    fields = lines[0].split()
    minute, hour, dom, month, dow, user = fields[:6]
    assert (minute, hour, dom, month, dow, user) == ("30", "2", "*", "*", "*", "paragon-audit")
    assert "%" not in lines[0]  # would be a newline in cron
    used = set(re.findall(r"(?<=\s)(--[a-z-]+)", lines[0]))
    assert used <= known_audit_flags(), used - known_audit_flags()
    doc = (ROOT / "docs" / "scheduling.md").read_text()
    assert lines[0] in doc  # the doc shows exactly the shipped line


def test_logrotate_and_env_examples():
    conf = (SCHED / "logrotate.conf").read_text()
    assert conf.count("{") == conf.count("}") == 2
    env = (SCHED / "nightly.env").read_text()
    values = [ln.split("=", 1)[1] for ln in env.splitlines() if ln and not ln.startswith("#")]
    assert values == ["change-me"]  # placeholders only


def test_notify_and_waiver_examples_load():
    cfg = load_notify_config(ROOT / "examples" / "notify.yaml")
    assert cfg.mail is not None
    assert cfg.webhook is not None
    assert cfg.webhook.url_env
    assert len(load_waivers(ROOT / "examples" / "waivers.yaml")) == 3
