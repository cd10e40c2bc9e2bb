"""Propose an inventory from one seed Management server.

What can be learned, and from where:

* the seed itself: its host name, FQDN and roles (it answers the collect request like any
  node);
* the other **Management servers**: every Spooler Controller keeps the list of Management
  servers in ``SPOC\\conf\\modules\\spoc.conf`` (``serverGUID``/``serverIP``/``serverPORT``
  with suffixes 2, 3, ... ; key names from the product profile). The seed runs a SPOC too,
  so its list names the whole Management tier (by IP address and GUID only).

What cannot: **site servers**. A SPOC lists the Management servers it reports to, never its
peers, and the Management server keeps its SPOCs in the database, which the auditor does not
read. The proposed inventory says so and leaves a commented template for them.

The server list is read with the same parser the checks use (``auditor.parsers.spocconf``);
when that strict parser rejects the file, a small forgiving reader here still proposes what
it can (with a note), because discovery is a starting point an admin reviews.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from auditor.addresses import is_ip
from auditor.collect.credentials import CredentialRef, Credentials, EnvRef, KeyringRef, PromptRef
from auditor.collect.inventory import DEFAULT_PORTS, Inventory, NodeTarget
from auditor.collect.runner import SILENT, CollectionEvents, SecurityOptions, collect_cluster
from auditor.declared import declared_value
from auditor.errors import AuditorError
from auditor.nodestate import NodeState, path_key
from auditor.safetext import one_line
from auditor.vocab import ExitStatus, NodeStatus

if TYPE_CHECKING:  # pragma: no cover
    from auditor.profile import Profile


class SeedUnreachable(AuditorError):
    """The seed could not be collected: nothing to discover from."""

    exit_code = ExitStatus.UNREACHABLE


@dataclass
class LearnedServer:
    """A Management server named in the seed's spoc.conf."""

    index: int
    ip: str | None = None
    guid: str | None = None
    port: str | None = None
    is_seed: bool = False

    def proposals(self) -> list[Proposal]:
        """Its guid / bound_ip / cml_port as the seed's spoc.conf lists them (to be checked)."""
        where = f"the seed's spoc.conf entry {self.index}"
        return _valid([Proposal("guid", self.guid, where), Proposal("bound_ip", self.ip, where),
                       Proposal("cml_port", int(self.port) if self.port and self.port.strip().isdigit() else None,
                                where)])


@dataclass(frozen=True)
class Proposal:
    """A declaration (docs/inventory.md) proposed from what the seed holds, written commented
    out for the admin to review: ``key`` (``guid``, ``database`` ...), the value, and where it
    was read."""

    key: str
    value: object
    source: str


@dataclass
class Discovery:
    seed: NodeTarget
    state: NodeState
    spoc_conf_path: str | None
    servers: list[LearnedServer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seed_role: str = "management"
    """The seed's role in the proposed inventory: "site" when it runs no Management Service."""
    proposed: list[Proposal] = field(default_factory=list)  # cluster declarations
    seed_proposed: list[Proposal] = field(default_factory=list)  # the seed's own guid / bound_ip / cml_port


def parse_spoc_servers(text: str, *, guid_key: str = "serverGUID", ip_key: str = "serverIP",
                       port_key: str = "serverPORT", comment_prefixes: tuple[str, ...] = ("#", ";", "!")
                       ) -> list[LearnedServer]:
    """Numbered Management-server entries of a spoc.conf text, sorted by index."""
    rx = re.compile("^(" + "|".join(re.escape(k) for k in (guid_key, ip_key, port_key)) + r")(\d*)$")
    fields = {guid_key: "guid", ip_key: "ip", port_key: "port"}
    found: dict[int, LearnedServer] = {}
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(comment_prefixes) or "=" not in line:
            continue
        key, value = (p.strip() for p in line.split("=", 1))
        m = rx.match(key)
        if not m:
            continue
        index = int(m.group(2)) if m.group(2) else 1
        srv = found.setdefault(index, LearnedServer(index=index))
        setattr(srv, fields[m.group(1)], value or None)
    return [found[i] for i in sorted(found)]


def _servers_of(data: bytes, source: str, profile: Profile, notes: list[str]) -> list[LearnedServer]:
    """The server list as the checks read it (strict shared parser); if that parser rejects the
    file, the tolerant reader above still proposes what it can, with a note."""
    try:
        from auditor.parsers.spocconf import SpocConfDocument
        from auditor.parsers.text import ParseError
    except ImportError:  # pragma: no cover - the parsers package is part of the tool
        SpocConfDocument = None  # noqa: N806
    if SpocConfDocument is not None:
        try:
            doc = SpocConfDocument.from_profile(data, source, profile)
            return [LearnedServer(index=s.index, ip=s.ip, guid=s.guid, port=s.port) for s in doc.servers()]
        except ParseError as exc:
            notes.append(f"spoc.conf does not parse cleanly ({exc}); entries read leniently: check the file")
    return parse_spoc_servers(
        _decode(data),
        guid_key=profile.spoc_conf.guid_key,
        ip_key=profile.spoc_conf.ip_key,
        port_key=profile.spoc_conf.port_key,
        comment_prefixes=profile.spoc_conf.comment_prefixes,
    )


def _property(text: str, key: str) -> str | None:
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("#", "!")) or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if k.strip() == key:
            return v.strip()
    return None


def _decode(content: bytes | None) -> str:
    if content is None:
        return ""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16", errors="replace")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _valid(proposals: list[Proposal]) -> list[Proposal]:
    """Only what the inventory would accept (auditor.declared): a proposal an admin uncomments
    must load, so a value of the wrong form is left out instead of written."""
    out = []
    for p in proposals:
        if p.value is None:
            continue
        try:
            declared_value(p.key, p.value)
        except ValueError:
            continue
        out.append(p)
    return out


def _proposals(state: NodeState, profile: Profile, role: str) -> tuple[list[Proposal], list[Proposal]]:
    """(cluster declarations, the seed's own) from the seed's collected configuration, read by
    the cluster model the checks use."""
    from auditor.cluster import Cluster

    view = Cluster.build([replace(state, roles=[role])], profile).nodes[0]
    mv = view.management
    if mv is None:
        return [], []
    own = []
    for key, attr in (("guid", "guid"), ("bound_ip", "used_ip"), ("cml_port", "cml_port")):
        got = mv.collected(attr)
        if got is not None:
            value = int(got.value) if key == "cml_port" and str(got.value).strip().isdigit() else got.value
            own.append(Proposal(key, value, got.detail))
    cluster: list[Proposal] = []
    db = {k: v for k, v in (("class", mv.db.db_class), ("host", mv.db.host),
                            ("port", int(mv.db.port) if mv.db.port and mv.db.port.strip().isdigit() else None))
          if v is not None}
    if db:
        cluster.append(Proposal("database", db, "the seed's Management configuration"
                                + (f" ({next(iter(mv.db.source.values()))[0]})" if mv.db.source else "")))
    if mv.repository_path:
        cluster.append(Proposal("ims_repository", mv.repository_path,
                                f"{mv.ims.path} line {mv.repository_line}, as the Infrastructure Service reads it"))
    if view.version:
        cluster.append(Proposal("expected_version", view.version, f"the seed's version ({view.version_source})"))
    if mv.ims_account:
        cluster.append(Proposal("ims_service_account", mv.ims_account,
                                f"the account the seed's {mv.ims_service.name} service runs as"))
    return _valid(cluster), _valid(own)


def learn_from_state(seed: NodeTarget, state: NodeState, profile: Profile) -> Discovery:
    """Read the seed's collected data into a Discovery (no network)."""
    spoc_rel = profile.spoc_conf.file
    suffix = "\\" + path_key("x:\\" + spoc_rel)[3:]
    spoc_files = sorted((f for f in state.files.values() if f.exists and f.content is not None
                         and path_key(f.path).endswith(suffix)), key=lambda f: f.path.lower())
    disc = Discovery(seed=seed, state=state, spoc_conf_path=spoc_files[0].path if spoc_files else None)
    mgmt_services = profile.subsystem("management").service_names
    if state.services and mgmt_services and state.service(*mgmt_services) is None:
        # A Site server's spoc.conf lists the Management servers too, so discovery still works
        # from it; but proposing the seed itself as a Management server would be wrong.
        disc.seed_role = "site"
        disc.notes.append(f"the seed runs no Management Service ({', '.join(mgmt_services)}): it looks like a "
                          "Site server and is proposed with roles: [site]")
    if not spoc_files:
        disc.notes.append(f"no {spoc_rel} found on the seed: is it a Management server with a Spooler "
                          "Controller? Only the seed is listed.")
        disc.proposed, disc.seed_proposed = _proposals(state, profile, disc.seed_role)
        return disc
    if len(spoc_files) > 1:
        disc.notes.append(f"several spoc.conf files on the seed; used {spoc_files[0].path}")
    servers = _servers_of(spoc_files[0].content or b"", spoc_files[0].path, profile, disc.notes)
    # What identifies the seed in its own list: its IPs, its address, its Management GUID.
    seed_ips = {ip for ip in state.ipv4_addresses()} | {seed.address}
    seed_guids: set[str] = set()
    guid_key = profile.management_conf.guid_key
    ip_key = profile.management_conf.ip_key
    for f in state.files.values():
        if f.content is not None and "\\management\\conf\\" in path_key(f.path) and f.path.lower().endswith(
                ".properties"):
            text = _decode(f.content)
            if (g := _property(text, guid_key)):
                seed_guids.add(g.lower())
            if (ip := _property(text, ip_key)):
                seed_ips.add(ip)
    seen_ips: set[str] = set()
    for srv in servers:
        srv.is_seed = bool((srv.ip and srv.ip in seed_ips) or (srv.guid and srv.guid.lower() in seed_guids))
        if srv.ip is None:
            disc.notes.append(f"entry {srv.index} of spoc.conf has no IP address (GUID {srv.guid}); skipped")
            continue
        if srv.ip.lower() in seen_ips:
            disc.notes.append(f"entry {srv.index} repeats {srv.ip}; listed once")
            continue
        seen_ips.add(srv.ip.lower())
        disc.servers.append(srv)
    disc.proposed, disc.seed_proposed = _proposals(state, profile, disc.seed_role)
    if disc.seed_role == "management" and not any(s.is_seed for s in disc.servers):
        disc.notes.append("the seed does not appear in its own spoc.conf list (checked its IP addresses and "
                          "Management GUID)")
    return disc


@dataclass(frozen=True)
class TransportChoice:
    """The transport discovery uses (and proposes), and why when it was not asked for."""

    transport: str
    note: str = ""


def choose_transport(requested: str | None, seed: str, *, override: str | None = None,
                     password_given: bool = False) -> TransportChoice:
    """``requested`` if given; else Kerberos when this host can get a ticket for the seed.

    An admin who names a user or a password source means NTLM. Otherwise a jump host logged on
    to the domain (or after ``kinit``) has a Kerberos ticket, and Kerberos is then what the
    proposed inventory should use: no password to store, and NTLM may be disabled by policy.
    """
    if requested:
        return TransportChoice(requested)
    if password_given:
        return TransportChoice("ntlm")
    from auditor.remote.kerberos import probe_ticket, service_principal

    probe = probe_ticket(seed, override)
    spn = service_principal(seed, override)
    if probe.has_ticket:
        how = "a ticket for " + spn + " was issued" if probe.usable else f"a ticket is there ({probe.detail} for {spn})"
        return TransportChoice("kerberos", f"this host has a Kerberos ticket ({how})")
    return TransportChoice("ntlm", f"no usable Kerberos ticket: {probe.detail}; run kinit user@REALM to use Kerberos")


def discover(seed: NodeTarget, profile: Profile, *, credentials: Credentials,
             security: SecurityOptions = SecurityOptions(),  # noqa: B008
             events: CollectionEvents = SILENT) -> Discovery:
    """Collect the seed (one-node run, same deadline/retry rules) and learn from it."""
    inv = Inventory(cluster="", nodes=[seed], concurrency=1)
    result = collect_cluster(inv, profile, events=events, security=security,
                             credentials={seed.name: credentials})
    state = result.nodes[0]
    if state.status != NodeStatus.OK and not state.reason.startswith("identity mismatch"):
        raise SeedUnreachable(f"cannot collect the seed {seed.address}: {state.status}: {state.reason}")
    return learn_from_state(seed, state, profile)


# ---- rendering ----------------------------------------------------------------------------


def _scalar(value: object) -> str:
    """``value`` as one line of YAML: text with a line break or control character is written
    double-quoted with escapes (never as a multi-line scalar), and never wrapped."""
    style = '"' if isinstance(value, str) and not value.isprintable() else None
    return yaml.safe_dump(value, default_flow_style=True, default_style=style,
                          width=sys.maxsize).strip().removesuffix("...").strip()


def _comment(text: str) -> str:
    """One comment line. Remote text (a host name, a spoc.conf value, a parse error quoting the
    file) with a line break (LF, CR, NEL, LS, PS) would end the comment and write YAML of its
    own: every such character is written as a visible escape."""
    return "# " + one_line(text)


def _proposed_lines(proposals: list[Proposal], indent: str) -> list[str]:
    """Commented ``key: value   # where it was read`` lines: uncommenting one gives a valid
    declaration; remote text stays inside the one comment line (:func:`_comment`)."""
    out = []
    for p in proposals:
        value = _flow(p.value) if isinstance(p.value, dict) else _scalar(p.value)
        out.append(indent + _comment(f"{p.key}: {value}   # from {p.source}"))
    return out


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _credential_yaml(ref: CredentialRef | None) -> str | None:
    if isinstance(ref, EnvRef):
        return f"{{env: {ref.var}}}"
    if isinstance(ref, KeyringRef):
        return f"{{keyring: {{service: {_scalar(ref.service)}, username: {_scalar(ref.username)}}}}}"
    if isinstance(ref, PromptRef):
        return "{prompt: true}"
    return None


def _seed_override(seed: NodeTarget) -> list[str]:
    if seed.kerberos_hostname_override:
        return [f"    kerberos_hostname_override: {_scalar(seed.kerberos_hostname_override)}"]
    return []


def _defaults_lines(seed: NodeTarget, out_path: Path | None) -> list[str]:
    """The ``defaults:`` block: how the seed was reached (its credential as a reference only)."""
    lines = ["defaults:", f"  transport: {seed.transport}", f"  scheme: {seed.scheme}"]
    if seed.port != DEFAULT_PORTS[seed.scheme]:
        lines.append(f"  port: {seed.port}")
    if seed.ca_file:
        ca = str(seed.ca_file)
        if out_path is not None:
            ca = os.path.relpath(seed.ca_file, Path(out_path).resolve().parent)
        lines.append(f"  ca_file: {_scalar(ca)}")
    if not seed.verify:
        lines.append("  verify: false   # needs --insecure-skip-verify; prefer ca_file")
    if seed.username:
        lines.append(f"  username: {_scalar(seed.username)}")
    cred = _credential_yaml(seed.credential)
    if cred:
        lines.append(f"  credential: {cred}")
    return lines


def render_inventory(disc: Discovery, *, cluster: str, out_path: Path | None = None,
                     generated_at: str = "") -> str:
    """The proposed inventory as commented YAML (valid for ``load_inventory`` as written)."""
    seed, state = disc.seed, disc.state
    # a host name with a control character is remote data no admin would type: not proposed
    seed_name = state.hostname if state.hostname and state.hostname.isprintable() else seed.name
    lines = [
        "# Inventory proposed by `auditor discover` -- review before use.",
        _comment(f"Seed: {seed.address} (answered as {state.fqdn or state.hostname or 'unknown'})"
                 + (f", {generated_at}" if generated_at else "")),
    ]
    if state.hostname and seed_name != state.hostname:
        lines.append(_comment(f"the seed's host name {state.hostname} has control characters: "
                              f"named {seed.name} instead"))
    if disc.spoc_conf_path:
        lines.append(_comment(f"Management servers learned from {disc.spoc_conf_path} on the seed."))
    lines += [
        "# Site servers CANNOT be learned from spoc.conf (it lists Management servers only, and the",
        "# Management server keeps its Spooler Controllers in its database): add them under nodes.",
    ]
    lines += [_comment(f"note: {note}") for note in disc.notes]
    if seed.transport == "kerberos":
        lines += ["# Kerberos: each node is reached by the host name its SPN is registered under (HTTP/<name>):",
                  "# give the servers named by IP address below their host name as address, or set",
                  "# kerberos_hostname_override on them. No password is stored: the run uses your ticket."]
    lines += ["version: 1", f"cluster: {_scalar(cluster)}"]
    if disc.proposed or disc.seed_proposed or disc.servers:
        lines += ["# Declarations (docs/inventory.md): what the auditor will expect instead of guessing. Proposed",
                  "# from what the seed holds: check each value (a GUID in the Management interface >",
                  "# Dashboard > System info of that server), then uncomment it."]
    lines += _proposed_lines(disc.proposed, "")
    lines += _defaults_lines(seed, out_path)
    lines += [f"  deadline: {seed.deadline:g}", "nodes:"]
    seed_written = False
    for srv in disc.servers:
        detail = f"spoc.conf entry {srv.index}: GUID {srv.guid or '?'}, port {srv.port or '?'}"
        if srv.is_seed and not seed_written:
            lines.append(f"  - name: {_scalar(seed_name)}   {_comment(f'the seed; {detail}')}")
            lines.append(f"    address: {_scalar(seed.address)}")
            lines += _seed_override(seed)
            lines.append(f"    roles: [{disc.seed_role}]")
            if disc.seed_role == "management":
                own = {p.key for p in disc.seed_proposed}
                lines += _proposed_lines(disc.seed_proposed + [p for p in srv.proposals() if p.key not in own], "    ")
            seed_written = True
            continue
        name = srv.ip if srv.ip and is_ip(srv.ip) else (srv.ip or f"mgmt-{srv.index}")
        if not name.isprintable():  # spoc.conf is remote data
            name = f"mgmt-{srv.index}"
        lines.append(f"  - name: {_scalar(name)}   {_comment(f'{detail}; rename to its host name')}")
        lines.append(f"    address: {_scalar(srv.ip)}")
        lines.append("    roles: [management]")
        lines += _proposed_lines(srv.proposals(), "    ")
    if not seed_written:
        lines.append(f"  - name: {_scalar(seed_name)}   # the seed")
        lines.append(f"    address: {_scalar(seed.address)}")
        lines += _seed_override(seed)
        lines.append(f"    roles: [{disc.seed_role}]")
        if disc.seed_role == "management":
            lines += _proposed_lines(disc.seed_proposed, "    ")
    lines += [
        "  # Site servers (not discoverable; one entry per site server):",
        "  # - name: SITE1",
        "  #   address: site1.corp.example",
        "  #   roles: [site]",
    ]
    return "\n".join(lines) + "\n"
