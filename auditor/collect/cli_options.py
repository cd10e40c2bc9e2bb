"""Click options shared by every command that collects from a live cluster (audit, collect, fix).

Usage in a command module::

    from auditor.collect.cli_options import collection_options, setup_from_options

    @click.command()
    @collection_options()
    def command(inventory, profile, allow_basic_http, insecure_skip_verify, concurrency,
                deadline, no_progress, **_):
        inv, prof, security = setup_from_options(inventory, profile, allow_basic_http,
                                                 insecure_skip_verify, concurrency, deadline)
        result = collect_cluster(inv, prof, security=security,
                                 events=terminal_events(progress=not no_progress))

Keeping the option names and their help text in one place means ``--insecure-skip-verify``
means the same thing, with the same warning, whichever command it is given to.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.collect.inventory import Inventory, load_inventory
from auditor.collect.runner import CollectionEvents, SecurityOptions
from auditor.errors import InputError
from auditor.profile import Profile, load_profile
from auditor.terminal import status_line

F = TypeVar("F", bound=Callable[..., Any])

OPTION_NAMES = ("inventory", "profile", "allow_basic_http", "insecure_skip_verify", "concurrency",
                "deadline", "no_progress")


def collection_options(*, inventory_required: bool = False) -> Callable[[F], F]:
    """Decorator adding --inventory, --profile, --allow-basic-http, --insecure-skip-verify,
    --concurrency, --deadline and --no-progress to a click command.

    ``inventory_required`` is False by default because ``audit`` also accepts ``--from DIR``;
    :func:`setup_from_options` raises a clear error when neither is given.
    """

    def decorate(f: F) -> F:
        options = [
            click.option("--inventory", "-i", "inventory", type=click.Path(dir_okay=False, path_type=Path),
                         required=inventory_required, metavar="FILE",
                         help="Inventory YAML listing the nodes (see docs/inventory.md)."),
            click.option("--profile", "profile", type=click.Path(dir_okay=False, path_type=Path),
                         default=None, metavar="FILE",
                         help="Product profile override merged over the shipped default."),
            click.option("--allow-basic-http", is_flag=True, default=False,
                         help="Accept transport basic over plain http (password in clear text)."),
            click.option("--insecure-skip-verify", is_flag=True, default=False,
                         help="Accept verify: false in the inventory (no certificate validation)."),
            click.option("--concurrency", type=click.IntRange(min=1, max=1024), default=None,
                         help="Nodes collected at once (overrides the inventory; default: adaptive, "
                              "raised while the client keeps up, see docs/inventory.md)."),
            click.option("--deadline", type=click.FloatRange(min=1, min_open=False), default=None,
                         metavar="SECONDS", help="Per-node time limit (overrides the inventory)."),
            click.option("--no-progress", is_flag=True, default=False,
                         help="No progress line on stderr (it is shown only on a terminal anyway)."),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def setup_from_options(inventory: Path | str | None, profile: Path | str | None = None,
                       allow_basic_http: bool = False, insecure_skip_verify: bool = False,
                       concurrency: int | None = None, deadline: float | None = None,
                       **_ignored: Any) -> tuple[Inventory, Profile, SecurityOptions]:
    """Turn the shared options into (inventory, profile, security).

    Loads and validates the inventory (with --concurrency/--deadline applied) and the
    profile; the security options are checked against the inventory by ``collect_cluster``
    (which prints the warnings), so a command that only validates can call
    :func:`auditor.collect.runner.check_security` itself.
    """
    if inventory is None:
        raise InputError("give --inventory FILE (or, for audit, --from SNAPSHOT_DIR)")
    inv = load_inventory(inventory).with_overrides(concurrency=concurrency, deadline=deadline)
    prof = load_profile(profile)
    security = SecurityOptions(allow_basic_http=allow_basic_http, insecure_skip_verify=insecure_skip_verify)
    return inv, prof, security


def terminal_events(*, progress: bool) -> CollectionEvents:
    """Warnings on stderr always; ``collected 37/500 (2 failed)`` on stderr when ``progress``
    and stderr is a terminal (a log file gets no carriage-return noise)."""
    show = progress and sys.stderr.isatty()

    def on_progress(done: int, total: int, failed: int) -> None:
        if show:
            status_line(f"collected {done}/{total} ({failed} failed)")

    def on_finished() -> None:
        if show:
            click.echo("", err=True)

    return CollectionEvents(warning=lambda text: click.echo(text, err=True), progress=on_progress,
                            finished=on_finished)


LIVE_ONLY = ("allow_basic_http", "insecure_skip_verify", "concurrency", "deadline")


def reject_live_only_options(opts: dict[str, Any]) -> None:
    """With ``--from SNAPSHOT_DIR`` nothing is collected, so an option that only shapes a live
    collection would be silently ignored; an admin who passes ``--deadline`` or
    ``--insecure-skip-verify`` believes it took effect, so say it cannot."""
    given = [f"--{name.replace('_', '-')}" for name in LIVE_ONLY if opts.get(name) not in (None, False)]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise click.UsageError(f"{', '.join(given)} only {verb} to a live collection (--inventory), "
                               "not to --from SNAPSHOT_DIR")

