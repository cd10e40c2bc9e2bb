"""TEST FIXTURE ONLY: a tiny CommandHandler for exercising the lab's WinRM layer.

It is not the lab executor (``auditor.lab.executor``); it only decodes
``powershell -encodedcommand`` and obeys a few directives in the script text:

- ``fail:TEXT``      -> error TEXT (CLIXML on stderr), exit 1
- ``exit:N``         -> exit code N, no output
- ``big:N``          -> N bytes of deterministic stdout
- ``env:NAME``       -> the shell environment variable NAME
- ``hostname``       -> the node name (from the node entry)
- anything else      -> echoed back with the authenticated user, ``user=<name>\\n<script>``
"""

from __future__ import annotations

import base64
from pathlib import Path

from auditor.lab.winrm.handler import CommandResult, ShellContext


def decode_script(command_line: str) -> str | None:
    parts = command_line.split()
    lower = [p.lower() for p in parts]
    for flag in ("-encodedcommand", "-enc", "-e"):
        if flag in lower and lower.index(flag) + 1 < len(parts):
            return base64.b64decode(parts[lower.index(flag) + 1]).decode("utf-16-le")
    return None


def big_output(n: int) -> str:
    line = "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    return (line * (n // len(line) + 1))[:n]


class EchoHandler:
    def __init__(self, node_name: str = "NODE"):
        self.node_name = node_name
        self.calls: list[tuple[str, list[str], bool]] = []

    def run(self, shell: ShellContext, command_line: str, arguments: list[str], skip_cmd_shell: bool) -> CommandResult:
        self.calls.append((command_line, arguments, skip_cmd_shell))
        script = decode_script(command_line)
        if script is None:
            script = " ".join([command_line, *arguments])
        if script.startswith("fail:"):
            return CommandResult(stdout="", error=script[5:], exit_code=1)
        if script.startswith("exit:"):
            return CommandResult(stdout="", exit_code=int(script[5:]))
        if script.startswith("big:"):
            return CommandResult(stdout=big_output(int(script[4:])))
        if script.startswith("env:"):
            return CommandResult(stdout=shell.env.get(script[4:], "<unset>"))
        if script == "hostname":
            return CommandResult(stdout=self.node_name + "\n")
        return CommandResult(stdout=f"user={shell.username}\n{script}\n")


def make_handler(node_entry, node_dir: Path) -> EchoHandler:
    """Handler factory with the signature LabCluster / `auditor lab serve --handler` expect."""
    return EchoHandler(node_entry.name)
