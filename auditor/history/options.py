"""Click options shared by every command that touches the history file.

The ``audit`` command reuses :data:`history_option` / :data:`no_history_option` so the
flag, the environment variable and the default path are the same everywhere.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from auditor.history.schema import connect
from auditor.history.store import ENV_HISTORY, resolve_history_path

history_option = click.option(
    "--history",
    "history_path",
    metavar="PATH",
    default=None,
    help=f"History database (SQLite). Default: ${ENV_HISTORY} or ~/.paragon-auditor/history.sqlite.",
)

no_history_option = click.option(
    "--no-history",
    is_flag=True,
    default=False,
    help="Do not record this run in the history database (and show no drift/trend).",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def open_history(history_path: str | None, *, create: bool = False) -> tuple[sqlite3.Connection, Path]:
    """Resolve ``--history``/env/default and open it (read commands: the file must exist)."""
    path = resolve_history_path(history_path)
    return connect(path, create=create), path


# --------------------------------------------------------------------------------------
# Everything `auditor audit` needs for history, waivers and notifications, in one place
# --------------------------------------------------------------------------------------
def audit_history_options(f):
    """Adds --history, --no-history, --waivers, --waiver-tz, --notify-config, --notify-always.

    Parameter names passed to the command: history_path, no_history, waivers_path, waiver_tz,
    notify_config_path, notify_always.
    """
    f = click.option("--notify-always", is_flag=True, default=False,
                     help="Send the notification after every run, not only when something new fails.")(f)
    f = click.option("--notify-config", "notify_config_path", metavar="FILE", default=None,
                     type=click.Path(dir_okay=False),
                     help="Mail/webhook settings (YAML, see docs/scheduling.md); notifies when something "
                          "new fails since the last run.")(f)
    f = click.option("--waiver-tz", "waiver_tz", metavar="TZ", default=None,
                     help="Time zone for waiver expiry dates (IANA name, e.g. Europe/Prague). "
                          "Default: this machine's local date.")(f)
    f = click.option("--waivers", "waivers_path", metavar="FILE", default=None, type=click.Path(dir_okay=False),
                     help="Waivers YAML (see docs/waivers.md): accepted deviations with owner and expiry.")(f)
    f = no_history_option(f)
    f = history_option(f)
    return f


@dataclass
class AuditExtras:
    """Hooks and settings built from the audit options, validated before any collection."""

    waivers: Any = None  # auditor.waivers.WaiverFile | None
    history: Any = None  # auditor.history.hook.HistoryRecorder | None
    notify_config: Any = None  # auditor.notify.NotifyConfig | None
    today: date | None = None

    def notify_after(self, report: Any, report_location: str | None = None) -> Any:
        """Send notifications for a finished (recorded) run; prints problems as warnings.

        Returns the :class:`auditor.notify.NotifyResult`, or None when not configured.
        """
        if self.notify_config is None:
            return None
        from auditor.notify import notify

        warnings = list(getattr(report.run, "warnings", []) or [])
        if self.history is not None and self.history.run_id is not None:
            summary = self.history.summary(report, report_location)
            new = self.history.new_failures
        else:
            summary = {"run_id": None, "finished_at": report.run.finished_at, "report": report_location,
                       "cluster": getattr(self.history, "cluster", "") or report.run.source}
            if self.history is not None:
                # Recording failed (locked/corrupt file, full disk): we cannot tell what is new,
                # and staying silent would hide every failure until someone reads the log.
                new = [f.to_dict() for f in report.findings if f.failing]
                warnings.append("history not recorded: every failing finding is listed as new")
            else:  # --no-history: nothing is known to be new; only --notify-always sends
                new = []
        summary["warnings"] = warnings
        result = notify(summary, new, self.notify_config)
        for err in result.errors:
            click.echo(f"warning: {err}", err=True)
        return result


def setup_audit_extras(*, history_path: str | None = None, no_history: bool = False,
                       waivers_path: str | None = None, waiver_tz: str | None = None,
                       notify_config_path: str | None = None, notify_always: bool = False,
                       cluster: str = "", profile: Any = None) -> AuditExtras:
    """Validate the options and build the hooks; raises InputError (exit 2) early."""
    from auditor.errors import InputError
    from auditor.history.hook import HistoryRecorder
    from auditor.notify import load_notify_config
    from auditor.waivers import WaiverFile, local_today

    if no_history and history_path:
        raise InputError("--history and --no-history exclude each other")
    if notify_always and not notify_config_path:
        raise InputError("--notify-always needs --notify-config FILE")
    extras = AuditExtras(today=local_today(waiver_tz))
    if waivers_path:
        extras.waivers = WaiverFile(waivers_path)
    if notify_config_path:
        extras.notify_config = load_notify_config(notify_config_path)
        if notify_always:
            extras.notify_config.always = True
        if not extras.notify_config.enabled:
            raise InputError("no mail: or webhook: section", source=notify_config_path)
        if no_history and not extras.notify_config.always:
            raise InputError("notifications on new failures need the history (drop --no-history, "
                             "or add --notify-always)")
    if not no_history:  # last: only create the history file once everything else is valid
        path = resolve_history_path(history_path)
        connect(path).close()  # creates/migrates now: a bad path fails before collection
        extras.history = HistoryRecorder(path, cluster=cluster, profile=profile)
    return extras
