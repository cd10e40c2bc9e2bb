"""Command-line entry point.

Each sub-command lives in its own module under ``auditor/commands/`` (module name = command
name) and exposes a ``command`` attribute (a ``click.Command`` or ``click.Group``). They are
discovered here, and imported lazily, so adding a command never means editing a shared file
(``HELP_SECTIONS`` only orders the top-level help; a command not named there is listed under
"Other commands").

Every error reaches the admin as one line in one style, ``error: <what>`` on stderr, whether
it is ours (:class:`~auditor.errors.AuditorError`) or Click's (a bad option), so a script or a
log reader has one shape to look for.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys

import click

from auditor import __version__
from auditor.commands._help import FullHelpGroup
from auditor.errors import AuditorError
from auditor.terminal import safe_output
from auditor.vocab import ExitStatus

HELP_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Audit and repair", ("audit", "fix", "precheck", "collect", "checks", "discover", "profile")),
    ("History", ("history", "drift", "baseline")),
    ("Lab and demo", ("demo", "lab")),
)


def echo_error(message: str) -> None:
    """The one error-line style: ``error: <message>`` on stderr."""
    click.echo(f"error: {message}", err=True)


def _click_message(exc: click.ClickException) -> str:
    """Click's message in our style: lower-case first word ("no such option: --x"), and for a
    usage error the help to read, instead of Click's usage block and ``Error:`` line."""
    text = exc.format_message().strip().rstrip(".")
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        text += f" (see '{ctx.command_path} --help')"
    return text


class _AuditorGroup(FullHelpGroup):
    """Loads each command's module only when that command runs (pandas, pywinrm and the lab
    are heavy: a nightly ``auditor audit`` should not pay for ``auditor lab``), turns every
    error into one ``error:`` line with the documented exit code, and groups the top-level
    help by what the commands are for."""

    sections = HELP_SECTIONS

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

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        _tolerant_std_streams()  # before parsing: usage errors echo the admin's input too
        with safe_output():  # every line any command prints: control characters made visible
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)

    def _main(self, args, prog_name, complete_var, standalone_mode, **extra):  # type: ignore[no-untyped-def]
        if not standalone_mode:  # an embedding caller (the demo) handles errors itself
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # `auditor` or `auditor lab` alone: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            echo_error(_click_message(exc))
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl-C or end of input while Click itself was prompting
            echo_error("interrupted")
            sys.exit(ExitStatus.INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            echo_error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            # a collection says how far it got (auditor.collect.runner.CollectionInterrupted)
            click.echo(f"interrupted: {exc}" if str(exc) else "interrupted", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
        except OSError as exc:
            # Last safety net: a file system problem no command anticipated (a file where a
            # folder must go, a full disk, no permission) is something the admin can fix, so
            # it gets the one-line message and exit 2 rather than a traceback.
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            echo_error(f"{where}{exc.strerror or exc}")
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
    """paragon-auditor: audit a Dispatcher Paragon (YSoft SafeQ 6) cluster for configuration
    drift, report it, and repair it one node at a time.

    \b
    Nightly:     auditor audit --inventory cluster.yaml --out reports/
    First time:  auditor demo    (a simulated cluster on this machine, no Windows needed)

    Exit codes of audit: 0 clean, 1 findings at or above --fail-on, 2 usage or input error,
    3 some node could not be audited, 130 interrupted. `auditor COMMAND --help` explains a
    command, its options and its exit codes.
    """


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main", "echo_error"]
