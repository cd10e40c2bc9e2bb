"""Authentication pieces of the lab endpoint: Basic, per-connection NTLM, NTLM sealing framing.

NTLM authenticates the TCP connection, not the request (WINRM.md pitfall 1), so an
``NtlmConnection`` lives as long as one server connection thread. The ``multipart/encrypted``
framing is MS-WSMV 2.2.9.1.1 byte for byte as pywinrm writes and parses it.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

import spnego
from spnego.channel_bindings import GssChannelBindings

from auditor.lab.winrm.ntlm_users import split_account

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary\r\n"
_END = b"--Encrypted Boundary--\r\n"
_OCTET = b"\tContent-Type: application/octet-stream\r\n"


class AuthFailed(Exception):
    """Credentials or the NTLM exchange were rejected: answer 401."""


def account_matches(accounts: dict[str, str], principal: str) -> str | None:
    """The configured account name that ``principal`` (``user`` or ``DOMAIN\\user``) is, if any."""
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


class NtlmConnection:
    """The NTLM acceptor state of one TCP connection."""

    def __init__(self, channel_bindings: bytes | None):
        self._cbt = channel_bindings
        self.ctx: spnego.ContextProxy | None = None
        self.principal: str | None = None

    @property
    def complete(self) -> bool:
        return self.principal is not None

    def reset(self) -> None:
        self.ctx = None
        self.principal = None

    def step(self, token_b64: str) -> bytes | None:
        """Feed one client token; return the challenge to send, or None once authenticated.

        Raises AuthFailed on a bad password, missing/wrong channel binding or garbage.
        """
        try:
            token = base64.b64decode(token_b64, validate=True)
        except (binascii.Error, ValueError):
            self.reset()
            raise AuthFailed("malformed NTLM token") from None
        if self.ctx is None or self.complete:
            # a new NEGOTIATE on a connection starts a fresh exchange (re-authentication)
            self.principal = None
            bindings = GssChannelBindings(application_data=self._cbt) if self._cbt else None
            self.ctx = spnego.server(protocol="ntlm", channel_bindings=bindings)
        try:
            out = self.ctx.step(token)
        except Exception as exc:  # SpnegoError and friends: any failure is a 401
            self.reset()
            raise AuthFailed(f"NTLM rejected: {exc}") from None
        if out:
            return out
        if not self.ctx.complete:
            self.reset()
            raise AuthFailed("NTLM exchange incomplete")
        self.principal = str(self.ctx.client_principal or "")
        return None

    # -- message encryption (MS-WSMV 2.2.9.1.1) ---------------------------------------------
    def decrypt(self, body: bytes) -> bytes:
        assert self.ctx is not None
        if not body.startswith(_BOUNDARY):
            raise ValueError("encrypted body does not start with the boundary")
        second = body.find(_BOUNDARY, len(_BOUNDARY))
        if second < 0:
            raise ValueError("encrypted body has no payload part")
        header = body[len(_BOUNDARY):second]
        m = re.search(rb"Length=(\d+)", header)
        if not m or ENCRYPTED_PROTOCOL.encode() not in header:
            raise ValueError("encrypted header part lacks protocol or Length")
        payload = body[second + len(_BOUNDARY):]
        if not payload.endswith(_END) or not payload.startswith(_OCTET):
            raise ValueError("malformed encrypted payload part")
        payload = payload[len(_OCTET):-len(_END)]
        (sig_len,) = struct.unpack("<I", payload[:4])
        plain = self.ctx.unwrap(payload[4:]).data  # signature + sealed data, as pyspnego wants
        if sig_len != 16 or len(plain) != int(m.group(1)):
            raise ValueError("encrypted length mismatch")
        return plain

    def encrypt(self, plain: bytes) -> bytes:
        assert self.ctx is not None
        wrapped = self.ctx.wrap(plain, encrypt=True).data  # 16-byte signature + sealed data
        return (
            _BOUNDARY
            + b"\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
            + b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(plain)).encode() + b"\r\n"
            + _BOUNDARY + _OCTET + struct.pack("<I", 16) + wrapped + _END
        )
