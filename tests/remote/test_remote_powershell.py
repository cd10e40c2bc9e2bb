"""Static checks of the PowerShell that runs on the nodes (no PowerShell on this machine):
both scripts parse without errors (tree-sitter), the command line fits cmd.exe, and the
executor implements every op and the rules the protocol relies on."""

from __future__ import annotations

import base64
import re

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Parser

from auditor.remote import bootstrap
from auditor.remote.protocol import APPLY_OPS, COLLECT_OPS

PARSER = Parser(Language(tree_sitter_powershell.language()))


def syntax_errors(source: str) -> list[str]:
    data = source.encode("utf-8")
    tree = PARSER.parse(data)
    bad: list[str] = []

    def walk(node) -> None:
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            bad.append(f"line {line}: {node.type} {data[node.start_byte:node.end_byte][:60]!r}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return bad


@pytest.mark.parametrize("name", ["executor", "bootstrap"])
def test_scripts_parse_without_errors(name):
    source = bootstrap.executor_script() if name == "executor" else bootstrap.bootstrap_script()
    assert syntax_errors(source) == []


def test_the_parser_does_catch_broken_powershell():
    assert syntax_errors("function f { if ($a -eq 1) { 'x' }")  # missing brace
    assert syntax_errors("$x = @(Get-Item a | Sort-Object -Property A, B)")  # grammar gap we avoid
    assert syntax_errors("$ok = 1; try { 1 } catch { 2 }") == []


def test_command_line_is_fixed_and_under_the_cmd_limit():
    line = bootstrap.command_line()
    assert line.startswith("powershell -NoProfile -NonInteractive -EncodedCommand ")
    assert len(line) < 8191 // 3, len(line)  # plenty of room under cmd.exe's 8191
    script = base64.b64decode(line.rsplit(" ", 1)[1]).decode("utf-16-le")
    assert script == bootstrap.bootstrap_script()
    assert "PA_X" in script
    assert "PA_R" in script
    assert "GZipStream" in script
    assert "exit $global:PAExit" in script


def test_executor_implements_every_op_and_the_output_contract():
    src = bootstrap.executor_script()
    for op in COLLECT_OPS + APPLY_OPS:
        assert re.search(rf"^\s+'{op}' {{ return \(PA-Op", src, re.M), op
    assert src.lstrip().splitlines()[0].startswith("#")
    assert re.search(r"^param\(\[string\]\$RequestJson\)$", src, re.M)
    assert "$ProgressPreference = 'SilentlyContinue'" in src
    assert "$ErrorActionPreference = 'Stop'" in src
    assert "'PARAGON-AUDITOR/1 ' + [Convert]::ToBase64String" in src
    assert "$global:PAExit = 0" in src
    assert "Get-CimInstance -ClassName Win32_Service" in src
    assert "Get-NetTCPConnection -State Listen" in src
    assert "[System.IO.File]::Replace(" in src  # atomic replacement
    assert src.isascii()  # the script itself survives any codepage
    # never the PowerShell automatic $pid / $input / $args / $matches as our own variables
    assert not re.search(r"\$(pid|input|args|matches)\s*=", src, re.I)


def test_shell_env_chunks_and_envelope_limit():
    env = bootstrap.shell_env('{"x":1}')
    assert set(env) == {"PA_X0", "PA_R0"}
    assert bootstrap.unpack(env["PA_X0"]) == bootstrap.executor_script()
    big = "".join(f"{i:07d}" for i in range(30000))  # incompressible enough: several chunks
    big_env = bootstrap.shell_env(big)
    assert all(len(v) <= bootstrap.CHUNK_CHARS for v in big_env.values())
    assert bootstrap.unpack(bootstrap.read_env_chunks(big_env, "PA_R")) == big
    import os
    noise = base64.b64encode(os.urandom(120_000)).decode()
    with pytest.raises(bootstrap.RequestTooLarge, match="MaxEnvelopeSize is 153600"):
        bootstrap.shell_env(noise)
    with pytest.raises(Exception, match="secret variable names must match") as ei:
        bootstrap.shell_env("{}", {"hunter2-password": "x"})
    assert "hunter2" not in str(ei.value)


def test_every_called_helper_is_defined_and_every_helper_is_used():
    src = bootstrap.executor_script()
    tree = PARSER.parse(src.encode())
    defined: set[str] = set()
    called: set[str] = set()

    def walk(node) -> None:
        if node.type == "function_statement":
            name = next((c for c in node.children if c.type == "function_name"), None)
            if name is not None:
                defined.add(name.text.decode())
        if node.type == "command_name":
            called.add(node.text.decode())
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    ours_called = {c for c in called if c.startswith("PA-")}
    assert defined
    assert ours_called
    assert ours_called - defined == set()
    assert defined - ours_called == set()


def test_largest_accepted_request_fits_the_real_create_envelope(monkeypatch):
    """Measure the Create message pywinrm really builds for the biggest request shell_env accepts."""
    import os

    from winrm.protocol import Protocol

    from auditor.remote import build_apply_request, write_file_op
    from auditor.remote.protocol import response_json

    def env_for(n: int) -> dict[str, str]:
        content = base64.b64encode(os.urandom(n))  # incompressible
        req = build_apply_request([write_file_op("C:\\a\\b.conf", content, None)])
        return bootstrap.shell_env(response_json(req), {"PA_S_PW": "<&>\"'" * 20})

    lo, hi = 1_000, 200_000
    while hi - lo > 256:
        mid = (lo + hi) // 2
        try:
            env_for(mid)
            lo = mid
        except bootstrap.RequestTooLarge:
            hi = mid
    env = env_for(lo)
    assert lo > 60_000  # a useful amount of file content still fits
    sent: list[str] = []

    def capture(self, message):
        sent.append(message)
        raise RuntimeError("captured")

    monkeypatch.setattr(Protocol, "send_message", capture)
    p = Protocol("http://127.0.0.1:1/wsman", transport="ntlm", username="u", password="p", proxy=None)
    with pytest.raises(RuntimeError, match="captured"):
        p.open_shell(env_vars=env, noprofile=True)
    size = len(sent[0].encode("utf-8"))
    assert 140_000 < size <= 153600, size  # close to the limit, never over
