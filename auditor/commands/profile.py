"""``auditor profile``: the product profile (what the auditor believes about Dispatcher Paragon)
held against a real cluster. ``verify`` parses its options, reads the cluster (live or a
snapshot) and prints; the work is :mod:`auditor.profile.verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from auditor.audit import select_nodes
from auditor.collect.cli_options import collection_options, setup_from_options, terminal_events
from auditor.collect.source import collect_live, read_snapshot, require_one_source
from auditor.commands._help import FullHelpGroup
from auditor.errors import AuditorError
from auditor.profile import load_profile
from auditor.profile.verification import Scope
from auditor.profile.verify import exit_code_for, select_facts, verification_document, verify_states
from auditor.reports.model import redact_argv
from auditor.terminal import output_width
from auditor.vocab import utc_now


@click.group("profile", cls=FullHelpGroup)
def command() -> None:
    """The product profile: what the auditor believes about Dispatcher Paragon (services,
    folders, files, keys), each fact marked confirmed, inferred or assumed.

    \b
    First contact with a cluster:  auditor profile verify --inventory cluster.yaml
    Walk-through:                  docs/first-contact.md
    """


VERIFY_HELP = """Hold the profile's uncertain facts against a real cluster, node by node.

\b
Live:     auditor profile verify --inventory cluster.yaml
Offline:  auditor profile verify --from SNAPSHOT_DIR

For each fact the profile marks assumed or inferred (--all: every product fact) it looks at
what each node concerned showed (the service, the file in the subsystem's folder, the key in
the configuration file that was read, the key in the Management etcd, the registry value
...) and says:

\b
  confirmed       this node shows the fact (file found, key present, service
                  present, etcd key present, display name seen ...)
  contradicted    this node shows something else (the file is absent from the
                  subsystem's folder, the key is absent from a file that was read,
                  the service runs under another name ...): put what it shows into
                  a profile override (--profile), see docs/first-contact.md
  could not tell  nothing seen decides it (node not collected, subsystem not
                  installed there, file unreadable)

Facts no cluster can show (a support floor, how a service splits a list) are listed with
the reason. The same result is in the "Product model" section of every audit report.

\b
Exit codes:
  0    nothing contradicted
  1    some fact contradicted on some node
  2    usage or input error (bad option, unreadable inventory, profile or snapshot,
       a --fact or --node that names nothing, an existing --confirmed-override file)
  3    some node could not be collected (wins over 1: the cluster was not fully seen)
  130  interrupted (Ctrl-C)
"""


@command.command("verify", help=VERIFY_HELP,
                 short_help="Say, node by node, whether this cluster confirms or contradicts the profile's "
                            "assumed and inferred facts.")
@collection_options()
@click.option("--from", "from_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              metavar="SNAPSHOT_DIR", help="Verify against a snapshot folder (auditor collect) offline.")
@click.option("--all", "all_facts", is_flag=True, default=False,
              help="Every product fact, the confirmed ones too (a confirmed fact can still differ on your version).")
@click.option("--fact", "facts", multiple=True, metavar="PATTERN",
              help="Only facts matching this name or pattern (repeatable; * wildcards; a section such as "
                   "spoc_conf selects its facts).")
@click.option("--node", "nodes", multiple=True, metavar="NAME",
              help="Only this node (repeatable); the whole cluster is still read.")
@click.option("--per-node", is_flag=True, default=False, help="Also list every fact on every node, one line each.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=None,
              metavar="FILE", help="Also write the result as JSON (docs/report-schema.md, product_model); "
                                   "'-' writes it to stdout instead of the table.")
@click.option("--confirmed-override", "marks_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also write a profile override marking confirmed the facts this cluster confirmed "
                                   "and none of its nodes contradicted (copy its lines into your override; an "
                                   "existing FILE is never overwritten).")
@click.option("--wide", is_flag=True, default=False, help="One line per row however long (for logs and grep).")
@click.pass_context
def verify(ctx: click.Context, inventory: Path | None, profile: Path | None, from_dir: Path | None, all_facts: bool,
           facts: tuple[str, ...], nodes: tuple[str, ...], per_node: bool, json_out: Path | None,
           marks_out: Path | None, wide: bool, **collect_opts: Any) -> None:
    require_one_source(inventory, from_dir, collect_opts)
    if marks_out is not None and marks_out.exists():
        raise click.UsageError(f"--confirmed-override {marks_out} exists: give a new file name (nothing is "
                               "overwritten)")
    scope = Scope.ALL if all_facts else Scope.UNCERTAIN
    quiet_stdout = json_out is not None and str(json_out) == "-"
    try:
        if from_dir is not None:
            prof = load_profile(profile)
            select_facts(prof, scope, facts)  # a --fact that names nothing fails before any work
            data = read_snapshot(from_dir, utc_now())
        else:
            inv, prof, security = setup_from_options(inventory, profile, **collect_opts)
            select_facts(prof, scope, facts)
            select_nodes(nodes, [n.name for n in inv.nodes])  # unknown --node: fail before collecting
            events = terminal_events(progress=not collect_opts.get("no_progress"))
            data = collect_live(inv, prof, security, events, inventory)
    except (OSError, UnicodeDecodeError) as exc:  # unreadable input: a message, never a traceback
        raise AuditorError(f"cannot read input: {exc}") from None
    only = select_nodes(nodes, [s.name for s in data.states])
    result = verify_states(data.states, prof, data.declared, scope=scope, facts=facts, only_nodes=only)
    if json_out is not None:
        document = verification_document(result, source_kind=data.kind, source=data.label, cluster=data.name,
                                         generated_at=utc_now())
        text = json.dumps(document, indent=2, ensure_ascii=True) + "\n"
        if quiet_stdout:
            click.echo(text, nl=False)
        else:
            _write(json_out, text)
    marks_note = _write_marks(marks_out, result) if marks_out is not None else ""
    if not quiet_stdout:
        from auditor.reports.product_model import render_verification

        width = output_width(wide)
        click.echo(render_verification(result, source=data.label, width=width, per_node=per_node,
                                       command=_command_line(ctx)), nl=False)
        if json_out is not None:
            click.echo(f"JSON written to {json_out}")
        if marks_note:
            click.echo(marks_note)
    ctx.exit(exit_code_for(result))


def _write_marks(path: Path, result: Any) -> str:
    """Write the override marking the confirmed facts; what was written, in one line."""
    from auditor.profile.marks import confirmed_marks

    marks = confirmed_marks(result)
    if not marks.override:
        return f"--confirmed-override: no fact to mark (none confirmed without a contradiction); {path} not written"
    _write(path, marks.override)
    hand = (f"; {len(marks.by_hand)} fact(s) inside list entries are marked by hand in a copy of their list: "
            + ", ".join(marks.by_hand)) if marks.by_hand else ""
    return f"Override marking {len(marks.facts)} fact(s) confirmed written to {path}{hand}"


def _write(path: Path, text: str) -> None:
    from auditor.nodefolder import atomic_write

    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise AuditorError(f"cannot write {path}: {exc.strerror or exc}") from None


def _command_line(ctx: click.Context) -> str:
    """The verify command as given (source, --all, --fact, --node), for the next steps."""
    argv = ["auditor", "profile", "verify"]
    for name, flag in (("inventory", "--inventory"), ("from_dir", "--from")):
        if ctx.params.get(name) is not None:
            argv += [flag, str(ctx.params[name])]
    if ctx.params.get("all_facts"):
        argv.append("--all")
    for name, flag in (("facts", "--fact"), ("nodes", "--node")):
        for value in ctx.params.get(name) or ():
            argv += [flag, value]
    return redact_argv(argv)
