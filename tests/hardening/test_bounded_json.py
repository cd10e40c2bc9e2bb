"""One bounded JSON reader for everything a node or a snapshot sends (auditor/jsonfile.py).

Before: ``node.json`` or ``manifest.json`` nested 100,000 levels deep gave a RecursionError
traceback, an integer of 5,000 digits a ValueError traceback, both with exit 1. Now each
limit (size, depth, number length) is a one-line error naming the file, exit 2, and in a
live answer a ``protocol`` failure of that node only.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.jsonfile import DEFAULT_LIMITS, JsonError, JsonLimits, parse_json, read_json_file
from auditor.lab.winrm.handler import CommandResult
from auditor.remote.protocol import OUTPUT_PREFIX, ProtocolError, parse_output
from auditor.vocab import NodeStatus
from tests.hardening import hx_support
from tests.hardening.hx_support import SCENARIOS, cli_env, rewrite_inventory, run_cli

pytestmark = pytest.mark.timeout(180)
hard_lab = hx_support.hard_lab  # the fixture (this folder has no conftest: see hx_support)

PASSWORD = "Ps-7731-json-Pw!"  # test-only, for 127.0.0.1 listeners
PASSWORD_ENV = "PARAGON_JSON_TEST_PW"
USERNAME = "hx-json"

DEEP = "[" * 100_000 + "]" * 100_000
HUGE_INT = "9" * 5000


def _hostile_variants(original: str) -> dict[str, str]:
    """node.json / manifest.json text with one hostile value spliced in (line 2)."""
    body = original.lstrip()
    assert body.startswith("{")
    return {
        "deep": '{\n"zz_deep": ' + DEEP + ",\n" + body[1:],
        "huge-number": '{\n"zz_number": ' + HUGE_INT + ",\n" + body[1:],
        "infinity": '{\n"zz_number": 1e999,\n' + body[1:],
    }


def _single_line_error(run: hx_support.CliRun, path: Path) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, run.stderr
    assert str(path) in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("variant", ["deep", "huge-number", "infinity"])
@pytest.mark.parametrize("file", ["node.json", "manifest.json"])
def test_hostile_json_in_a_snapshot_is_one_line_exit_2(tmp_path, file, variant):
    snap = tmp_path / "snap"
    shutil.copytree(SCENARIOS / "healthy", snap)
    target = snap / ("site1" if file == "node.json" else "") / file
    target.write_text(_hostile_variants(target.read_text(encoding="utf-8"))[variant], encoding="utf-8")
    run = run_cli(["audit", "--from", str(snap), "--out", str(tmp_path / "out"), "--no-history"],
                  cli_env(tmp_path))
    assert run.returncode == 2, run.stdout + run.stderr
    line = _single_line_error(run, target)
    assert f"{target}:2: " in line  # the line of the hostile value


def test_oversized_node_json_is_refused_before_reading_it_whole(tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(SCENARIOS / "healthy", snap)
    target = snap / "mgmt1" / "node.json"
    with open(target, "r+b") as fh:  # sparse: cheap to make, 64 MB + 1 byte to read
        fh.truncate(DEFAULT_LIMITS.max_bytes + 1)
    run = run_cli(["audit", "--from", str(snap), "--out", str(tmp_path / "out"), "--no-history"],
                  cli_env(tmp_path))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "too large" in _single_line_error(run, target)


def test_each_limit_is_its_own_message():
    limits = JsonLimits(max_bytes=100, max_depth=3, max_number_chars=5)
    cases = {"[" * 4 + "]" * 4: "nested more than 3 levels", "[123456]": "a number of 6 characters",
             "[1.00000]": "a number of 7 characters", "[NaN]": "not a finite JSON number",
             " " * 101: "too large", b'["\xff"]': "not UTF-8", "[1,": "invalid JSON"}
    for text, message in cases.items():
        with pytest.raises(JsonError, match=message):
            parse_json(text, limits)
    assert parse_json("[[[12345]]]", limits) == [[[12345]]]


def test_file_reader_names_the_file_and_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{\n "a": [\n  ' + "1" * 50 + "]}", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_json_file(path)
    assert str(err.value).startswith(f"{path}:3: a number of 50 characters")


# ---- live answers: a node that sends hostile JSON is a protocol failure of that node ------------


class RewrittenAnswer:
    """Wraps the lab executor: splices raw JSON text into its collect answer's first result."""

    def __init__(self, inner, splice: str):
        self.inner = inner
        self.splice = splice

    def run(self, shell, command_line, arguments, skip_cmd_shell):
        res = self.inner.run(shell, command_line, arguments, skip_cmd_shell)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith(OUTPUT_PREFIX)), None)
        if line is None:
            return res
        text = base64.b64decode(line[len(OUTPUT_PREFIX):]).decode("ascii")
        if json.loads(text).get("kind") != "collect":
            return res
        text = text.replace('"hostname":', '"zz_hostile":' + self.splice + ',"hostname":', 1)
        payload = base64.b64encode(text.encode("ascii")).decode("ascii")
        return CommandResult(stdout=f"{OUTPUT_PREFIX}{payload}\n", error=res.error, exit_code=res.exit_code)


@pytest.mark.parametrize("splice,expect", [(DEEP, "nested more than"), (HUGE_INT, "a number of 5,000"),
                                           ("[1e999]", "not a finite")])
def test_hostile_live_answer_is_a_protocol_failure_of_that_node(tmp_path, splice, expect):
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    def factory(entry, node_dir):
        inner = make_handler(entry, node_dir)
        return RewrittenAnswer(inner, splice) if entry.name == "SITE2" else inner

    scenario = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "healthy", scenario)
    with LabCluster(scenario, handler_factory=factory, scheme="http", username=USERNAME, password=PASSWORD,
                    workdir=tmp_path / "lab") as lab:
        inv = lab.write_inventory(tmp_path / "inv" / "inventory.yaml", password_env=PASSWORD_ENV)
        rewrite_inventory(inv, {"deadline": 30})
        env = cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD})
        run = run_cli(["audit", "--inventory", str(inv), "--out", str(tmp_path / "out"), "--no-progress",
                       "--no-history"], env)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 3, run.stdout + run.stderr
    nodes = {n["name"]: n for n in json.loads((tmp_path / "out" / "report.json").read_text())["nodes"]}
    assert {name: n["status"] for name, n in nodes.items()} == {
        "MGMT1": "ok", "MGMT2": "ok", "SITE1": "ok", "SITE2": "protocol"}
    assert expect in nodes["SITE2"]["reason"]


def test_parse_output_limits_the_decoded_size():
    payload = base64.b64encode(json.dumps({"x": "y" * 1000}).encode()).decode()
    with pytest.raises(ProtocolError, match="too large"):
        parse_output(f"{OUTPUT_PREFIX}{payload}\n".encode(), max_bytes=500)


def test_valid_answer_ten_times_the_limit_in_small_pieces_is_cut_off_early(tmp_path, hard_lab):
    """The output limit counts every piece: a valid answer of ~6 MB arriving in 8 KB Receives
    against a 0.5 MB limit stops after about 64 of them, the node is failed with the reason,
    and the other nodes are audited."""
    scenario = tmp_path / "big"
    shutil.copytree(SCENARIOS / "healthy", scenario)
    node = scenario / "site2" / "node.json"
    data = json.loads(node.read_text(encoding="utf-8"))
    data["interfaces"] += [{"name": f"Teamed virtual adapter #{i}", "ipv4": [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"]}
                           for i in range(80_000)]
    node.write_text(json.dumps(data), encoding="utf-8")
    cluster, inv = hard_lab(scenario, password=PASSWORD, username=USERNAME, password_env=PASSWORD_ENV,
                            faults={"SITE2": {"chunk_bytes": 8192}})
    rewrite_inventory(inv, {"deadline": 60}, {"SITE2": {"max_output_mb": 0.5}})
    run = run_cli(["audit", "--inventory", str(inv), "--out", str(tmp_path / "out"), "--no-progress",
                   "--no-history"], cli_env(tmp_path, **{PASSWORD_ENV: PASSWORD}))
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 3, run.stdout + run.stderr
    nodes = {n["name"]: n for n in json.loads((tmp_path / "out" / "report.json").read_text())["nodes"]}
    assert set(nodes) == {"MGMT1", "MGMT2", "SITE1", "SITE2"}  # every node accounted for
    assert [name for name, n in nodes.items() if NodeStatus(n["status"]) is not NodeStatus.OK] == ["SITE2"]
    assert NodeStatus(nodes["SITE2"]["status"]) is NodeStatus.ERROR
    assert "output exceeded 524288 bytes" in nodes["SITE2"]["reason"]
    assert "Traceback" not in run.stdout
    receives = cluster.server("SITE2").actions.get("Receive", 0)
    assert 50 < receives < 200, receives  # the whole answer would take about 1,000


@pytest.mark.parametrize(("document", "expected"), [
    (b'{"h": "MGMT2\\ud800"}', {"h": "MGMT2\ufffd"}),  # a lone surrogate escape, lower-case hex
    (b'{"h": "a\\uDFFFb"}', {"h": "a\ufffdb"}),  # upper-case hex
    (b'{"\\udc00": 1}', {"\ufffd": 1}),  # in a key
    (b'{"h": "\\ud83d\\ude00"}', {"h": "\U0001f600"}),  # a pair: one valid character
    (b'{"h": "\\\\ud800"}', {"h": "\\ud800"}),  # an escaped backslash, then text
    ('{"h": "x\ud800"}', {"h": "x\ufffd"}),  # text (not bytes) with a raw lone surrogate
], ids=["lower", "upper", "key", "pair", "escaped-backslash", "str-input"])
def test_lone_surrogates_are_replaced_whatever_the_path(document, expected):
    """parse_json skips the repair walk when strict UTF-8 bytes carry no surrogate escape; every
    document that can hold a lone surrogate still gets it replaced."""
    assert parse_json(document) == expected
