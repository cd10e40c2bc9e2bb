"""``auditor demo``: audit a simulated drifted cluster end to end (what ``make demo`` runs).

It starts the lab's drift scenario as real WinRM endpoints on 127.0.0.1 (NTLM with message
encryption over HTTP, as a default Windows listener speaks it), writes an inventory for
them, and runs the very same ``auditor audit --inventory ...`` an admin would run. Nothing
is simulated on the auditor's side: only the Windows servers are (see auditor.lab.demo).
"""

from __future__ import annotations

from pathlib import Path

import click

from auditor.vocab import ExitStatus


@click.command("demo", short_help="Audit a simulated drifted cluster and write an HTML report.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-report"),
              show_default=True, metavar="DIR",
              help="Folder for the reports, the demo's run history and its lab (OUT/lab).")
@click.option("--scenario", default="drift", show_default=True, type=click.Choice(["drift", "healthy"]),
              help="Which shipped scenario to serve.")
@click.option("--scheme", default="http", show_default=True, type=click.Choice(["http", "https"]),
              help="http: NTLM with message encryption; https: NTLM over TLS with channel binding.")
def command(out_dir: Path, scenario: str, scheme: str) -> None:
    """Start the lab's drifted cluster (2 management + 2 site servers) on 127.0.0.1, audit it
    over NTLM exactly as a real cluster would be audited, and write the HTML and JSON reports.

    Run history is kept in OUT/history.sqlite, so a second run shows "since last run". The
    lab's nodes and inventory are kept in OUT/lab: `auditor lab serve OUT/lab` starts the same
    cluster again, and the fix commands in the report then work against it.
    The exit code is 0 when the demo ran (findings are expected: the cluster is drifted).
    """
    from auditor.cli import main
    from auditor.lab.demo import next_steps, run_demo

    run = run_demo(out_dir, scenario, scheme, audit=lambda argv: main.main(argv, standalone_mode=False),
                   announce=click.echo)
    click.echo("")
    if run.exit_code in (ExitStatus.OK, ExitStatus.FINDINGS) and run.report.exists():
        click.echo(f"Demo finished. Open the HTML report: {run.report.resolve()}")
        click.echo("")
        click.echo("\n".join(next_steps(run)))
        return
    raise click.ClickException(f"the demo audit did not complete (exit code {run.exit_code}); see the messages above")
