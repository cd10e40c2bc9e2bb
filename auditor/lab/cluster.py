"""Run a whole lab scenario: one simulated WinRM endpoint per node, plus a matching inventory.

``LabCluster`` is what makes an end-to-end test (or ``auditor lab serve``) look like a real
site to the auditor: every node of the scenario's ``manifest.json`` gets its own listener on
127.0.0.1, with the node's ``lab.faults`` applied, and ``write_inventory`` writes the YAML an
admin would write for that site. The command handlers come from a factory (normally
``auditor.lab.executor.make_handler``) so the wsman layer never touches node folders.

The scenario is copied into the work folder before serving, because remote fixes applied
through the lab change node files, and a shipped scenario must never be modified.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.declared import CLUSTER_KEYS, NODE_KEYS
from auditor.errors import AuditorError, InputError
from auditor.lab.kdc import KdcUnavailable, LabKdc
from auditor.lab.sources import SERVED_COPY
from auditor.lab.winrm.certs import LabPKI
from auditor.lab.winrm.handler import CommandHandler
from auditor.lab.winrm.server import AUTH_MODES, LabFaults, LabServerSettings, LabWinRMServer
from auditor.manifest import ClusterManifest, NodeEntry, load_manifest

HandlerFactory = Callable[[NodeEntry, Path], CommandHandler]
HOST = "127.0.0.1"


@dataclass
class LabNode:
    """One node of a running lab cluster."""

    entry: NodeEntry  # with the effective ``lab`` dict (manifest faults + overrides)
    node_dir: Path
    faults: LabFaults
    port: int
    server: LabWinRMServer | None = None  # None for a refused node

    @property
    def name(self) -> str:
        return self.entry.name


def parse_fault_spec(spec: str) -> tuple[str, str, Any]:
    """``NODE:KIND[=VALUE]`` -> (node, kind, value). A bare KIND means ``true``.

    VALUE is read as YAML so ``2`` is an int, ``0.5`` a float, ``no`` a bool and
    ``[YSoftIms, YSoftEtcd]`` a list (executor faults such as ``service_start_fail`` take lists).
    """
    node, sep, rest = spec.partition(":")
    if not sep or not node.strip() or not rest.strip():
        raise InputError(f"--fault {spec!r}: expected NODE:KIND[=VALUE], e.g. SITE1:timeout_faults=2")
    kind, eq, raw = rest.partition("=")
    value: Any = True
    if eq:
        try:
            value = yaml.safe_load(raw) if raw.strip() else True
        except yaml.YAMLError:
            value = raw
    return node.strip(), kind.strip(), value


def faults_from_specs(specs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Several ``--fault`` options as {node: {kind: value}} (later ones win)."""
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        node, kind, value = parse_fault_spec(spec)
        out.setdefault(node, {})[kind] = value
    return out


def _fault_mapping(node: str, raw: Any) -> dict[str, Any]:
    """``lab.faults`` as a dict; the list form ``[refuse, garbage_output]`` means all true."""
    if raw is None or raw == {}:
        return {}
    if isinstance(raw, list) and all(isinstance(k, str) for k in raw):
        return {k: True for k in raw}
    if isinstance(raw, dict):
        return dict(raw)
    raise InputError(f"node {node}: lab.faults must be a mapping or a list of fault names")


def _reserve_closed_port() -> socket.socket:
    """A bound but not listening socket: connecting gives 'connection refused', and no one else
    can take the port while the cluster runs."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    return s


class LabCluster:
    """All nodes of a lab scenario served over WinRM on 127.0.0.1 (context manager).

    ``auth``: what the listeners accept (``AUTH_MODES``: ntlm, kerberos, negotiate, basic,
    both). ``kerberos`` and ``negotiate`` need ``kdc`` (a running :class:`LabKdc`: the
    listeners read its service keytab), and ``both`` offers Kerberos too when one is given. The
    inventory uses transport kerberos for ``kerberos``/``negotiate``, basic for ``basic`` and
    NTLM otherwise. ``scheme``: "https" (generated CA, strict channel binding) or "http" (NTLM
    or Kerberos message encryption; Basic over HTTP requires AllowUnencrypted, which the lab
    then enables).
    """

    def __init__(self, scenario_dir: Path | str, *, handler_factory: HandlerFactory, scheme: str = "https",
                 auth: str = "ntlm", username: str = "auditor", password: str | None = None,
                 workdir: Path | str | None = None, faults: dict[str, dict[str, Any]] | None = None,
                 copy_scenario: bool = True, cbt: str = "strict", remove_workdir: bool | None = None,
                 kdc: LabKdc | None = None):
        if scheme not in ("http", "https"):
            raise InputError(f"scheme must be http or https, not {scheme!r}")
        if auth not in AUTH_MODES:
            raise InputError(f"auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
        if auth in ("kerberos", "negotiate") and kdc is None:
            raise InputError(f"auth {auth} needs a Kerberos realm (a running LabKdc)")
        self.kdc = kdc
        self.source_dir = Path(scenario_dir)
        self.manifest: ClusterManifest = load_manifest(self.source_dir)
        self.handler_factory = handler_factory
        self.scheme = scheme
        self.auth = auth
        self.username = username
        self.password = password or secrets.token_urlsafe(18)
        self.cbt = cbt
        # a workdir we created (or were told is temporary) is removed by stop()
        self._own_workdir = (workdir is None) if remove_workdir is None else remove_workdir
        self._workdir = Path(workdir) if workdir is not None else None  # a temp folder is made by start()
        self.copy_scenario = copy_scenario
        self.fault_overrides = faults or {}
        self.nodes: list[LabNode] = []
        self.pki: LabPKI | None = None
        self._reserved: list[socket.socket] = []
        self._started = False
        known = {n.name.lower() for n in self.manifest.nodes}
        for node in self.fault_overrides:
            if node.lower() not in known:
                raise InputError(f"--fault: no node {node!r} in scenario {self.manifest.name or self.source_dir}"
                                 f" (nodes: {', '.join(n.name for n in self.manifest.nodes)})")

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> LabCluster:
        if self._started:
            return self
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="paragon-lab-"))
        return self._workdir

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        serve_dir = self.source_dir
        if self.copy_scenario:
            serve_dir = self.workdir / SERVED_COPY
            if serve_dir.exists():
                shutil.rmtree(serve_dir)
            shutil.copytree(self.source_dir, serve_dir)
        self.serve_dir = serve_dir
        if self.scheme == "https":
            self.pki = LabPKI(self.workdir / "pki", ca_name="lab-ca.pem")
        overrides = {k.lower(): v for k, v in self.fault_overrides.items()}
        for entry in self.manifest.nodes:
            entry = copy.deepcopy(entry)
            lab = dict(entry.lab or {})
            merged = _fault_mapping(entry.name, lab.get("faults"))
            merged.update(overrides.get(entry.name.lower(), {}))
            if merged:
                lab["faults"] = merged
            entry.lab = lab
            try:
                faults, _executor_faults = LabFaults.split(merged)
            except ValueError as exc:
                raise InputError(f"node {entry.name}: {exc}") from None
            node_dir = serve_dir / entry.folder
            if faults.refuse:
                sock = _reserve_closed_port()
                self._reserved.append(sock)
                self.nodes.append(LabNode(entry=entry, node_dir=node_dir, faults=faults,
                                          port=sock.getsockname()[1]))
                continue
            handler = self.handler_factory(entry, node_dir)
            server = LabWinRMServer(self._settings(entry, faults), handler, host=HOST)
            server.start()
            self.nodes.append(LabNode(entry=entry, node_dir=node_dir, faults=faults, port=server.port,
                                      server=server))

    def _settings(self, entry: NodeEntry, faults: LabFaults) -> LabServerSettings:
        accounts = {self.username: self.password}
        if faults.wrong_password:
            # The node only knows another account, so the cluster's credentials get a 401 while
            # NTLM itself (shared process-wide users file) still works for everyone else.
            accounts = {f"{self.username}-{entry.name.lower()}-other": secrets.token_urlsafe(18)}
        cert = None
        if self.pki is not None:
            cert = self.pki.untrusted_leaf() if faults.untrusted_cert else self.pki.leaf
        return LabServerSettings(
            accounts=accounts, auth=self.auth, certificate=cert,
            keytab=self.kdc.service_keytab if self.kdc is not None else None,
            allow_unencrypted=(self.scheme == "http" and self.auth in ("basic", "both")),
            cbt=self.cbt, faults=faults, name=entry.name,
        )

    def stop(self) -> None:
        """Stop every server and release reserved ports; removes the workdir if we made it."""
        servers = [n.server for n in self.nodes if n.server is not None]
        if len(servers) > 1:
            # each stop waits up to one accept-loop poll; in parallel a 100-node lab stops in ~0.1 s
            with ThreadPoolExecutor(max_workers=min(32, len(servers))) as pool:
                list(pool.map(lambda srv: srv.stop(), servers))
        for srv in servers:
            srv.stop()  # no-op when already stopped
        for sock in self._reserved:
            with contextlib.suppress(OSError):
                sock.close()
        self._reserved.clear()
        self._started = False
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> LabCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.name or self.source_dir.name

    @property
    def endpoints(self) -> dict[str, tuple[str, int]]:
        return {n.name: (HOST, n.port) for n in self.nodes}

    @property
    def ca_file(self) -> Path | None:
        return self.pki.ca_file if self.pki is not None else None

    def node(self, name: str) -> LabNode:
        for n in self.nodes:
            if n.name.lower() == name.lower():
                return n
        raise KeyError(name)

    def server(self, name: str) -> LabWinRMServer:
        srv = self.node(name).server
        if srv is None:
            raise KeyError(f"{name} is a refused node (no server)")
        return srv

    def url(self, name: str) -> str:
        return f"{self.scheme}://{HOST}:{self.node(name).port}/wsman"

    @property
    def transport(self) -> str:
        if self.auth in ("kerberos", "negotiate"):
            return "kerberos"
        return "basic" if self.auth == "basic" else "ntlm"

    def inventory_dict(self, *, ca_file: str | None = None, password_env: str = "PARAGON_LAB_PASSWORD",
                       deadline: float = 60, concurrency: int | None = 16) -> dict[str, Any]:
        """The inventory of this lab; ``concurrency=None`` leaves it out (the collector adapts)."""
        defaults: dict[str, Any] = {"transport": self.transport, "scheme": self.scheme}
        if ca_file:
            defaults["ca_file"] = ca_file
        if self.transport == "kerberos":
            assert self.kdc is not None
            # every node listens on 127.0.0.1; the realm's service principal is HTTP/<first host>
            defaults["kerberos_hostname_override"] = self.kdc.service_hosts[0]
        else:
            defaults.update({"username": self.username, "credential": {"env": password_env}})
        defaults.update({"connect_timeout": 5, "read_timeout": 30, "deadline": deadline})
        if concurrency is not None:
            defaults["concurrency"] = concurrency
        # the scenario's declarations (manifest ``declared``) are what its admin would declare
        declared = self.manifest.declared.to_dict(with_lines=False)
        node_declared = declared.pop("nodes", {})
        nodes = [{"name": n.name, "address": HOST, "port": n.port, "roles": list(n.entry.roles),
                  **node_declared.get(n.name, {})} for n in self.nodes]
        return {"version": 1, "cluster": self.name, **declared, "defaults": defaults, "nodes": nodes}

    def write_inventory(self, path: Path | str, password_env: str = "PARAGON_LAB_PASSWORD", *,
                        deadline: float = 60, concurrency: int | None = 16) -> Path:
        """Write the inventory YAML (and the CA next to it for HTTPS); never the password."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ca_rel = None
        if self.ca_file is not None:
            target = path.parent / "lab-ca.pem"
            if target.resolve() != self.ca_file.resolve():
                shutil.copyfile(self.ca_file, target)
            ca_rel = target.name
        data = self.inventory_dict(ca_file=ca_rel, password_env=password_env, deadline=deadline,
                                   concurrency=concurrency)
        lines = [
            "# Inventory for a paragon-auditor LAB cluster (simulated nodes on 127.0.0.1).",
            (f"# Kerberos: the ticket of realm {self.kdc.realm} in $KRB5CCNAME (KRB5_CONFIG={self.kdc.krb5_conf})."
             if self.transport == "kerberos" and self.kdc is not None
             else f"# The password is in ${password_env}; it is never written here."),
            f"version: {data['version']}",
            f"cluster: {_yaml_scalar(data['cluster'])}",
            *(f"{k}: {_yaml_scalar(data[k])}" for k in CLUSTER_KEYS if k in data),
            "defaults:",
        ]
        for k, v in data["defaults"].items():
            if k == "credential":
                lines.append(f"  credential: {{env: {password_env}}}")
            else:
                lines.append(f"  {k}: {_yaml_scalar(v)}")
        lines.append("nodes:")
        for n in data["nodes"]:
            roles = ", ".join(n["roles"])
            declared_here = "".join(f", {k}: {_yaml_scalar(n[k])}" for k in NODE_KEYS if k in n)
            lines.append(f"  - {{name: {_yaml_scalar(n['name'])}, address: {n['address']}, port: {n['port']}, "
                         f"roles: [{roles}]{declared_here}}}")
        text = "\n".join(lines) + "\n"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return path


def start_lab_realm(auth: str, folder: Path | None, user: str) -> tuple[LabKdc | None, str]:
    """The Kerberos realm a lab with ``auth`` needs, started, with a ticket for ``user``.

    ``kerberos`` and ``negotiate`` cannot run without one (AuditorError naming what is
    missing); ``both`` offers Kerberos only when MIT Kerberos is installed, and otherwise says
    so in the returned note. Other modes need none: (None, "").
    """
    if auth not in ("kerberos", "negotiate", "both"):
        return None, ""
    kdc = LabKdc(folder, user=user)
    try:
        kdc.start()
        kdc.kinit(kdc.workdir / "ccache")
    except KdcUnavailable as exc:
        kdc.stop()
        if auth != "both":
            raise AuditorError(f"cannot start the lab's Kerberos realm: {exc}") from None
        return None, f"Kerberos not offered: {exc}"
    return kdc, ""


def _yaml_scalar(value: Any) -> str:
    """A YAML flow scalar that round-trips (quoted only when needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").strip()
