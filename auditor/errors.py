"""The error types that the CLI turns into clear messages (never tracebacks).

Exit codes live in :class:`auditor.vocab.ExitStatus`.
"""

from __future__ import annotations

from auditor.vocab import ExitStatus


class AuditorError(Exception):
    """An error caused by input or environment that the user can fix.

    The CLI prints ``str(error)`` and exits with ``exit_code``; no traceback.
    """

    exit_code: int = ExitStatus.USAGE


class InputError(AuditorError):
    """A file the user gave us (inventory, profile, snapshot, waivers...) is invalid.

    ``source`` names the file and ``line`` the 1-based line when known, so the message can
    point the admin at the exact spot.
    """

    def __init__(self, message: str, source: str | None = None, line: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(f"{where}{message}")
