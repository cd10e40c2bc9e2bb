"""``auditor discover``: propose an inventory from one seed Management server."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.collect.cli_options import terminal_events
from auditor.collect.credentials import CredentialRef, EnvRef, KeyringRef, PromptRef, resolve_reference
from auditor.collect.credentials import Credentials as Creds
from auditor.collect.discover import choose_transport, discover, render_inventory
from auditor.collect.inventory import DEFAULT_PORTS, TRANSPORTS, NodeTarget, looks_like_hostname
from auditor.collect.runner import SecurityOptions
from auditor.errors import InputError
from auditor.nodefolder import atomic_write
from auditor.profile import load_profile
from auditor.vocab import utc_now


@click.command("discover")
@click.option("--seed", required=True, metavar="HOST", help="A Management server (host name or IP).")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              metavar="FILE", help="Where to write the proposed inventory YAML.")
@click.option("--cluster", "cluster", default=None, help="Cluster name for the inventory (default: seed host).")
@click.option("--username", "-u", default="", help="Account for WinRM (e.g. CORP\\auditor).")
@click.option("--credential-env", metavar="VAR", default=None,
              help="Environment variable holding the password (recommended).")
@click.option("--credential-keyring", metavar="SERVICE", default=None,
              help="Keyring service holding the password for --username.")
@click.option("--transport", type=click.Choice(TRANSPORTS), default=None,
              help="How to authenticate. Default: kerberos when this host has a Kerberos ticket and no "
                   "--username/--credential-* is given, else ntlm.")
@click.option("--kerberos-hostname-override", metavar="HOST", default=None,
              help="Kerberos: the host name of the seed's SPN (HTTP/HOST) when --seed is an IP address.")
@click.option("--scheme", type=click.Choice(["https", "http"]), default="https", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="WinRM port (5986 https / 5985 http).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CA certificate(s) that signed the WinRM listener certificates.")
@click.option("--deadline", type=click.FloatRange(min=1), default=120.0, show_default=True,
              metavar="SECONDS", help="Time limit for collecting the seed.")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Product profile override merged over the shipped default.")
@click.option("--allow-basic-http", is_flag=True, default=False, help="Accept --transport basic over --scheme http (password in clear text).")
@click.option("--insecure-skip-verify", is_flag=True, default=False, help="Do not validate the seed's certificate (the proposed inventory then says verify: false).")
@click.option("--force", is_flag=True, default=False, help="Overwrite --out if it exists.")
def command(seed, out, cluster, username, credential_env, credential_keyring, transport, kerberos_hostname_override,
            scheme, port, ca_file, deadline, profile, allow_basic_http, insecure_skip_verify, force) -> None:
    """Collect one Management server and propose an inventory for its cluster.

    The other Management servers are learned from the seed's spoc.conf server list. Site
    servers cannot be learned that way: the proposed file says so and leaves a template.
    The password is never written; the file refers to where it comes from.

    Exit codes: 0 inventory written, 2 usage or input error (nothing contacted or written),
    3 the seed could not be collected (nothing written).
    """
    if out.exists() and not force:
        raise InputError("file exists; pass --force to overwrite it", source=str(out))
    try:  # a folder that cannot hold --out must fail before the seed is contacted
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is in the way" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc))
        raise InputError(f"cannot create the folder for the inventory: {why}", source=str(out)) from None
    if credential_env and credential_keyring:
        raise InputError("give at most one of --credential-env and --credential-keyring")
    if kerberos_hostname_override is not None and not looks_like_hostname(kerberos_hostname_override):
        raise InputError("--kerberos-hostname-override: expected a host name such as mgmt1.corp.example")
    choice = choose_transport(transport, seed, override=kerberos_hostname_override,
                              password_given=bool(username or credential_env or credential_keyring))
    transport = choice.transport
    ref: CredentialRef | None
    if credential_env:
        ref = EnvRef(credential_env)
    elif credential_keyring:
        if not username:
            raise InputError("--credential-keyring needs --username")
        ref = KeyringRef(credential_keyring, username)
    elif transport == "kerberos" and not username:
        ref = None
    else:
        ref = PromptRef(username)
    if transport != "kerberos" and not username:
        raise InputError(f"--username is required for transport {transport}" + (f" ({choice.note})" if choice.note else ""))
    if transport == "kerberos" and (credential_env or credential_keyring):
        raise InputError("--credential-env/--credential-keyring are not used with transport kerberos (the ticket is)")
    name = seed if looks_like_hostname(seed) else "seed"
    target = NodeTarget(
        name=name, address=seed, roles=("management",), transport=transport, scheme=scheme,
        port=port or DEFAULT_PORTS[scheme], ca_file=ca_file.resolve() if ca_file else None,
        verify=not insecure_skip_verify, deadline=deadline, username=username, credential=ref,
        check_hostname=False,
        kerberos_hostname_override=kerberos_hostname_override if transport == "kerberos" else None,
    )
    security = SecurityOptions(allow_basic_http=allow_basic_http, insecure_skip_verify=insecure_skip_verify)
    prof = load_profile(profile)
    password = resolve_reference(ref, used_by=f"seed {seed}") if ref is not None else None
    disc = discover(target, prof, credentials=Creds(username, password), security=security,
                    events=terminal_events(progress=False))
    state = disc.state
    text = render_inventory(disc, cluster=cluster or (state.hostname or seed).lower(), out_path=out,
                            generated_at=utc_now())
    atomic_write(out, text.encode("utf-8"))
    others = [s for s in disc.servers if not s.is_seed]
    if choice.note and transport == "kerberos":
        click.echo(f"transport kerberos: {choice.note}")
    click.echo(f"seed {seed} answered as {state.fqdn or state.hostname or '?'}")
    if disc.spoc_conf_path:
        click.echo(f"learned {len(others)} other Management server(s) from {disc.spoc_conf_path}:")
        for s in others:
            click.echo(f"  {s.ip}  GUID {s.guid or '?'}  port {s.port or '?'}")
    for note in disc.notes:
        click.echo(f"note: {note}")
    click.echo("site servers cannot be learned from spoc.conf: add them to the inventory by hand")
    click.echo(f"proposed inventory written to {out}")
