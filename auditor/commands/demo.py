"""``auditor demo``: audit a simulated drifted cluster end to end (what ``make demo`` runs).

It starts the lab's drift scenario as real WinRM endpoints on 127.0.0.1 (NTLM with message
encryption over HTTP, as a default Windows listener speaks it), writes an inventory for
them, and runs the very same ``auditor audit --inventory ...`` an admin would run. Nothing
is simulated on the auditor's side: only the Windows servers are.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from importlib import resources
from pathlib import Path

import click

from auditor.vocab import ExitStatus

PASSWORD_ENV = "PARAGON_LAB_PASSWORD"


def scenario_path(name: str) -> Path:
    """Folder of a shipped lab scenario (installed as package data)."""
    return Path(str(resources.files("auditor.lab").joinpath("scenarios", name)))


@click.command("demo", short_help="Audit a simulated drifted cluster and write an HTML report.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-report"),
              show_default=True, metavar="DIR", help="Folder for the reports (and the demo's run history).")
@click.option("--scenario", default="drift", show_default=True, type=click.Choice(["drift", "healthy"]),
              help="Which shipped scenario to serve.")
@click.option("--scheme", default="http", show_default=True, type=click.Choice(["http", "https"]),
              help="http: NTLM with message encryption; https: NTLM over TLS with channel binding.")
def command(out_dir: Path, scenario: str, scheme: str) -> None:
    """Start the lab's drifted cluster (2 management + 2 site servers) on 127.0.0.1, audit it
    over NTLM exactly as a real cluster would be audited, and write the HTML and JSON reports.

    Run history is kept in OUT/history.sqlite, so a second run shows "since last run".
    The exit code is 0 when the demo ran (findings are expected: the cluster is drifted).
    """
    from auditor.cli import main
    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler

    out_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)  # throwaway lab password, never printed
    with tempfile.TemporaryDirectory(prefix="paragon-demo-") as work:
        click.echo(f"Starting the simulated '{scenario}' cluster on 127.0.0.1 ({scheme}, NTLM)...")
        lab = LabCluster(scenario_path(scenario), handler_factory=make_handler, scheme=scheme, auth="ntlm",
                         password=password, workdir=Path(work) / "lab")
        with lab:
            inventory = Path(work) / "inventory.yaml"
            lab.write_inventory(inventory, password_env=PASSWORD_ENV)
            for node in lab.nodes:
                click.echo(f"  {node.entry.name:<8} {', '.join(node.entry.roles):<11} 127.0.0.1:{node.port}")
            click.echo("")
            previous = os.environ.get(PASSWORD_ENV)
            os.environ[PASSWORD_ENV] = password
            try:
                code = main.main(
                    ["audit", "--inventory", str(inventory), "--out", str(out_dir),
                     "--history", str(out_dir / "history.sqlite"), "--no-progress"],
                    standalone_mode=False,
                )
            finally:
                if previous is None:
                    os.environ.pop(PASSWORD_ENV, None)
                else:
                    os.environ[PASSWORD_ENV] = previous
    code = code or 0
    report = (out_dir / "report.html").resolve()
    click.echo("")
    if code in (ExitStatus.OK, ExitStatus.FINDINGS) and report.exists():
        click.echo(f"Demo finished. Open the HTML report: {report}")
        return
    raise click.ClickException(f"the demo audit did not complete (exit code {code}); see the messages above")
