"""What the auditor knows about Kerberos on the client side: the service principal it asks
for, what each Kerberos failure means for an admin, and whether this host has a usable ticket.

pywinrm authenticates ``transport: kerberos`` with its vendored requests-kerberos over
pykerberos (MIT krb5 on Linux; winkerberos/SSPI on Windows). Its errors arrive as the GSS
library's own text inside a ``KerberosExchangeError`` ("('Ticket expired', -1765328352)"), or,
when the node refuses the ticket, as a bare HTTP 401. :func:`explain` turns both into one line
that says what to do (run kinit, fix the host name, sync the clock...), which becomes the
node's reason with status ``auth``.

No ticket, key or token ever goes into these messages: only the principal names and the
library's description of the failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

SERVICE = "HTTP"  # WinRM's service class; pywinrm asks for HTTP/<host>
MAX_SKEW = "5 minutes"  # the Kerberos default (clockskew = 300 s), also Active Directory's


class KerberosProblem(StrEnum):
    """Why a Kerberos attempt failed, in the terms an admin acts on."""

    NO_TICKET = "no_ticket"
    EXPIRED = "expired"
    UNKNOWN_SPN = "unknown_spn"
    CLOCK_SKEW = "clock_skew"
    KDC_UNREACHABLE = "kdc_unreachable"
    UNKNOWN_REALM = "unknown_realm"
    REJECTED_BY_NODE = "rejected_by_node"
    NOT_OFFERED = "not_offered"
    NODE_NOT_PROVEN = "node_not_proven"
    OTHER = "other"


# (problem, pattern in the GSS/krb5 text). MIT's wording, with Windows SSPI's where it differs.
_PATTERNS: tuple[tuple[KerberosProblem, str], ...] = (
    (KerberosProblem.NO_TICKET, r"No Kerberos credentials available|No credentials cache found|"
                                r"credentials cache .* not found|No credentials were supplied|"
                                r"SEC_E_NO_CREDENTIALS"),
    (KerberosProblem.EXPIRED, r"Ticket expired|credential has expired|SEC_E_CONTEXT_EXPIRED"),
    (KerberosProblem.UNKNOWN_REALM, r"Server krbtgt/|Cannot find KDC for realm|Cannot resolve network address for KDC"),
    (KerberosProblem.UNKNOWN_SPN, r"not found in Kerberos database|Server not found|SEC_E_TARGET_UNKNOWN"),
    (KerberosProblem.CLOCK_SKEW, r"Clock skew too great|SEC_E_TIME_SKEW"),
    (KerberosProblem.KDC_UNREACHABLE, r"Cannot contact any KDC|SEC_E_NO_AUTHENTICATING_AUTHORITY"),
)


def classify(text: str) -> KerberosProblem:
    """The problem a Kerberos library error text describes (OTHER when none matches)."""
    for problem, pattern in _PATTERNS:
        if re.search(pattern, text, re.IGNORECASE):
            return problem
    return KerberosProblem.OTHER


def service_principal(host: str, override: str | None = None) -> str:
    """The principal the client asks the KDC for: ``HTTP/<override or host>`` (realm by mapping)."""
    return f"{SERVICE}/{override or host}"


def gss_detail(text: str) -> str:
    """The library's own words from a pykerberos error, without the tuple noise.

    ``authGSSClientStep() failed: (('Unspecified GSS failure...', 851968), ('Ticket expired',
    -1765328352))`` -> ``Ticket expired``; the minor (mechanism) message is the informative one.
    """
    parts = [m.group(2) for m in re.finditer(r"\((['\"])(.*?)\1,\s*-?\d+\)", text)]
    for part in reversed(parts):
        if part and "Minor code may provide" not in part:
            return part
    return " ".join(text.split())[:200]


@dataclass(frozen=True)
class KerberosContext:
    """What a message needs to name: the node's address and the principal asked for."""

    where: str  # host:port
    spn: str  # HTTP/host
    principal: str = ""  # the ticket's user, when the inventory names one


def explain(problem: KerberosProblem, ctx: KerberosContext, detail: str = "", offered: str = "") -> str:
    """One line an admin can act on, for a node whose Kerberos authentication failed."""
    who = ctx.principal or "user@REALM"
    if problem is KerberosProblem.NO_TICKET:
        return (f"no Kerberos ticket: run kinit {who} (or log on to the domain) before the run; "
                f"for unattended runs use kinit -k -t KEYTAB (node {ctx.where})")
    if problem is KerberosProblem.EXPIRED:
        return f"the Kerberos ticket has expired: run kinit {who} again (node {ctx.where})"
    if problem is KerberosProblem.UNKNOWN_SPN:
        return (f"the KDC does not know the service principal {ctx.spn} ({detail}): name the node by the host "
                "name its SPN is registered under (address:, or kerberos_hostname_override: when the inventory "
                f"uses an IP address) (node {ctx.where})")
    if problem is KerberosProblem.UNKNOWN_REALM:
        return (f"no Kerberos realm for {ctx.spn} ({detail}): map the node's domain to its realm in krb5.conf "
                f"[domain_realm], or use its fully qualified name (node {ctx.where})")
    if problem is KerberosProblem.CLOCK_SKEW:
        return (f"clock skew too great between this host and the KDC (Kerberos allows {MAX_SKEW}): "
                f"synchronise the clocks (chrony/ntp, w32tm /resync) (node {ctx.where})")
    if problem is KerberosProblem.KDC_UNREACHABLE:
        return (f"cannot reach a Kerberos KDC ({detail}): check the realm's kdc entries in krb5.conf (or DNS SRV "
                f"records) and that TCP/UDP port 88 is open from this host (node {ctx.where})")
    if problem is KerberosProblem.NOT_OFFERED:
        return (f"the node does not offer Kerberos (it offers {offered or 'nothing'}); Kerberos runs never fall "
                f"back to NTLM or Basic: enable Kerberos (Negotiate) on its WinRM listener, or set another "
                f"transport for it (node {ctx.where})")
    if problem is KerberosProblem.REJECTED_BY_NODE:
        return (f"the node rejected the Kerberos ticket for {ctx.spn}: is that SPN registered to this node's "
                f"computer account (setspn -L), are the clocks within {MAX_SKEW}, and may {who} use WinRM there? "
                f"(node {ctx.where})")
    if problem is KerberosProblem.NODE_NOT_PROVEN:
        return (f"the node did not prove its identity (Kerberos mutual authentication failed for {ctx.spn}): "
                f"another host may be answering at {ctx.where}")
    return f"Kerberos authentication failed for {ctx.spn} at {ctx.where}: {detail}"[:300]


# ---- is there a ticket? ----------------------------------------------------------------------


@dataclass(frozen=True)
class TicketProbe:
    """Whether a Kerberos ticket for ``spn`` can be had on this host right now."""

    usable: bool
    problem: KerberosProblem | None = None
    detail: str = ""

    @property
    def has_ticket(self) -> bool:
        """A ticket-granting ticket is there (even if this SPN then failed for a reason the run will
        report: an unknown SPN, clock skew, an unreachable KDC)."""
        return self.usable or self.problem in _TICKET_BUT

_TICKET_BUT = frozenset({KerberosProblem.UNKNOWN_SPN, KerberosProblem.UNKNOWN_REALM, KerberosProblem.CLOCK_SKEW,
                         KerberosProblem.KDC_UNREACHABLE})


def probe_ticket(host: str, override: str | None = None) -> TicketProbe:
    """Ask the Kerberos library for a service ticket to ``HTTP/<host>`` with the default credentials.

    On Linux this reads the ticket cache ($KRB5CCNAME) and asks the KDC for the service ticket;
    on Windows (winkerberos) it uses the logged-on user's logon session. Nothing is sent to
    the node. Without pykerberos/winkerberos installed, the probe says so (not usable).
    """
    try:
        import kerberos  # pykerberos (winkerberos on Windows provides the same API under its own name)
    except ImportError:
        try:
            import winkerberos as kerberos  # type: ignore[no-redef]
        except ImportError:
            return TicketProbe(False, KerberosProblem.OTHER, "pywinrm's Kerberos package is not installed "
                                                             "(pip install 'pywinrm[kerberos]')")
    name = f"{SERVICE}@{override or host}"
    try:
        _, ctx = kerberos.authGSSClientInit(name, gssflags=kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG)
        kerberos.authGSSClientStep(ctx, "")
    except kerberos.GSSError as exc:
        text = str(exc.args)
        return TicketProbe(False, classify(text), gss_detail(text))
    return TicketProbe(True)
