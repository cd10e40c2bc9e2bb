"""The lab's interpreter of the remote request protocol, run against a node folder.

The lab WinRM endpoint (``auditor.lab.winrm``) hands every command to a ``CommandHandler``;
:func:`make_handler` gives one per simulated node. It plays the part of
``powershell -EncodedCommand <bootstrap>`` + ``executor.ps1`` on a Windows node:

* it accepts only the exact auditor bootstrap, with exactly the shipped executor in the shell
  variables (compared by SHA-256), and a request that passes
  :func:`auditor.remote.protocol.validate_request`;
* it executes every op against the node folder (``node.json`` + ``files/``) with the same
  rules as ``executor.ps1`` (``auditor.lab.collect_ops``, ``auditor.lab.apply_ops``; shared
  rules in ``auditor.remote.protocol`` and ``auditor.winpath``) and answers with the same
  bytes the PowerShell side would write for the same data;
* apply ops really change the node folder (atomic writes, ``node.json`` updated), so a fix
  can be re-collected and verified;
* a short, explicit list of "naive admin" one-liners (:data:`NAIVE_COMMANDS`,
  ``auditor.lab.naive``) is understood so the benchmark can compare against
  ``Session.run_ps`` usage.

Anything else fails loudly (error text, exit code 1): the lab never makes up a plausible
answer for something it does not simulate. Faults come from the manifest entry's
``lab.faults`` (see :data:`FAULTS`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from auditor.lab.apply_ops import APPLY_OPS
from auditor.lab.collect_ops import COLLECT_OPS
from auditor.lab.naive import NAIVE_COMMANDS, run_naive
from auditor.lab.node_data import FAULTS, LabNode, OpFailed
from auditor.lab.winrm.handler import CommandHandler, CommandResult, ShellContext
from auditor.manifest import NodeEntry
from auditor.remote import bootstrap
from auditor.remote.protocol import ProtocolError, encode_output, validate_request
from auditor.vocab import OpStatus, iso_utc

HUGE_DEFAULT = 20 * 1024 * 1024
_OPS = {**COLLECT_OPS, **APPLY_OPS}


class LabFailure(Exception):
    """The lab cannot interpret a command: becomes error text + exit code 1."""


_PS_LINE = re.compile(
    r"^\s*powershell(?:\.exe)?((?:\s+-(?:NoProfile|NonInteractive))*)\s+-(?:EncodedCommand|enc|ec|e)\s+"
    r"([A-Za-z0-9+/=]+)\s*$", re.IGNORECASE)


def decode_command_line(command_line: str) -> str:
    """The PowerShell script of ``powershell ... -EncodedCommand <b64 UTF-16LE>``."""
    m = _PS_LINE.match(command_line)
    if not m:
        raise LabFailure(f"lab: cannot interpret command line (not powershell -EncodedCommand): {command_line[:80]!r}")
    try:
        return base64.b64decode(m.group(2), validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise LabFailure("lab: -EncodedCommand argument is not base64 of UTF-16LE text") from None


EXTRA_EXECUTORS_VAR = "PARAGON_LAB_EXTRA_EXECUTORS"
"""Comma-separated sha256 digests of other executor.ps1 versions this lab process also accepts.

Only the benchmark sets it, to run an earlier commit's client against today's lab (the A/B of
``make bench``): the lab answers from the request, which that executor's protocol version
shares, so its client does the same work. Unset, the lab accepts exactly the shipped executor."""


def _extra_executors() -> frozenset[str]:
    return frozenset(d for d in os.environ.get(EXTRA_EXECUTORS_VAR, "").split(",") if d)


def _unpack_env(env: dict[str, str], prefix: str) -> str:
    b64 = bootstrap.read_env_chunks(env, prefix)
    if b64 is None:
        raise LabFailure(f"paragon-auditor bootstrap: shell variable {prefix}0 is missing")
    try:
        return bootstrap.unpack(b64)
    except (OSError, EOFError, ValueError, binascii.Error):
        raise LabFailure(f"lab: {prefix}* does not hold gzip+base64 text") from None


class LabExecutor:
    """A :class:`CommandHandler` for one simulated node (thread-safe; see module docstring)."""

    def __init__(self, node_entry: NodeEntry, node_dir: Path):
        self.node = LabNode(node_entry, node_dir)

    @property
    def faults(self) -> dict[str, Any]:
        """The node's executor-level faults, normalised (:data:`FAULTS`)."""
        return self.node.faults

    def run(self, shell: ShellContext, command_line: str, arguments: list[str],
            skip_cmd_shell: bool) -> CommandResult:
        try:
            if arguments:
                raise LabFailure(f"lab: unexpected command arguments {arguments!r}")
            script = decode_command_line(command_line)
            if script == bootstrap.bootstrap_script():
                return self._run_protocol(shell)
            answer = run_naive(self.node, script.strip())
            if answer is None:
                raise LabFailure(f"lab: unrecognised script (neither the paragon-auditor bootstrap nor a supported "
                                 f"one-liner, see docs/protocol.md): {script.strip()[:100]!r}")
            return answer
        except LabFailure as exc:
            return CommandResult(stdout="", error=str(exc), exit_code=1)
        except Exception as exc:  # noqa: BLE001 - e.g. a hand-edited node.json: fail loudly, never hang
            return CommandResult(stdout="", error=f"lab: cannot simulate {self.node.entry.name}: "
                                                   f"{type(exc).__name__}: {exc}", exit_code=1)

    def _run_protocol(self, shell: ShellContext) -> CommandResult:
        env = shell.env or {}
        executor = _unpack_env(env, bootstrap.EXECUTOR_VAR)
        got = hashlib.sha256(executor.encode("utf-8")).hexdigest()
        if got != bootstrap.executor_sha256() and got not in _extra_executors():
            raise LabFailure(f"lab: the executor sent (sha256 {got[:16]}...) is not the shipped executor.ps1 "
                             f"(sha256 {bootstrap.executor_sha256()[:16]}...)")
        request_text = _unpack_env(env, bootstrap.REQUEST_VAR)
        try:
            request = json.loads(request_text)
        except json.JSONDecodeError as exc:
            raise LabFailure(f"paragon-auditor executor: request is not valid JSON: {exc}") from None
        try:
            validate_request(request)
        except ProtocolError as exc:
            raise LabFailure(f"paragon-auditor executor: {exc}") from None
        with self.node.lock:
            response = self._execute(request, env)
        out = encode_output(response).replace("\r\n", "\n")
        return self._apply_output_faults(out)

    def _apply_output_faults(self, out: str) -> CommandResult:
        faults = self.node.faults
        if faults.get("garbage_output"):
            return CommandResult(stdout="Get-CimInstance : Zugriff verweigert\n\x1b[2J#< junk ~~~ 0xDEADBEEF\n")
        if faults.get("truncated_output"):
            return CommandResult(stdout=out[: len(out) // 2])
        huge = faults.get("huge_output")
        if huge:
            size = HUGE_DEFAULT if huge is True else int(huge)
            line = "WARNING: " + "x" * 1014 + "\n"
            return CommandResult(stdout=line * (size // len(line) + 1) + out)
        return CommandResult(stdout=out)

    def _execute(self, request: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
        """Every op in order, as executor.ps1 runs them: a failed op is reported; in an apply
        request the first failure skips the rest."""
        started = iso_utc(self.node.clock())
        data = self.node.load()
        results = []
        stop = False
        kind = request["kind"]
        op_errors = self.node.faults.get("op_errors") or {}
        for op in request["ops"]:
            r: dict[str, Any] = {"op": op["op"], "id": op["id"], "status": OpStatus.OK, "error": None, "data": None}
            if stop:
                r["status"], r["error"] = OpStatus.SKIPPED, "not run: an earlier op failed"
            else:
                try:
                    if op["op"] in op_errors:
                        raise OpFailed(str(op_errors[op["op"]]))
                    r["data"] = _OPS[op["op"]](self.node, op, data, env)
                except OpFailed as exc:
                    r["status"], r["error"] = OpStatus.FAILED, str(exc)
                    stop = kind == "apply"
                except OSError as exc:  # the node's file system said no (permissions, a full disk):
                    # on Windows an exception inside an op is that op's failure, with its message
                    r["status"], r["error"] = OpStatus.FAILED, exc.strerror or str(exc)
                    stop = kind == "apply"
            results.append(r)
        return {"protocol": 1, "kind": kind, "request_id": request["request_id"],
                "hostname": self.node.hostname(data), "started": started, "finished": iso_utc(self.node.clock()),
                "results": results}


def make_handler(node_entry: NodeEntry, node_dir: Path) -> CommandHandler:
    """A command handler that runs the auditor protocol against ``node_dir``."""
    return LabExecutor(node_entry, node_dir)


__all__ = ["FAULTS", "NAIVE_COMMANDS", "LabExecutor", "decode_command_line", "make_handler"]
