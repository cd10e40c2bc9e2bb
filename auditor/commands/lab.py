"""``auditor lab``: run simulated Dispatcher Paragon clusters over real WinRM on 127.0.0.1.

``serve`` is how a developer (or an admin evaluating the tool) tries the whole auditor without a
Windows site: every node of a scenario gets a WinRM listener, an inventory pointing at them is
written, and ``auditor audit --inventory ...`` then runs exactly the production code path.
``generate`` makes larger scenarios for scale testing.
"""

from __future__ import annotations

import importlib
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from auditor.commands._help import FullHelpGroup
from auditor.errors import AuditorError, InputError

PASSWORD_ENV = "PARAGON_LAB_PASSWORD"
DEFAULT_HANDLER = "auditor.lab.executor:make_handler"


def _load_handler_factory(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AuditorError(
                f"the lab command executor ({module_name}) is not available in this build; "
                "`auditor lab serve` needs it to answer the auditor's requests") from None
        raise
    factory = getattr(module, attr or "make_handler", None)
    if not callable(factory):
        raise AuditorError(f"{spec}: no callable handler factory {attr or 'make_handler'!r}")
    return factory


@click.group("lab", cls=FullHelpGroup)
def command() -> None:
    """Simulated clusters for trying and testing the auditor (lab only, never production)."""


@command.command("serve")
@click.argument("scenario", metavar="SCENARIO")
@click.option("--scheme", type=click.Choice(["https", "http"]), default="https", show_default=True,
              help="https: generated CA + channel binding; http: NTLM/Kerberos message encryption.")
@click.option("--auth", type=click.Choice(["ntlm", "kerberos", "negotiate", "basic", "both"]), default="ntlm",
              show_default=True,
              help="Authentication the simulated listeners accept. kerberos and negotiate (NTLM or Kerberos) start "
                   "a throw-away Kerberos realm on 127.0.0.1 and write a transport: kerberos inventory; both "
                   "(NTLM, Basic) offers Kerberos too when MIT Kerberos is installed.")
@click.option("--inventory-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the inventory [default: <workdir>/inventory.yaml].")
@click.option("--fault", "faults", multiple=True, metavar="NODE:KIND[=VALUE]",
              help="Inject a fault (repeatable), e.g. SITE1:timeout_faults=2, MGMT2:refuse. See docs/lab.md.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the served copy of the scenario, certificates and inventory, kept after "
                   "the lab stops (serve it again with `auditor lab serve DIR`) "
                   "[default: a temporary folder removed on exit].")
@click.option("--username", default="auditor", show_default=True, help="Account the lab accepts.")
@click.option("--handler", "handler_spec", default=DEFAULT_HANDLER, hidden=True,
              help="module:factory that builds command handlers (tests use a fixture).")
def serve(scenario: str, scheme: str, auth: str, inventory_out: Path | None, faults: tuple[str, ...],
          workdir: Path | None, username: str, handler_spec: str) -> None:
    """Serve every node of SCENARIO over WinRM on 127.0.0.1 until Ctrl-C.

    \b
    SCENARIO is one of:
      a shipped scenario name   healthy, drift, two-interfaces, etcd-drift, add-management
      a scenario folder         manifest.json + node folders (copied, never changed)
      a lab work folder         an earlier --workdir, or the demo's OUT/lab: served in
                                place, so what fixes changed is kept, and its
                                inventory.yaml is rewritten with the new ports

    The password comes from $PARAGON_LAB_PASSWORD or is generated and printed once.
    """
    from auditor.lab import sources
    from auditor.lab.cluster import LabCluster, faults_from_specs, start_lab_realm

    source = sources.resolve(scenario, workdir)
    factory = _load_handler_factory(handler_spec)
    overrides = faults_from_specs(faults)
    password = os.environ.get(PASSWORD_ENV) or None
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(15)

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    kdc, kdc_note = start_lab_realm(auth, source.workdir / "kdc" if source.workdir is not None else None, username)
    try:
        cluster = LabCluster(source.scenario_dir, handler_factory=factory, scheme=scheme, auth=auth,
                             username=username, password=password, workdir=source.workdir, faults=overrides,
                             copy_scenario=source.copy, kdc=kdc)
    except BaseException:
        if kdc is not None:
            kdc.stop()
        raise
    old_int = signal.signal(signal.SIGINT, _on_signal)
    old_term = signal.signal(signal.SIGTERM, _on_signal)
    try:
        cluster.start()
        inv = cluster.write_inventory(inventory_out or cluster.workdir / sources.INVENTORY, password_env=PASSWORD_ENV)
        _announce(cluster, inv, source, kdc, kdc_note, password if generated else None)
        click.echo("Press Ctrl-C to stop.", nl=True)
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
        click.echo("stopping lab cluster...")
    finally:
        cluster.stop()
        if kdc is not None:
            kdc.stop()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    click.echo("lab cluster stopped")


def _announce(cluster: Any, inv: Path, source: Any, kdc: Any, kdc_note: str | None,
              generated_password: str | None) -> None:
    """What is served where, and what to type in another shell (the password only when the
    lab generated it: then it is shown once)."""
    wd = cluster.workdir
    scheme, auth = cluster.scheme, cluster.auth
    rows = []
    for n in cluster.nodes:
        fault_text = ", ".join(f"{k}={v}" for k, v in (n.entry.lab.get("faults") or {}).items())
        rows.append([n.name, ",".join(n.entry.roles), f"{scheme}://127.0.0.1:{n.port}/wsman",
                     "refused (closed port)" if n.server is None else "up", fault_text])
    click.echo(f"Lab cluster {cluster.name!r}: {len(cluster.nodes)} node(s), {scheme}, auth {auth}")
    click.echo(tabulate(rows, headers=["NODE", "ROLES", "ENDPOINT", "STATE", "FAULTS"]))
    click.echo("")
    click.echo(f"Inventory: {inv}")
    if cluster.ca_file is not None:
        click.echo(f"CA:        {inv.parent / 'lab-ca.pem'}")
    kept = " (temporary)" if source.workdir is None else (
        " (served in place: changes are kept)" if source.resumed else f" (kept: serve it again with `auditor lab serve {wd}`)")
    click.echo(f"Work dir:  {wd}{kept}")
    if kdc is not None:
        click.echo(f"Kerberos:  realm {kdc.realm}, KDC 127.0.0.1:{kdc.port}, service principal "
                   f"{kdc.service_principal(kdc.service_hosts[0])}, ticket for {kdc.user_principal} in "
                   f"{kdc.workdir / 'ccache'}")
    elif kdc_note:
        click.echo(f"note: {kdc_note}")
    click.echo("")
    click.echo("In another shell:")
    if kdc is not None:
        for key, value in kdc.client_env(kdc.workdir / "ccache").items():
            click.echo(f"  export {key}={value}")
    if cluster.transport != "kerberos":  # with Kerberos the ticket above is the credential
        if generated_password is not None:
            # Lab only: a throwaway password for 127.0.0.1 listeners, shown once so it can be used.
            click.echo(f"  export {PASSWORD_ENV}={generated_password}")
        else:
            click.echo(f"  (the lab uses the password already in ${PASSWORD_ENV})")
    click.echo(f"  auditor audit --inventory {inv}")
    click.echo("")


@command.command("generate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sites", type=click.IntRange(0, 5000), default=2, show_default=True, help="Site servers.")
@click.option("--managements", type=click.IntRange(1, 9), default=2, show_default=True,
              help="Management servers.")
@click.option("--force", is_flag=True, help="Replace OUT if it already holds a scenario.")
def generate(out: Path, sites: int, managements: int, force: bool) -> None:
    """Write a healthy scenario with N site servers into OUT (for `auditor lab serve`)."""
    from auditor.lab.scenario_builder import build_healthy

    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            raise InputError(f"{out}: exists and is not a scenario folder; refusing to replace it")
        if not force:
            raise InputError(f"{out}: already holds a scenario; use --force to replace it")
    manifest = build_healthy(out, sites=sites, managements=managements)
    click.echo(f"scenario {manifest.name!r} written to {out}: {managements} management + {sites} site server(s)")
    click.echo(f"serve it with: auditor lab serve {out}")


@command.command("install")
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("node")
def install(workdir: Path, node: str) -> None:
    """Run the "server installer" on NODE of the lab served from WORKDIR.

    \b
    The add-management scenario ships MGMT3 with nothing installed and as the installer
    leaves it; while `auditor lab serve add-management --workdir WORKDIR` runs, this swaps
    MGMT3's served folder, so the next precheck or audit sees it installed:
      auditor lab install WORKDIR MGMT3
    (docs/pre-change.md walks through the whole change in the lab.)
    """
    from auditor.lab import sources
    from auditor.lab.install import install_node

    served = workdir / sources.SERVED_COPY if sources.is_work_folder(workdir) else workdir
    folder = install_node(served, node)
    click.echo(f"{node} installed (its node folder is now {folder})")
