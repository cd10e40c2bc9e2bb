"""Authentication pieces of the lab endpoint: Basic, per-connection Negotiate (NTLM or
Kerberos), and the WinRM message-encryption framing.

NTLM and Kerberos authenticate the TCP connection, not the request (docs/winrm.md pitfall 1), so a
``NegotiateConnection`` lives as long as one server connection thread. The mechanism is chosen
by the client's first token (an ``NTLMSSP`` message or a Kerberos AP-REQ), and a listener
accepts only the mechanisms it offers: a Kerberos-only node never completes NTLM. The
``multipart/encrypted`` framing is MS-WSMV 2.2.9.1.1 (Negotiate,
``application/HTTP-SPNEGO-session-encrypted``) and 2.2.9.1.2 (Kerberos,
``application/HTTP-Kerberos-session-encrypted``) byte for byte as pywinrm writes and parses it;
a reply is sealed with the protocol its request used.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from enum import StrEnum
from pathlib import Path

import spnego
from spnego.channel_bindings import GssChannelBindings

from auditor.lab.winrm.ntlm_users import split_account

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"  # Negotiate (NTLM or Kerberos)
KERBEROS_ENCRYPTED_PROTOCOL = "application/HTTP-Kerberos-session-encrypted"  # the Kerberos scheme
ENCRYPTED_PROTOCOLS = (ENCRYPTED_PROTOCOL, KERBEROS_ENCRYPTED_PROTOCOL)
_BOUNDARY = b"--Encrypted Boundary\r\n"
_END = b"--Encrypted Boundary--\r\n"
_OCTET = b"\tContent-Type: application/octet-stream\r\n"


class Mechanism(StrEnum):
    """How a client authenticated (what the lab counts and offers)."""

    BASIC = "basic"
    NTLM = "ntlm"
    KERBEROS = "kerberos"


class AuthFailed(Exception):
    """Credentials or the NTLM/Kerberos exchange were rejected: answer 401 (with ``token``, if any)."""

    def __init__(self, message: str, token: bytes | None = None):
        super().__init__(message)
        self.token = token


def encrypted_content_type(protocol: str) -> str:
    return f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'


ENCRYPTED_CONTENT_TYPE = encrypted_content_type(ENCRYPTED_PROTOCOL)


def encryption_protocol(content_type: str) -> str | None:
    """The session-encryption protocol a request's Content-Type names, or None for plaintext."""
    lowered = content_type.lower()
    for protocol in ENCRYPTED_PROTOCOLS:
        if protocol.lower() in lowered:
            return protocol
    return None


def account_matches(accounts: dict[str, str], principal: str) -> str | None:
    """The configured account name that ``principal`` is, if any.

    ``principal`` is ``user`` or ``DOMAIN\\user`` (NTLM) or ``user@REALM`` (Kerberos, where
    an account ``DOMAIN\\user`` matches when DOMAIN is the realm's first label).
    """
    if "@" in principal and "\\" not in principal:
        user, realm = principal.rsplit("@", 1)
        for name in accounts:
            d, u = split_account(name)
            if u.lower() == user.lower() and (not d or d.upper() == realm.split(".")[0].upper()):
                return name
        return None
    dom, user = split_account(principal)
    for name in accounts:
        d, u = split_account(name)
        if d.upper() == dom.upper() and u.lower() == user.lower():
            return name
    return None


def check_basic(accounts: dict[str, str], header_value: str) -> str:
    """Validate a ``Basic <b64>`` header value; return the account name or raise AuthFailed."""
    try:
        raw = base64.b64decode(header_value.split(None, 1)[1], validate=True).decode("utf-8")
        user, password = raw.split(":", 1)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthFailed("malformed Basic header") from None
    name = account_matches(accounts, user)
    if name is None or accounts[name] != password:
        raise AuthFailed("bad user name or password")
    return name


def token_mechanism(token: bytes) -> Mechanism:
    """NTLM for an ``NTLMSSP`` message, else Kerberos (a raw AP-REQ or a SPNEGO wrapper)."""
    return Mechanism.NTLM if token.startswith(b"NTLMSSP\x00") else Mechanism.KERBEROS


class NegotiateConnection:
    """The Negotiate acceptor state of one TCP connection (NTLM or Kerberos).

    ``mechanisms``: what the listener offers; ``keytab``: the service keys Kerberos needs.
    """

    def __init__(self, channel_bindings: bytes | None, mechanisms: frozenset[Mechanism] = frozenset({Mechanism.NTLM}),
                 keytab: Path | None = None):
        self._cbt = channel_bindings
        self.mechanisms = mechanisms
        self.keytab = keytab
        self.ctx: object | None = None
        self.mechanism: Mechanism | None = None
        self.principal: str | None = None

    @property
    def complete(self) -> bool:
        return self.principal is not None

    def reset(self) -> None:
        self.ctx = None
        self.mechanism = None
        self.principal = None

    def step(self, token_b64: str, *, kerberos_scheme: bool = False) -> tuple[bytes | None, bool]:
        """Feed one client token; return (token to send back or None, authenticated?).

        NTLM answers its NEGOTIATE with a CHALLENGE (not yet authenticated), Kerberos its
        AP-REQ with the AP-REP (authenticated at once). ``kerberos_scheme``: the token came
        with the HTTP ``Kerberos`` scheme, which carries Kerberos only. Raises AuthFailed on a
        bad password or ticket, a mechanism this listener does not offer, missing or wrong
        channel binding, or garbage.
        """
        try:
            token = base64.b64decode(token_b64, validate=True)
        except (binascii.Error, ValueError):
            self.reset()
            raise AuthFailed("malformed Negotiate token") from None
        if not token:
            self.reset()
            raise AuthFailed("empty Negotiate token")
        if self.ctx is None or self.complete:
            # a new exchange on this connection (the first, or a re-authentication)
            self.reset()
            mech = Mechanism.KERBEROS if kerberos_scheme else token_mechanism(token)
            if mech not in self.mechanisms:
                raise AuthFailed(f"{mech} is not offered by this listener")
            self.mechanism = mech
            self.ctx = self._new_context(mech)
        if self.mechanism is Mechanism.KERBEROS:
            return self._step_kerberos(token)
        return self._step_ntlm(token)

    def _new_context(self, mech: Mechanism) -> object:
        if mech is Mechanism.KERBEROS:
            from auditor.lab.winrm.kerberos_acceptor import KerberosAcceptor

            if self.keytab is None:
                raise AuthFailed("Kerberos offered without a keytab")
            try:
                return KerberosAcceptor(self.keytab, self._cbt)
            except Exception as exc:  # a keytab that cannot be read: the client cannot be accepted
                self.reset()
                raise AuthFailed(f"Kerberos acceptor unavailable: {exc}") from None
        bindings = GssChannelBindings(application_data=self._cbt) if self._cbt else None
        return spnego.server(protocol="ntlm", channel_bindings=bindings)

    def _step_ntlm(self, token: bytes) -> tuple[bytes | None, bool]:
        ctx = self.ctx
        assert isinstance(ctx, spnego.ContextProxy)
        try:
            out = ctx.step(token)
        except Exception as exc:  # SpnegoError and friends: any failure is a 401
            self.reset()
            raise AuthFailed(f"NTLM rejected: {exc}") from None
        if out:
            return out, False
        if not ctx.complete:
            self.reset()
            raise AuthFailed("NTLM exchange incomplete")
        self.principal = str(ctx.client_principal or "")
        return None, True

    def _step_kerberos(self, token: bytes) -> tuple[bytes | None, bool]:
        from auditor.lab.winrm.kerberos_acceptor import KerberosAcceptor

        ctx = self.ctx
        assert isinstance(ctx, KerberosAcceptor)
        try:
            out = ctx.step(token)
        except Exception as exc:  # GSSError: unreadable ticket, skew, replay, wrong bindings
            self.reset()
            raise AuthFailed(f"Kerberos rejected: {exc}", getattr(exc, "token", None)) from None
        if not ctx.complete:
            return out, False  # not with MIT's krb5 mechanism, but the exchange allows it
        if self._cbt and not ctx.channel_bound:
            # strict channel binding: a ticket not bound to this TLS certificate is refused,
            # like CbtHardeningLevel=Strict on Windows (the client then retries with bindings)
            self.reset()
            raise AuthFailed("Kerberos ticket not bound to the TLS channel")
        self.principal = ctx.principal
        return out, True

    # -- message encryption (MS-WSMV 2.2.9.1.1 and 2.2.9.1.2) -------------------------------
    def decrypt(self, body: bytes, protocol: str = ENCRYPTED_PROTOCOL) -> bytes:
        assert self.ctx is not None
        if not body.startswith(_BOUNDARY):
            raise ValueError("encrypted body does not start with the boundary")
        second = body.find(_BOUNDARY, len(_BOUNDARY))
        if second < 0:
            raise ValueError("encrypted body has no payload part")
        header = body[len(_BOUNDARY):second]
        m = re.search(rb"Length=(\d+)", header)
        if not m or protocol.encode() not in header:
            raise ValueError("encrypted header part lacks protocol or Length")
        payload = body[second + len(_BOUNDARY):]
        if not payload.endswith(_END) or not payload.startswith(_OCTET):
            raise ValueError("malformed encrypted payload part")
        payload = payload[len(_OCTET):-len(_END)]
        (sig_len,) = struct.unpack("<I", payload[:4])
        if not 0 < sig_len <= len(payload) - 4:
            raise ValueError("encrypted signature length out of range")
        if self.mechanism is Mechanism.NTLM and sig_len != 16:
            raise ValueError("NTLM signature must be 16 bytes")
        signature, sealed = payload[4:4 + sig_len], payload[4 + sig_len:]
        plain = self.ctx.unwrap_winrm(signature, sealed)  # type: ignore[attr-defined]
        if len(plain) != int(m.group(1)):
            raise ValueError("encrypted length mismatch")
        return plain

    def encrypt(self, plain: bytes, protocol: str = ENCRYPTED_PROTOCOL) -> bytes:
        assert self.ctx is not None
        if self.mechanism is Mechanism.KERBEROS:
            signature, sealed = self.ctx.wrap_winrm(plain)  # type: ignore[attr-defined]
        else:
            wrapped = self.ctx.wrap_winrm(plain)  # type: ignore[attr-defined]
            signature, sealed = wrapped.header, wrapped.data
        return (
            _BOUNDARY
            + b"\tContent-Type: " + protocol.encode() + b"\r\n"
            + b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(plain)).encode() + b"\r\n"
            + _BOUNDARY + _OCTET + struct.pack("<I", len(signature)) + signature + sealed + _END
        )
