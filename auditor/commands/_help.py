"""Help output shared by the command groups: every command's summary in full.

Click cuts a command's summary at about 45 characters with "..." in a group's help, which lost
the point of most of ours ("Show what changed between two audit runs: new, resolved and...").
Here summaries are wrapped to the terminal instead, and a group can list its commands under
sections (the top-level help groups audit and repair / history / lab and demo).
"""

from __future__ import annotations

import click


class FullHelpGroup(click.Group):
    """A group whose help lists each command's whole summary, optionally in sections."""

    #: (section title, command names); commands not named here go under "Commands" (or
    #: "Other commands" when there are sections).
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = {name: self.get_command(ctx, name) for name in self.list_commands(ctx)}
        shown = {name: cmd for name, cmd in commands.items() if cmd is not None and not cmd.hidden}
        listed = {name for _title, names in self.sections for name in names}
        rest = tuple(sorted(set(shown) - listed))
        for title, names in (*self.sections, ("Other commands" if self.sections else "Commands", rest)):
            rows = [(name, shown[name].get_short_help_str(limit=10_000)) for name in names if name in shown]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
