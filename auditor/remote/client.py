"""Talk to one node over WinRM (pywinrm ``Protocol`` API): one shell, one command, one answer.

``execute(target, request)`` opens a shell whose environment carries the executor and the
request (see ``auditor.remote.bootstrap``), runs the fixed bootstrap command line, receives
the output with its own bounded loop, always closes the shell, and returns the validated
response dict. Every failure becomes a :class:`RemoteError` with a ``kind`` the collector can
put in ``NodeState.status`` and a message an admin can act on.

Why not ``Session.run_ps``: it puts the script on the cmd.exe command line (8191 characters),
its receive loop has no size limit and retries operation timeouts forever, and it honours
proxy environment variables. Here proxies from the environment are ignored (``proxy=None``):
a WinRM connection to a print server should never silently go through a corporate HTTP
proxy; likewise ``REQUESTS_CA_BUNDLE`` is not consulted: give ``ca_file`` for an internal CA
(without it, requests' default CA bundle is used).
"""

from __future__ import annotations

import logging
import math
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from auditor.errors import AuditorError
from auditor.remote import bootstrap, soap_xml
from auditor.remote.kerberos import (
    KerberosContext,
    KerberosProblem,
    classify,
    explain,
    gss_detail,
    service_principal,
)
from auditor.remote.ntlm_session import ntlm_secret, prepare_ntlm_session
from auditor.remote.protocol import (
    SECRET_ENV_RE,
    CheckedResponse,
    ProtocolError,
    parse_output,
    response_json,
    validate_request,
    validate_response,
)
from auditor.vocab import MASK, ExitStatus

log = logging.getLogger("auditor.remote")
soap_xml.install()  # pywinrm writes its SOAP messages with soap_xml.unparse: the same text, less CPU

KINDS = ("refused", "timeout", "auth", "tls", "protocol", "too_large", "remote", "error")
DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024
_AUTH_NAMES = {"ntlm": "NTLM", "basic": "Basic", "kerberos": "Kerberos", "credssp": "CredSSP",
               "ssl": "Basic", "plaintext": "Basic", "certificate": "certificate"}


class RemoteError(AuditorError):
    """Talking to a node failed. ``kind`` is one of :data:`KINDS`; ``message`` says what and where."""

    exit_code = ExitStatus.UNREACHABLE

    def __init__(self, kind: str, message: str):
        if kind not in KINDS:
            raise ValueError(f"unknown RemoteError kind {kind!r}")
        self.kind = kind
        self.message = message
        super().__init__(message)

    def __repr__(self) -> str:
        return f"RemoteError({self.kind!r}, {self.message!r})"


@dataclass
class Target:
    """Where and how to reach one node. ``password`` never appears in repr or logs."""

    name: str
    host: str
    port: int = 5986
    scheme: str = "https"
    transport: str = "ntlm"  # ntlm | basic | kerberos | credssp
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None
    verify: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # per HTTP request; must exceed operation_timeout
    operation_timeout: int = 20  # WS-Management OperationTimeout of each Receive
    deadline: float = 600.0  # total seconds one command may take (bounds timeout retries)
    max_output_bytes: int = DEFAULT_MAX_OUTPUT
    message_encryption: str = "auto"  # auto: NTLM/Kerberos/CredSSP encrypt over HTTP
    kerberos_hostname_override: str | None = None  # Kerberos: ask for HTTP/<this> instead of HTTP/<host>

    def __post_init__(self) -> None:
        if self.scheme not in ("http", "https"):
            raise ValueError(f"{self.name}: scheme must be http or https, not {self.scheme!r}")
        if self.read_timeout <= self.operation_timeout:
            raise ValueError(f"{self.name}: read_timeout ({self.read_timeout}) must exceed operation_timeout "
                             f"({self.operation_timeout})")

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{self.scheme}://{host}:{self.port}/wsman"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def auth_name(self) -> str:
        return _AUTH_NAMES.get(self.transport, self.transport)

    @property
    def kerberos(self) -> KerberosContext:
        """What a Kerberos error message names (the SPN asked for, where, and the principal)."""
        return KerberosContext(where=self.where, spn=service_principal(self.host, self.kerberos_hostname_override),
                               principal=self.username if "@" in self.username else "")


# ---------------------------------------------------------------------------------------------

_CLIXML_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def clean_stderr(stderr: bytes) -> str:
    """Readable text of PowerShell's stderr (CLIXML error records, or plain text)."""
    text = stderr.decode("cp437", errors="replace")
    if text.startswith("#< CLIXML"):
        xml_text = text.split("\n", 1)[1] if "\n" in text else ""
        try:
            root = ET.fromstring(xml_text)
            parts = [el.text or "" for el in root.iter() if el.tag.endswith("}S") or el.tag == "S"]
            text = "".join(_CLIXML_ESC.sub(lambda m: chr(int(m.group(1), 16)), p) for p in parts)
        except ET.ParseError:
            pass
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if e in seen or len(seen) > 20:
            continue
        seen.append(e)
        for nxt in (e.__cause__, e.__context__, *[a for a in getattr(e, "args", ()) if isinstance(a, BaseException)],
                    getattr(e, "reason", None)):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return seen


def _tls_reason(exc: BaseException) -> str:
    text = " ".join(str(e) for e in _chain(exc))
    m = re.search(r"certificate verify failed: ([^()\]'\"]+)", text)
    if m:
        return "certificate verify failed: " + m.group(1).strip()
    m = re.search(r"\[SSL: ([A-Z_]+)\] ([^()\]'\"]+)", text)
    if m:
        return f"TLS error: {m.group(2).strip()} ({m.group(1)})"
    if "hostname" in text.lower() and "match" in text.lower():
        m = re.search(r"(hostname '[^']+' doesn't match[^)\]\"]*)", text)
        return "certificate verify failed: " + (m.group(1) if m else "hostname mismatch")
    return "TLS error: " + str(exc)[:200]


def tls_hint(reason: str, target: Target) -> str:
    """What to do about a certificate the auditor could not verify (appended to the reason)."""
    if "hostname" in reason.lower() or "match" in reason.lower():
        return (f"; the certificate does not name {target.host}: use the name it was issued for as the "
                "node's address, or reissue it")
    if not reason.startswith("certificate verify failed"):
        return ""
    if target.ca_file:
        return (f"; ca_file {target.ca_file} does not hold the CA that signed this listener's certificate "
                "(docs/winrm.md shows how to export it)")
    return ("; give the CA that signed the listener's certificate as ca_file in the inventory "
            "(docs/winrm.md shows how to export it)")


def _kerberos_error(exc: BaseException, target: Target, offered: list[str] | None) -> RemoteError | None:
    """A Kerberos failure as an admin-actionable ``auth`` error, or None when ``exc`` is not one.

    pywinrm's vendored requests-kerberos raises ``KerberosExchangeError`` (the GSS library's
    text) when no service ticket could be had, ``MutualAuthenticationError`` when the node's
    reply does not prove its identity, and a 401 (``InvalidCredentialsError``) when the node
    refused the ticket; ``offered`` is what the node's 401 offered (:func:`_offered_schemes`).
    """
    if target.transport != "kerberos":
        return None
    name = type(exc).__name__
    if name == "KerberosExchangeError":
        text = str(exc)
        return RemoteError("auth", explain(classify(text), target.kerberos, gss_detail(text)))
    if name == "MutualAuthenticationError":
        return RemoteError("auth", explain(KerberosProblem.NODE_NOT_PROVEN, target.kerberos))
    if isinstance(exc, InvalidCredentialsError):
        if offered is not None and not {"negotiate", "kerberos"} & {o.lower() for o in offered}:
            return RemoteError("auth", explain(KerberosProblem.NOT_OFFERED, target.kerberos,
                                               offered=", ".join(offered)))
        return RemoteError("auth", explain(KerberosProblem.REJECTED_BY_NODE, target.kerberos))
    return None


def _offered_schemes(target: Target) -> list[str] | None:
    """The authentication schemes the node's 401 offers (one unauthenticated empty POST), or
    None when that could not be learned. Asked only after a Kerberos attempt was refused, so the
    reason can say whether the node offers Kerberos at all."""
    try:
        with requests.Session() as http:
            http.trust_env = False  # no proxies or CA bundles from the environment, as in _protocol
            verify: bool | str = bool(target.verify or target.scheme == "http")
            if verify and target.ca_file:
                verify = target.ca_file
            r = http.post(target.endpoint, data=b"", verify=verify, allow_redirects=False,
                          headers={"Content-Type": "application/soap+xml;charset=UTF-8"},
                          timeout=(target.connect_timeout, min(target.read_timeout, 10.0)))
    except requests.RequestException:
        return None
    if r.status_code != 401:
        return None
    header = r.headers.get("WWW-Authenticate", "")
    return list(dict.fromkeys(re.findall(r"(?:^|,)\s*([A-Za-z][\w-]*)(?=\s|,|$)", header)))


def translate(exc: BaseException, target: Target, offered: list[str] | None = None) -> RemoteError:
    """Map a pywinrm/requests exception to a precise :class:`RemoteError`."""
    if isinstance(exc, RemoteError):
        return exc
    where = target.where
    kerberos = _kerberos_error(exc, target, offered)
    if kerberos is not None:
        return kerberos
    if isinstance(exc, InvalidCredentialsError):
        user = target.username or "(no user)"
        return RemoteError("auth", f"authentication failed for {user} ({target.auth_name}) at {where}")
    if isinstance(exc, PermissionError) and "NTLM challenge" in str(exc):
        # requests-ntlm: the node's 401 to the NTLM NEGOTIATE carried no challenge
        return RemoteError("auth", f"the node did not answer the NTLM negotiation at {where}: NTLM may be "
                                   "disabled there (a Kerberos-only node): use transport: kerberos")
    if isinstance(exc, requests.exceptions.SSLError):
        reason = _tls_reason(exc)
        return RemoteError("tls", f"{reason} ({target.endpoint}){tls_hint(reason, target)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return RemoteError("timeout", f"connection to {where} timed out after {target.connect_timeout:g} s")
    if isinstance(exc, requests.exceptions.Timeout):
        return RemoteError("timeout", f"no answer from {where} within {target.read_timeout:g} s (read timeout)")
    if isinstance(exc, requests.exceptions.ConnectionError):
        chain = _chain(exc)
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in str(exc).lower():
            return RemoteError("refused", f"connection refused at {where}")
        text = str(exc)
        if re.search(r"Name or service not known|getaddrinfo failed|nodename nor servname|"
                     r"Temporary failure in name resolution|No address associated", text):
            return RemoteError("error", f"cannot resolve host name {target.host!r}")
        if any(isinstance(e, (ConnectionResetError, ConnectionAbortedError)) for e in chain) or \
                re.search(r"RemoteDisconnected|closed connection|Connection aborted|reset by peer", text):
            # the exchange broke half way: as transient as a garbled reply, so the same kind
            return RemoteError("protocol", f"connection to {where} closed unexpectedly by the server")
        return RemoteError("error", f"cannot connect to {where}: {text[:200]}")
    if isinstance(exc, WSManFaultError):
        reason = (exc.reason or "").strip()
        if "envelope" in reason.lower() and "size" in reason.lower():
            return RemoteError("too_large", f"{where} refused the request as too large: {reason}")
        code = f" (WSManFault {exc.wsman_fault_code})" if exc.wsman_fault_code is not None else ""
        return RemoteError("error", f"WS-Management fault from {where}: {reason}{code}")
    if isinstance(exc, WinRMTransportError):
        hint = ""
        if exc.code == 400 and target.scheme == "http":
            hint = " (the node may refuse unencrypted traffic: use HTTPS or message encryption)"
        return RemoteError("error", f"HTTP {exc.code} from {where}{hint}")
    if isinstance(exc, (ET.ParseError, StopIteration, AssertionError, ValueError, KeyError, TypeError)):
        return RemoteError("protocol", f"malformed WS-Management reply from {where}: {type(exc).__name__} {exc}"[:300])
    if isinstance(exc, WinRMError):
        return RemoteError("error", f"WinRM error talking to {where}: {exc}"[:300])
    name = type(exc).__name__
    if "spnego" in type(exc).__module__.lower() or "ntlm" in name.lower():
        return RemoteError("auth", f"authentication failed for {target.username} ({target.auth_name}) at {where}: "
                                   f"{exc}"[:300])
    return RemoteError("error", f"{name} talking to {where}: {exc}"[:300])


def _protocol(target: Target) -> Protocol:
    validate = target.verify or target.scheme == "http"
    p = Protocol(
        target.endpoint,
        transport=target.transport,  # type: ignore[arg-type]
        username=target.username,
        password=target.password,
        server_cert_validation="validate" if validate else "ignore",
        ca_trust_path=target.ca_file if (validate and target.ca_file) else None,  # type: ignore[arg-type]
        read_timeout_sec=max(int(math.ceil(target.read_timeout)), target.operation_timeout + 1),
        operation_timeout_sec=int(target.operation_timeout),
        message_encryption=target.message_encryption,  # type: ignore[arg-type]
        proxy=None,
        kerberos_hostname_override=target.kerberos_hostname_override if target.transport == "kerberos" else None,
    )
    # requests accepts (connect, read); pywinrm passes this value straight to session.send().
    p.transport.read_timeout_sec = (float(target.connect_timeout), float(target.read_timeout))  # type: ignore[assignment]
    return p


def execute(target: Target, request: dict[str, Any],
            secrets: Mapping[str, str] | Iterable[str] | None = None) -> dict[str, Any]:
    """Run one request on one node and return its validated response (a ``CheckedResponse``).

    ``secrets``: a mapping of shell variables (``PA_S_...``) to values for ops that need a
    password; they travel in the (encrypted) Create message only, never in the request. Any
    other iterable is taken as values to keep out of error messages (nothing is sent).
    Every secret value and the target's password are masked in :class:`RemoteError` messages.
    Raises :class:`RemoteError`.
    """
    env_secrets: dict[str, str] = {}
    hidden = [target.password] if target.password else []
    if target.password and target.transport == "ntlm":
        hidden.append(ntlm_secret(target.password))  # what the NTLM session is given instead
    if isinstance(secrets, Mapping):
        env_secrets = {str(k): str(v) for k, v in secrets.items()}
        hidden += [v for v in env_secrets.values() if v]
    elif secrets is not None:
        hidden += [str(v) for v in secrets if v]
    try:
        return _execute(target, request, env_secrets)
    except RemoteError as exc:
        masked = _mask(exc.message, hidden)
        if masked == exc.message:
            raise
        raise RemoteError(exc.kind, masked) from None


def _mask(text: str, hidden: list[str]) -> str:
    for value in sorted(hidden, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


_PREPARED: dict[str, dict[str, str]] = {}
"""Request JSON -> its validated shell environment. A collection sends the same request to
every node: validating and packing it once saves ~1 ms of client CPU per node."""
_PREPARED_MAX = 16


def _shell_env(request: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    """The shell environment carrying ``request`` (validated); RemoteError when it is too large."""
    for name in secrets:
        if not SECRET_ENV_RE.match(name):
            raise ValueError(f"secret variable names must match {SECRET_ENV_RE.pattern}")
    try:
        request_json = response_json(request)
    except (TypeError, ValueError):
        validate_request(request)  # says what is wrong with it
        raise
    env = None if secrets else _PREPARED.get(request_json)
    if env is None:
        validate_request(request)
        try:
            env = bootstrap.shell_env(request_json, secrets)
        except bootstrap.RequestTooLarge as exc:
            raise RemoteError("too_large", str(exc)) from None
        if not secrets:
            if len(_PREPARED) >= _PREPARED_MAX:
                _PREPARED.pop(next(iter(_PREPARED)), None)
            _PREPARED[request_json] = env
    return dict(env)


def _execute(target: Target, request: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    env = _shell_env(request, secrets)
    started = time.monotonic()
    stdout, stderr, code = _run(target, env)
    log.debug("%s: command finished with exit code %s in %.3f s (%d bytes)", target.name, code,
              time.monotonic() - started, len(stdout))
    if code != 0:
        text = clean_stderr(stderr)
        raise RemoteError("remote", f"executor on {target.name} failed with exit code {code}: "
                                    f"{text or '(no error text)'}"[:2000])
    try:
        response = parse_output(stdout, max_bytes=target.max_output_bytes)
        validate_response(response, request)
    except ProtocolError as exc:
        raise RemoteError("protocol", f"{target.name}: {exc}") from None
    return CheckedResponse(response)


def _run(target: Target, env: dict[str, str]) -> tuple[bytes, bytes, int]:
    p: Protocol | None = None
    shell_id = None
    command_id = None
    try:
        p = _protocol(target)
        if target.transport == "ntlm":
            prepare_ntlm_session(p.transport)
        shell_id = p.open_shell(env_vars=env, noprofile=True)
        command_id = p.run_command(shell_id, bootstrap.command_line())
        return _receive(p, target, shell_id, command_id)
    except Exception as exc:
        offered = _offered_schemes(target) if (
            target.transport == "kerberos" and isinstance(exc, InvalidCredentialsError)) else None
        raise translate(exc, target, offered) from None
    finally:
        if p is not None and shell_id is not None:
            if command_id is not None:
                try:
                    p.cleanup_command(shell_id, command_id)
                except Exception as exc:  # noqa: BLE001 - best effort, the shell is closed next
                    log.debug("%s: signal terminate failed: %s", target.name, type(exc).__name__)
            try:
                p.close_shell(shell_id)
            except Exception as exc:  # noqa: BLE001 - the answer (or the first error) matters more
                log.debug("%s: close_shell failed: %s", target.name, type(exc).__name__)
        elif p is not None:
            p.transport.close_session()


def _receive(p: Protocol, target: Target, shell_id: str, command_id: str) -> tuple[bytes, bytes, int]:
    """pywinrm's get_command_output without its flaws: bounded size, bounded waiting."""
    out: list[bytes] = []
    err: list[bytes] = []
    size = 0
    deadline = time.monotonic() + target.deadline
    timeouts = 0
    while True:
        if time.monotonic() > deadline:
            raise RemoteError("timeout", f"{target.name}: command did not finish within {target.deadline:g} s "
                                         f"({timeouts} operation timeouts at {target.where})")
        try:
            o, e, code, done = p.get_command_output_raw(shell_id, command_id)
        except WinRMOperationTimeoutError:
            timeouts += 1
            continue
        out.append(o)
        err.append(e)
        size += len(o) + len(e)
        if size > target.max_output_bytes:
            raise RemoteError("too_large", f"{target.name}: output exceeded {target.max_output_bytes} bytes "
                                           f"({target.max_output_bytes / 1048576:g} MB); stopped reading (raise "
                                           "max_output_mb in the inventory if this node is expected to send that much)")
        if done:
            return b"".join(out), b"".join(err), code
