"""What kind of Windows account a service logs on as (its StartName).

The vendor procedure asks for the Infrastructure Service to run as "the service account that
has full administrative rights on the local server and to the shared directory". Only an
account the file server knows can hold rights on a network share: a domain account
(``CORP\\svc``, ``svc@corp.example``) or a group managed service account (``CORP\\svc$``).
The others reach a share as the computer account (built-in ``LocalSystem``, virtual
``NT SERVICE\\YSoftIms``), which differs on every Management server, or not at all (a local
account ``.\\svc`` or ``MGMT2\\svc`` exists on that server only).

:func:`classify` is the one home of the classification; its rules (the built-in names, the
pseudo-domains of built-in and virtual accounts, the gMSA suffix) are profile data
(``service_accounts``), so an admin can correct them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from auditor.addresses import is_ip

if TYPE_CHECKING:  # the profile's view imports AccountKind from here
    from auditor.profile.view import ServiceAccounts


class AccountKind(StrEnum):
    """The kind of a service's log-on account."""

    BUILTIN = "built-in"  # LocalSystem, NT AUTHORITY\NetworkService ...
    VIRTUAL = "virtual"  # NT SERVICE\<service>
    LOCAL = "local"  # .\user or COMPUTERNAME\user (this server's own name)
    DOMAIN = "domain"  # DOMAIN\user or user@domain
    GMSA = "gMSA"  # DOMAIN\name$ (group managed service account)
    UNKNOWN = "unknown form"  # none of the above (a bare name, an empty StartName ...)

    @property
    def label(self) -> str:
        return {AccountKind.GMSA: "group managed service account (gMSA)",
                AccountKind.UNKNOWN: "account of unknown form"}.get(self, f"{self.value} account")

    @property
    def needs_password(self) -> bool:
        """Whether setting a service to an account of this kind needs its password: Windows
        manages the passwords of built-in, virtual and group managed service accounts."""
        return self not in (AccountKind.BUILTIN, AccountKind.VIRTUAL, AccountKind.GMSA)

    def why_not_on_a_share(self) -> str:
        """Why an account of this kind cannot hold rights on a network share (for kinds that
        cannot; domain accounts and gMSAs can)."""
        return {
            AccountKind.BUILTIN: "a built-in account reaches a network share only as the computer account "
                                 "(or not at all), which differs on every server",
            AccountKind.VIRTUAL: "a virtual account exists only on this server and reaches a network share "
                                 "only as the computer account, which differs on every server",
            AccountKind.LOCAL: "a local account exists only on this server, so the file server cannot grant "
                               "it rights on the share",
            AccountKind.UNKNOWN: "the form is none of DOMAIN\\user, user@domain or DOMAIN\\name$, so what it "
                                 "can reach is unknown",
        }.get(self, "")


@dataclass(frozen=True)
class Account:
    """A StartName with its kind; ``key`` is how two accounts are compared (case-insensitive)."""

    text: str
    kind: AccountKind
    domain: str = ""  # as written: CORP, corp.example, NT SERVICE, .
    user: str = ""

    @property
    def key(self) -> str:
        return self.text.strip().lower()

    def describe(self) -> str:
        return f"{self.text} ({self.kind.label})"


def _split(text: str) -> tuple[str, str, str] | None:
    """(domain, user, form) of ``DOMAIN\\user`` (form ``\\``) or ``user@domain`` (form ``@``)."""
    if text.count("\\") == 1 and "@" not in text:
        domain, user = text.split("\\")
        return (domain, user, "\\") if user else None
    if text.count("@") == 1 and "\\" not in text:
        user, domain = text.split("@")
        return (domain, user, "@") if user and domain else None
    return None


def classify(start_name: str | None, rules: ServiceAccounts, computer_names: Iterable[str] = ()) -> Account:
    """The kind of ``start_name`` on a server known by ``computer_names`` (its host name,
    the first label of its FQDN, its inventory name): ``MGMT2\\svc`` on MGMT2 is local."""
    text = (start_name or "").strip()
    low = text.lower()
    builtin = {n.lower() for n in rules.builtin_names}
    split = _split(text)
    domain, user, form = split if split else ("", text, "")
    dom, usr = domain.lower(), user.lower()
    own = {c.strip().lower().split(".", 1)[0] for c in computer_names if c and c.strip() and not is_ip(c.strip())}
    if not text:
        kind = AccountKind.UNKNOWN
    elif low in builtin or (form == "\\" and dom in {d.lower() for d in rules.builtin_domains}) \
            or (form == "\\" and dom in {d.lower() for d in rules.local_domains} and usr in builtin):
        kind = AccountKind.BUILTIN
    elif form == "\\" and dom in {d.lower() for d in rules.virtual_domains}:
        kind = AccountKind.VIRTUAL
    elif form == "\\" and (dom in {d.lower() for d in rules.local_domains} or dom in own):
        kind = AccountKind.LOCAL
    elif form and rules.gmsa_suffix and user.endswith(rules.gmsa_suffix) and len(user) > len(rules.gmsa_suffix):
        kind = AccountKind.GMSA
    elif form:
        kind = AccountKind.DOMAIN
    else:
        kind = AccountKind.UNKNOWN
    return Account(text=text, kind=kind, domain=domain, user=user)


__all__ = ["Account", "AccountKind", "classify"]
