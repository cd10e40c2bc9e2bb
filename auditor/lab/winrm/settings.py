"""How a lab WinRM listener is configured: its accounts, authentication, TLS, faults
(``LabFaults``, docs/lab.md) and the counters tests read (``CounterSnapshot``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.lab.winrm.auth import Mechanism
from auditor.lab.winrm.certs import ServerCertificate


@dataclass
class LabFaults:
    """Protocol-level fault injection for one lab server (see docs/lab.md).

    Node-level faults (garbage output, wrong hostname, ...) are the executor's business and
    travel in the node's ``lab`` dict instead.
    """

    refuse: bool = False  # the cluster runner does not start the node (closed port)
    wrong_password: bool = False  # the node rejects the cluster's credentials (401)
    delay_seconds: float = 0.0  # sleep before answering every HTTP request
    timeout_faults: int = 0  # WSMan TimedOut faults on Receive before each command's output
    drop_mid_receive: bool = False  # close the connection, no reply, on the first Receive with output
    untrusted_cert: bool = False  # HTTPS leaf issued by a CA the clients are not given
    challenge_first: bool = False  # answer a connection's first request with the bare 401 offer, token or not
    chunk_bytes: int | None = None  # max raw output bytes per Receive reply
    exec_seconds: float = 0.0  # how long each command runs before its output is ready (PowerShell start + work)

    @classmethod
    def split(cls, data: dict[str, Any] | None) -> tuple[LabFaults, dict[str, Any]]:
        """(server faults, the remaining keys): the rest are executor-level faults."""
        data = dict(data or {})
        mine = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        rest = {k: v for k, v in data.items() if k not in cls.__dataclass_fields__}
        return cls.from_dict(mine), rest

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LabFaults:
        """Build from a ``lab.faults`` dict; unknown keys are an error (typos matter)."""
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault kind(s): {', '.join(sorted(unknown))}")
        f = cls()
        for key, value in data.items():
            if key in ("refuse", "wrong_password", "drop_mid_receive", "untrusted_cert", "challenge_first"):
                setattr(f, key, _as_bool(value))
            elif key in ("delay_seconds", "exec_seconds"):
                setattr(f, key, float(value))
            elif key == "timeout_faults":
                f.timeout_faults = int(value)
            elif key == "chunk_bytes":
                f.chunk_bytes = int(value) if value not in (None, "", 0) else None
        if f.delay_seconds < 0 or f.exec_seconds < 0 or f.timeout_faults < 0 or (f.chunk_bytes is not None and f.chunk_bytes < 1):
            raise ValueError("fault values must not be negative (chunk_bytes >= 1)")
        return f


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", ""):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


AUTH_MODES: dict[str, frozenset[Mechanism]] = {
    "ntlm": frozenset({Mechanism.NTLM}),  # Negotiate with NTLM
    "kerberos": frozenset({Mechanism.KERBEROS}),  # Negotiate (and Kerberos) with Kerberos only
    "negotiate": frozenset({Mechanism.NTLM, Mechanism.KERBEROS}),  # Negotiate: NTLM or Kerberos
    "basic": frozenset({Mechanism.BASIC}),
    "both": frozenset({Mechanism.NTLM, Mechanism.BASIC}),  # + Kerberos when a keytab is given
}
"""The ``auth`` settings of a lab listener and the mechanisms each accepts."""


@dataclass
class LabServerSettings:
    """How one lab listener is configured (like a WinRM service's config)."""

    accounts: dict[str, str]  # account name (``user`` or ``DOMAIN\\user``) -> password
    auth: str = "ntlm"  # one of AUTH_MODES
    keytab: Path | None = None  # service keys (HTTP/<host>) for Kerberos; see auditor.lab.kdc
    certificate: ServerCertificate | None = None  # set = HTTPS
    allow_unencrypted: bool = False  # AllowUnencrypted: Basic / plaintext NTLM over HTTP
    cbt: str = "strict"  # "strict" | "none" (HTTPS channel binding hardening)
    faults: LabFaults = field(default_factory=LabFaults)
    idle_timeout: float = 60.0  # seconds a keep-alive connection may sit idle
    name: str = ""  # node name, for logs

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.cbt not in ("strict", "none"):
            raise ValueError("cbt must be strict or none")
        if self.auth in ("kerberos", "negotiate") and self.keytab is None:
            raise ValueError(f"auth {self.auth} needs the service keytab (keytab=...)")

    @property
    def mechanisms(self) -> frozenset[Mechanism]:
        """What this listener accepts; ``both`` adds Kerberos when it has a keytab."""
        offered = set(AUTH_MODES[self.auth])
        if self.auth == "both" and self.keytab is not None:
            offered.add(Mechanism.KERBEROS)
        return frozenset(offered)


@dataclass
class CounterSnapshot:
    requests: int
    status: dict[int, int]
    actions: dict[str, int]
    encrypted_requests: int
    encrypted_replies: int
    shells_open: int
    commands_run: int
    auth_failures: int
    dropped: int
    auth_tokens: dict[str, int]  # Authorization headers seen, by mechanism (basic, ntlm, kerberos)
    encrypted_by: dict[str, int]  # encrypted requests by mechanism (ntlm, kerberos)
