"""Credential references and the masked ``Secret`` that carries a password in memory.

The inventory never holds a password, only a *reference* to where one lives: an environment
variable, the OS keyring (``keyring`` package) or an interactive prompt. References are
resolved once per run, right before collection, into ``Secret`` objects.

Why a dedicated ``Secret`` class rather than a plain ``str``: every dataclass repr, log
line, exception message and JSON dump in the tool would otherwise be one careless
``f"{target}"`` away from printing the password. ``Secret`` masks itself in ``repr``,
``str`` and ``format``, refuses to be pickled or JSON-serialised by accident, and hands out
the real value only through the explicit :meth:`Secret.reveal`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.errors import InputError
from auditor.vocab import MASK

if TYPE_CHECKING:  # pragma: no cover
    from auditor.collect.inventory import Inventory

class Secret:
    """A password held in memory; masked wherever it could be printed.

    >>> s = Secret("hunter2")
    >>> str(s), repr(s), f"{s}"
    ('********', "Secret('********')", '********')
    >>> s.reveal()
    'hunter2'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The real value. Call only where it is handed to the transport."""
        return self._value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:  # pragma: no cover - convenience
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # pickling would write the value out of process
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self):  # pragma: no cover - belt and braces with __reduce__
        raise TypeError("a Secret cannot be pickled")


# ---- references ----------------------------------------------------------------------


@dataclass(frozen=True)
class EnvRef:
    """``credential: {env: VAR}``: the password is in environment variable ``var``."""

    var: str

    def describe(self) -> str:
        return f"environment variable {self.var}"


@dataclass(frozen=True)
class KeyringRef:
    """``credential: {keyring: {service: S, username: U}}``: OS keyring entry (S, U)."""

    service: str
    username: str

    def describe(self) -> str:
        return f"keyring entry service={self.service!r} username={self.username!r}"


@dataclass(frozen=True)
class PromptRef:
    """``credential: {prompt: true}``: asked on the terminal, once per distinct username."""

    username: str = ""

    def describe(self) -> str:
        return f"prompt for {self.username or 'the password'}"


CredentialRef = EnvRef | KeyringRef | PromptRef


@dataclass(frozen=True)
class Credentials:
    """What the transport needs for one node: the user name and the (masked) password."""

    username: str
    password: Secret | None = field(default=None)


PromptFn = Callable[[str], str]


def click_prompt(text: str) -> str:
    """Hidden prompt on the terminal (works with click's CliRunner ``input=`` in tests)."""
    import getpass
    import warnings

    import click

    try:
        with warnings.catch_warnings():
            # without a terminal getpass also prints its own one-line "may be echoed" note;
            # the Python warning adds a source line that reads like a traceback
            warnings.simplefilter("ignore", getpass.GetPassWarning)
            return click.prompt(text, hide_input=True, show_default=False, err=True)
    except click.Abort:
        # End of input (a scheduled run, stdin from /dev/null) or Ctrl-C at the prompt: click
        # would print "Aborted!" and exit 1, which reads as "findings" to a pipeline.
        raise InputError("no password entered (end of input): credential {prompt: true} needs someone "
                         "at a terminal; for unattended runs use credential: {env: VAR} or "
                         "{keyring: ...} (see docs/inventory.md)") from None


def _keyring_get(ref: KeyringRef) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        raise InputError("credential uses the keyring, but the 'keyring' package is not installed") from None
    try:
        return keyring.get_password(ref.service, ref.username)
    except KeyringError as exc:
        # keyring errors describe the backend, never the secret
        raise InputError(f"cannot read {ref.describe()}: {type(exc).__name__}: {exc}") from None


def resolve_reference(ref: CredentialRef, *, prompt: PromptFn = click_prompt,
                      used_by: str = "") -> Secret:
    """Resolve one reference into a Secret (raises InputError naming the reference, never a value)."""
    who = f" (used by {used_by})" if used_by else ""
    if isinstance(ref, EnvRef):
        value = os.environ.get(ref.var)
        if value is None:
            raise InputError(f"environment variable {ref.var} is not set{who}; export it with the password")
        if value == "":
            raise InputError(f"environment variable {ref.var} is empty{who}")
        return Secret(value)
    if isinstance(ref, KeyringRef):
        value = _keyring_get(ref)
        if value is None:
            raise InputError(
                f"no password in the keyring for service={ref.service!r} username={ref.username!r}{who}; "
                f"store one with: keyring set {ref.service} {ref.username}"
            )
        return Secret(value)
    if isinstance(ref, PromptRef):
        label = f"Password for {ref.username}" if ref.username else "Password"
        if used_by:
            label += f" ({used_by})"
        value = prompt(label)
        if not value:
            raise InputError(f"no password entered for {ref.username or 'the prompt'}")
        return Secret(value)
    raise InputError(f"unknown credential reference {type(ref).__name__}")  # pragma: no cover


def _nodes_label(names: list[str]) -> str:
    if len(names) <= 3:
        return "nodes " + ", ".join(names) if len(names) > 1 else "node " + names[0]
    return f"nodes {', '.join(names[:3])} and {len(names) - 3} more"


def resolve_credentials(inventory: Inventory, prompt: PromptFn = click_prompt) -> dict[str, Credentials]:
    """Resolve every node's credential reference; each distinct reference is resolved once.

    Returns node name -> Credentials. Nodes without a credential (Kerberos with a ticket
    cache) get ``Credentials(username, None)``.
    """
    users: dict[CredentialRef, list[str]] = {}
    for node in inventory.nodes:
        if node.credential is not None:
            users.setdefault(node.credential, []).append(node.name)
    secrets: dict[CredentialRef, Secret] = {}
    for ref, names in users.items():
        secrets[ref] = resolve_reference(ref, prompt=prompt, used_by=_nodes_label(names))
    return {
        node.name: Credentials(node.username, secrets.get(node.credential) if node.credential else None)
        for node in inventory.nodes
    }
