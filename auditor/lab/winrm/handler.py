"""The interface between the simulated WinRM endpoint (wsman layer) and whatever runs commands.

The wsman layer (``auditor.lab.winrm.server``) owns the protocol: shells, command ids,
authentication, encryption, chunking, the cmd.exe command-line limit, CLIXML wrapping and
codepage encoding. A ``CommandHandler`` only decides *what a command does* on the simulated
node. Keeping the split here means the executor (``auditor.lab.executor``) never has to know
about SOAP, and the server never has to know about node folders.

Why the server, not the handler, enforces the command-line limit and the encodings: these are
properties of Windows (cmd.exe, the console codepage, powershell.exe's CLIXML stderr) that must
hold for every handler, so a test handler cannot accidentally make an over-long script "work".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class ShellContext:
    """What a WinRS shell knows when a command runs in it (set at Create time)."""

    shell_id: str
    env: dict[str, str]  # from <rsp:Environment> on Create
    working_directory: str | None
    codepage: int  # from WINRS_CODEPAGE (437 default)
    username: str  # authenticated principal


@dataclass
class CommandResult:
    """What a command produced, as text; the server does the Windows-faithful encoding.

    ``stdout``: text; the server converts line endings to CRLF and encodes it in the shell's
    codepage with '?' replacement, as a real console would.
    ``error``: error text or None; for a ``powershell``/``pwsh`` command line the server wraps
    it as CLIXML on stderr (``#< CLIXML\\r\\n<Objs ...><S S="Error">..._x000D__x000A_</S></Objs>``),
    which is what ``powershell -EncodedCommand`` writes for error records (``run_ps`` unwraps
    it); for any other command it is written as plain text.
    ``exit_code``: the process exit code reported in CommandState/Done.
    """

    stdout: str
    error: str | None = None
    exit_code: int = 0


class CommandHandler(Protocol):
    """Runs one command of a shell. Called from a server connection thread.

    ``command_line`` is the text of ``<rsp:Command>`` (for ``run_ps``:
    ``powershell -encodedcommand <base64 UTF-16LE>``), ``arguments`` the ``<rsp:Arguments>``
    values in order, ``skip_cmd_shell`` the WINRS_SKIP_CMD_SHELL option. The command-line
    length limit has already been enforced by the server when this is called.

    Implementations must be thread-safe (several connections may run commands at once) and
    must always return: the client's receive loop has no limit.
    """

    def run(self, shell: ShellContext, command_line: str, arguments: list[str],
            skip_cmd_shell: bool) -> CommandResult: ...


CMD_LINE_LIMIT = 8191
"""Longest command line cmd.exe accepts (the whole ``command arguments`` string)."""
CREATE_PROCESS_LIMIT = 32767
"""Longest command line CreateProcess accepts (used when WINRS_SKIP_CMD_SHELL=TRUE)."""
CMD_LINE_TOO_LONG = "The command line is too long."
