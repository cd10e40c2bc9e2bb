"""The Kerberos acceptor of a lab WinRM listener: python-gssapi over MIT krb5, keytab by path.

A Windows node accepts the AP-REQ in a client's ``Negotiate`` (or ``Kerberos``) token with the
key of its ``HTTP/<host>`` service principal, answers with an AP-REP (mutual
authentication), and from then on seals every WinRM message with the session key
(``gss_wrap_iov``: a header, the data encrypted in place, no padding with AES). This does the
same with the lab realm's service keytab (``auditor.lab.kdc``).

Why python-gssapi directly and not pyspnego's ``spnego.server(protocol="kerberos")``: pyspnego
only reads the process-wide default keytab (``KRB5_KTNAME``) and hides whether the client's
channel bindings matched. Here the keytab is named per listener (MIT's credential store), so
two labs in one process never share keys, and the ``channel_bound`` flag lets a listener with
strict channel binding refuse a ticket that was not bound to its TLS certificate, as Windows'
``CbtHardeningLevel=Strict`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class KerberosUnavailable(RuntimeError):
    """python-gssapi is not installed (``pip install 'paragon-auditor[kerberos]'``)."""


def _gssapi() -> Any:
    try:
        import gssapi
        import gssapi.raw  # noqa: F401 - the IOV functions below live here
    except ImportError as exc:
        raise KerberosUnavailable(f"the lab's Kerberos acceptor needs python-gssapi ({exc}); "
                                  "pip install 'paragon-auditor[kerberos]'") from None
    return gssapi


def check_available(keytab: Path) -> None:
    """Fail at listener start, not at the first client: gssapi importable and the keytab readable."""
    gssapi = _gssapi()
    if not Path(keytab).is_file():
        raise KerberosUnavailable(f"service keytab {keytab} does not exist")
    try:
        gssapi.Credentials(usage="accept", store={"keytab": f"FILE:{keytab}"})
    except gssapi.exceptions.GSSError as exc:
        raise KerberosUnavailable(f"cannot use the service keytab {keytab}: {exc}") from None


class KerberosAcceptor:
    """One Kerberos security context, accepted with the keys in ``keytab``.

    ``channel_bindings``: the TLS ``tls-server-end-point`` data when the listener requires
    channel binding; the ticket must then be bound to it (see :attr:`channel_bound`).
    """

    def __init__(self, keytab: Path, channel_bindings: bytes | None):
        gssapi = _gssapi()
        self._gssapi = gssapi
        self._creds = gssapi.Credentials(usage="accept", store={"keytab": f"FILE:{keytab}"})
        self._bindings = gssapi.raw.ChannelBindings(application_data=channel_bindings) if channel_bindings else None
        self._ctx: Any = None  # gssapi.raw.SecurityContext once the first token is accepted
        self._complete = False
        self._flags: Any = ()
        self._principal = ""

    def step(self, token: bytes) -> bytes | None:
        """Accept the client's token; return the reply token (the AP-REP), if any.

        Raises ``gssapi.exceptions.GSSError`` on a ticket the keytab cannot read, a replay, a
        clock skew, mismatched channel bindings...; its ``token`` may carry a KRB-ERROR. (The
        raw call is used because the high-level ``SecurityContext.step`` returns that error
        token and raises only on the next attribute read.)
        """
        res = self._gssapi.raw.accept_sec_context(token, self._creds, context=self._ctx,
                                                  channel_bindings=self._bindings)
        self._ctx = res.context
        self._complete = not res.more_steps
        self._flags = res.flags
        if res.initiator_name is not None:
            self._principal = str(self._gssapi.Name(base=res.initiator_name)).rstrip("\x00")
        return res.token

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def principal(self) -> str:
        """The client principal, ``user@REALM``."""
        return self._principal

    @property
    def channel_bound(self) -> bool:
        """True when the client's channel bindings matched the listener's (MIT 1.19+ flag)."""
        return self._gssapi.RequirementFlag.channel_bound in self._flags

    def wrap_winrm(self, plain: bytes) -> tuple[bytes, bytes]:
        """(header, sealed data) for one WinRM message (MS-WSMV 2.2.9.1.2)."""
        raw = self._gssapi.raw
        iov = raw.IOV(raw.IOVBufferType.header, plain, raw.IOVBufferType.padding, std_layout=False)
        raw.wrap_iov(self._ctx, iov, confidential=True)
        header, data, padding = (b.value or b"" for b in iov)
        return header, data + padding

    def unwrap_winrm(self, header: bytes, data: bytes) -> bytes:
        """The plaintext of one sealed WinRM message; raises GSSError when it was tampered with."""
        raw = self._gssapi.raw
        iov = raw.IOV((raw.IOVBufferType.header, False, header), data, raw.IOVBufferType.data, std_layout=False)
        res = raw.unwrap_iov(self._ctx, iov)
        if not res.encrypted:
            raise ValueError("Kerberos message was signed but not encrypted")
        return iov[1].value or b""
