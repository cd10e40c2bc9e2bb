"""Command-line entry point.

Each sub-command lives in its own module under ``auditor/commands/`` (module name = command
name) and exposes a ``command`` attribute (a ``click.Command`` or ``click.Group``). They are
discovered here, and imported lazily, so adding a command never means editing a shared file.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys

import click

from auditor import __version__
from auditor.errors import AuditorError
from auditor.vocab import ExitStatus


class _AuditorGroup(click.Group):
    """Loads each command's module only when that command runs (pandas, pywinrm and the lab
    are heavy: a nightly ``auditor audit`` should not pay for ``auditor lab``), and turns
    AuditorError into a one-line message with the documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        import auditor.commands as pkg

        lazy = {m.name.replace("_", "-") for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")}
        return sorted(lazy | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        registered = super().get_command(ctx, cmd_name)
        if registered is not None or cmd_name not in self.list_commands(ctx):
            return registered
        module = importlib.import_module(f"auditor.commands.{cmd_name.replace('-', '_')}")
        command = getattr(module, "command", None)
        return command if isinstance(command, click.Command) else None

    def main(self, *args, **kwargs):  # type: ignore[override]
        _tolerant_std_streams()  # before parsing: usage errors echo the admin's input too
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
        except OSError as exc:
            # Last safety net: a file system problem no command anticipated (a file where a
            # folder must go, a full disk, no permission) is something the admin can fix, so
            # it gets the one-line message and exit 2 rather than a traceback.
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(ExitStatus.USAGE)


def _tolerant_std_streams() -> None:
    """Text from the nodes (a share called ``\\\\srv\\Účtárna``, a Czech service account) must
    not crash the console output when stdout is a file or pipe in a legacy code page, as in
    a Task Scheduler job logging to a file on Windows (cp1252): characters the encoding lacks
    are written as ``\\uXXXX`` escapes instead of raising UnicodeEncodeError after the
    reports are written, with a traceback and the wrong exit code."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):
                reconfigure(errors="backslashreplace")


@click.group(cls=_AuditorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
def main() -> None:
    """paragon-auditor: audit a Dispatcher Paragon (YSoft SafeQ 6) cluster for drift.

    Typical nightly use:  auditor audit --inventory cluster.yaml --out reports/

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error,
    3 some node could not be audited.
    """


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main"]
