"""Command-line entry point.

Each sub-command lives in its own module under ``auditor/commands/`` and exposes a
``command`` attribute (a ``click.Command`` or ``click.Group``). They are discovered here so
adding a command never means editing a shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from auditor import __version__
from auditor.errors import EXIT_USAGE, AuditorError


class _AuditorGroup(click.Group):
    """Turns AuditorError into a one-line message and the documented exit code."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_AuditorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
def main() -> None:
    """paragon-auditor: audit a Dispatcher Paragon (YSoft SafeQ 6) cluster for drift.

    Typical nightly use:  auditor audit --inventory cluster.yaml --out reports/

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error,
    3 some node could not be audited.
    """


def _register_commands() -> None:
    import auditor.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"auditor.commands.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            main.add_command(command)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main", "EXIT_USAGE"]
