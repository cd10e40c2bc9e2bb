"""The words values are spelled in when they cross a module boundary.

Every status the tool passes between its layers (a node's collection status, a config file's
status in the cluster model, a remote operation's status, a node's outcome in a fix rollout)
and every exit code is a member of one enum here, so a typo is an ``AttributeError`` at import
time instead of a comparison that is silently never true. The same goes for the two spellings
shared by many outputs: the mask that replaces a secret and the UTC timestamp format.

The status enums are :class:`~enum.StrEnum`: a member *is* its string (``NodeStatus.OK ==
"ok"``, ``f"{NodeStatus.OK}"`` is ``ok``, ``json.dumps`` writes ``"ok"``), so node.json,
report.json, the journal, the history database and every console line read exactly as they
did when these were bare strings. :class:`ExitStatus` is an :class:`~enum.IntEnum` in the
manner of httpie's: ``sys.exit(ExitStatus.UNREACHABLE)`` exits with 3.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import IntEnum, StrEnum


class NodeStatus(StrEnum):
    """How collecting one node went (``NodeState.status``; docs/exit-codes.md)."""

    OK = "ok"
    REFUSED = "refused"  # connection refused
    TIMEOUT = "timeout"  # no complete answer within the node's deadline
    AUTH = "auth"  # authentication failed
    TLS = "tls"  # certificate or TLS handshake problem
    PROTOCOL = "protocol"  # garbled, truncated or foreign answer, or a node answering as another host
    ERROR = "error"  # anything else, including a partial collection

    @classmethod
    def failures(cls) -> tuple[NodeStatus, ...]:
        """Every status that means the node was not (fully) collected."""
        return tuple(s for s in cls if s is not cls.OK)


class FileStatus(StrEnum):
    """A configuration file as the cluster model sees it (``FileResult.status``)."""

    OK = "ok"
    MISSING = "missing"  # not on the node
    NOT_COLLECTED = "not_collected"  # the node did not send it
    UNREADABLE = "unreadable"  # collection error or truncated content
    PARSE_ERROR = "parse_error"  # read, but it does not parse
    NO_INSTALL_DIR = "no_install_dir"  # the subsystem's install folder is unknown


class OpStatus(StrEnum):
    """One operation's status in a remote response (docs/protocol.md)."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # apply requests stop at the first failure: the rest are skipped


class ApplyOutcome(StrEnum):
    """Where one node ended in a fix rollout (``NodeOutcome.status``, the journal's ``end``)."""

    VERIFIED = "verified"
    REFUSED = "refused"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_INCOMPLETE = "rollback_incomplete"
    NOT_REACHED = "not_reached"


class ExitStatus(IntEnum):
    """Process exit codes of every command (docs/exit-codes.md, docs/fix.md).

    ``auditor audit`` uses 0-3; ``auditor fix`` uses 0-7 and 130, where 1 means "changes
    pending" (``PENDING`` is the same member as ``FINDINGS``: one code, two readings);
    ``auditor precheck`` uses 0 go, 1 no-go (``FINDINGS``), 2 and 3.
    """

    OK = 0
    FINDINGS = 1  # audit: fail/error findings at or above --fail-on
    PENDING = 1  # fix: a dry run planned changes, or blocked items need the admin's input
    USAGE = 2  # usage or input error
    UNREACHABLE = 3  # a node could not be audited (audit) or collected (fix: nothing applied)
    ROLLED_BACK = 4  # fix: a node failed, its changes were rolled back, the rollout stopped
    ROLLBACK_FAILED = 5  # fix: the rollback is incomplete, manual action needed
    REFUSED = 6  # fix: refused before any change (lock held, installer running, no consent)
    APPLIED_BLOCKED = 7  # fix: every planned change applied and verified, but blocked items remain
    INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP


MASK = "********"
"""What a secret is replaced with wherever it would otherwise be shown or stored."""

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""The one timestamp spelling of reports, snapshots, the journal and the protocol."""

UTC_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\Z")
"""What a UTC time read from a node or a file must look like: :data:`UTC_FORMAT`, optionally
with fractions of a second (the auditing host's own measurements carry milliseconds)."""


def iso_utc(moment: datetime) -> str:
    """``moment`` in :data:`UTC_FORMAT` (converted to UTC when it carries a time zone)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(UTC_FORMAT)


def utc_now() -> str:
    """Now, in :data:`UTC_FORMAT`."""
    return iso_utc(datetime.now(UTC))


def utc_now_ms() -> str:
    """Now, in :data:`UTC_FORMAT` with milliseconds (for measuring, e.g. a node's clock)."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


__all__ = ["MASK", "UTC_FORMAT", "UTC_TIME_RE", "ApplyOutcome", "ExitStatus", "FileStatus", "NodeStatus",
           "OpStatus", "iso_utc", "utc_now", "utc_now_ms"]
