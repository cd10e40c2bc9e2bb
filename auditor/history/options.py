"""Click options shared by every command that touches the history file.

The ``audit`` command reuses :data:`history_option` / :data:`no_history_option` so the
flag, the environment variable and the default path are the same everywhere.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from auditor.history.store import ENV_HISTORY, connect, resolve_history_path

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
