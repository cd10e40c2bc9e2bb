"""The fix plan: what `auditor fix` would change, as plain data, computed without touching a node.

A plan is the contract between the fixers (which decide *what* to change) and the apply
engine (which decides *how*: one node at a time, backup, atomic write, restart, verify,
roll back). Keeping it as inert data is what makes the dry run trustworthy: the printed
plan is exactly what ``--apply`` executes, nothing is recomputed in between.

Secrets never live in a plan: a service-account change carries a *reference* to where the
password comes from (``env:VAR``, ``keyring:...``, ``prompt``), resolved only at apply time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from auditor.parsers.text import decode_bytes
from auditor.remote.protocol import sha256_hex
from auditor.secretkeys import DEFAULT_SECRET_PATTERNS, compile_patterns
from auditor.vocab import MASK

RESTART = "restart"
SET_ACCOUNT = "set_account"


# ---- text decoding for display (never used to write: edits work on bytes) ---------------

_LABELS = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "latin-1": "8-bit (Latin-1)"}


def describe_encoding(data: bytes) -> str:
    """Human label of a file's encoding, as the parsers detect it (BOM included)."""
    d = decode_bytes(data)
    label = _LABELS.get(d.encoding, d.encoding)
    return f"{label} with BOM" if d.bom else label


def decode_for_display(data: bytes) -> str:
    return decode_bytes(data).text


def line_ending(data: bytes) -> str:
    text = decode_for_display(data)
    if "\r\n" in text:
        return "CRLF"
    if "\n" in text:
        return "LF"
    return "none"


# ---- masking of secrets in displayed text (which keys: auditor.secretkeys) --------------

_KV_RE = re.compile(r"^(\s*)([^=:\s#;!][^=:]*?)(\s*[=:]\s*)(.*)$")


def mask_secret_lines(lines: Iterable[str], patterns: Sequence[str] = DEFAULT_SECRET_PATTERNS) -> list[str]:
    """Replace the value of ``key=value`` lines whose key looks secret with :data:`MASK`.

    Why: a diff shows context lines around a change, and a real configuration file may hold
    a database password next to the key we edit. The diff is printed and journaled; neither
    may ever carry a secret.
    """
    compiled = compile_patterns(patterns)
    out = []
    for line in lines:
        m = _KV_RE.match(line)
        if m and m.group(4) and any(c.search(m.group(2).strip()) for c in compiled):
            line = f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}"
        out.append(line)
    return out


def unified_diff(old: bytes, new: bytes, label: str,
                 secret_patterns: Sequence[str] = DEFAULT_SECRET_PATTERNS) -> str:
    """A unified diff of two versions of one file, for people (not for `patch`).

    Both sides are decoded as the parsers do (edits never change the encoding); line endings are not shown, the header names encoding and line endings instead.
    """
    old_text = decode_for_display(old)
    new_text = decode_for_display(new)
    old_lines = mask_secret_lines(old_text.splitlines(), secret_patterns)
    new_lines = mask_secret_lines(new_text.splitlines(), secret_patterns)
    body = list(difflib.unified_diff(old_lines, new_lines, fromfile=f"{label} (now)",
                                     tofile=f"{label} (planned)", lineterm="", n=2))
    if not body:
        return ""
    header = f"# encoding: {describe_encoding(old)}, line endings: {line_ending(old)}"
    return "\n".join([header, *body]) + "\n"


# ---- the plan model -----------------------------------------------------------------------


@dataclass
class FileEdit:
    """Replace the whole content of one file on one node.

    ``old`` is what collection saw; the apply engine writes ``new`` only if the file still
    hashes to ``old_sha256`` on the node (otherwise someone changed it since: stop).
    ``restart`` names the service that must be restarted to pick the change up.
    """

    node: str
    path: str  # Windows path on the node
    old: bytes
    new: bytes
    check_id: str
    reason: str
    restart: str | None = None
    secret_patterns: tuple[str, ...] = DEFAULT_SECRET_PATTERNS

    @property
    def old_sha256(self) -> str:
        return sha256_hex(self.old)

    @property
    def new_sha256(self) -> str:
        return sha256_hex(self.new)

    @property
    def diff(self) -> str:
        return unified_diff(self.old, self.new, f"{self.node}:{self.path}", self.secret_patterns)

    @property
    def changes(self) -> bool:
        return self.old != self.new

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "path": self.path, "check_id": self.check_id, "reason": self.reason,
                "old_sha256": self.old_sha256, "new_sha256": self.new_sha256, "restart": self.restart,
                "diff": self.diff}


@dataclass
class ServiceAction:
    """A service operation: ``restart`` or ``set_account`` (change the logon account).

    ``password_ref`` is a description of where the password will come from at apply time
    (e.g. ``env:PARAGON_IMS_PASSWORD``); never the password.
    """

    kind: str  # RESTART or SET_ACCOUNT
    service: str
    check_id: str
    reason: str
    account: str | None = None
    previous_account: str | None = None
    password_ref: str | None = None

    def describe(self) -> str:
        if self.kind == SET_ACCOUNT:
            pw = f", password from {self.password_ref}" if self.password_ref else ", no password"
            return (f"set logon account of service {self.service}: {self.previous_account or '?'} -> "
                    f"{self.account}{pw}")
        return f"restart service {self.service}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "service": self.service, "check_id": self.check_id, "reason": self.reason,
                "account": self.account, "previous_account": self.previous_account,
                "password_ref": self.password_ref, "description": self.describe()}


@dataclass
class NodePlan:
    """Everything planned for one node, in the order it will be applied: file edits, then
    account changes, then restarts (each service restarted once, whatever asked for it)."""

    node: str
    edits: list[FileEdit] = field(default_factory=list)
    actions: list[ServiceAction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (check_id, subject) of the failing findings this plan addresses; verification re-runs
    # these checks on the node and expects them to pass.
    addresses: list[tuple[str, str]] = field(default_factory=list)
    # failures of this node that a fixer could not plan safely (lifted into FixPlan.blocked)
    blocked: list[Blocked] = field(default_factory=list)
    # addressed findings that are expected to still fail afterwards, with fewer problems
    # (e.g. a missing server added while a stale one is kept without --remove-stale)
    partial: list[tuple[str, str]] = field(default_factory=list)

    @property
    def check_ids(self) -> list[str]:
        seen: list[str] = []
        for cid in [e.check_id for e in self.edits] + [a.check_id for a in self.actions] + \
                [a[0] for a in self.addresses]:
            if cid not in seen:
                seen.append(cid)
        return seen

    @property
    def empty(self) -> bool:
        return not any(e.changes for e in self.edits) and not self.actions

    @property
    def restarts(self) -> list[ServiceAction]:
        return [a for a in self.actions if a.kind == RESTART]

    @property
    def account_changes(self) -> list[ServiceAction]:
        return [a for a in self.actions if a.kind == SET_ACCOUNT]

    def steps(self) -> list[str]:
        """One line per planned step, in apply order (for the confirmation prompt and reports)."""
        lines = [f"write {e.path}" for e in self.edits if e.changes]
        lines += [a.describe() for a in self.account_changes]
        lines += [a.describe() for a in self.restarts]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "edits": [e.to_dict() for e in self.edits if e.changes],
                "actions": [a.to_dict() for a in self.actions], "notes": list(self.notes),
                "addresses": [list(a) for a in self.addresses], "partial": [list(a) for a in self.partial]}


@dataclass
class Advice:
    """A failing check with no automatic fix: what the admin should do instead."""

    check_id: str
    nodes: list[str]
    text: str
    references: list[str] = field(default_factory=list)


@dataclass
class Blocked:
    """A fixable failure that could not be planned safely (e.g. no agreed shared path)."""

    check_id: str
    nodes: list[str]
    reason: str


@dataclass
class FixPlan:
    nodes: list[NodePlan] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return any(not n.empty for n in self.nodes)

    def node(self, name: str) -> NodePlan | None:
        return next((n for n in self.nodes if n.node.lower() == name.lower()), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [n.to_dict() for n in self.nodes if not n.empty],
            "advice": [{"check_id": a.check_id, "nodes": a.nodes, "text": a.text, "references": a.references}
                       for a in self.advice],
            "blocked": [{"check_id": b.check_id, "nodes": b.nodes, "reason": b.reason} for b in self.blocked],
            "notes": list(self.notes),
        }


def combine_edits(first: FileEdit, second: FileEdit) -> FileEdit:
    """One edit doing what two fixers planned for the same .properties file (both against the
    collected bytes): ``second``'s key changes (set, added after the same key, removed) are
    replayed on ``first``'s result. Both must restart the same service; any other pair of edits
    of one file would silently undo each other: a programming error, raised."""
    from auditor.parsers import PropertiesDocument

    if not first.path.lower().endswith(".properties") or first.restart != second.restart or first.old != second.old:
        raise ValueError(f"two fixers edit {first.node}:{first.path}; combine them into one fixer")
    before, after = PropertiesDocument(second.old, second.path), PropertiesDocument(second.new, second.path)
    doc = PropertiesDocument(first.new, first.path)
    order = after.keys()
    for key in before:
        if key not in after:
            doc.remove(key)
    for i, key in enumerate(order):
        if before.get(key) != after.get(key):
            doc.set(key, after.get(key) or "", after=order[i - 1] if i > 0 and key not in before else None)
    return replace(first, new=doc.render(), reason=f"{first.reason}; {second.reason}")


def merge_node_plans(plans: Iterable[NodePlan], order: Sequence[str] = ()) -> list[NodePlan]:
    """Merge the per-fixer plans into one plan per node.

    - Two fixers editing the same file would each have planned against the collected bytes,
      so the second edit would silently undo the first: that is a programming error, raised.
    - Account changes come before restarts; each service is restarted once, after all the
      edits and account changes that need it.
    - Nodes come in ``order`` (inventory order) so the rollout sequence is predictable.
    """
    merged: dict[str, NodePlan] = {}
    for p in plans:
        m = merged.setdefault(p.node.lower(), NodePlan(node=p.node))
        for e in p.edits:
            i = next((i for i, x in enumerate(m.edits) if x.path.lower() == e.path.lower()), None)
            if i is None:
                m.edits.append(e)
            else:
                m.edits[i] = combine_edits(m.edits[i], e)
        m.actions.extend(p.actions)
        m.notes.extend(n for n in p.notes if n not in m.notes)
        m.addresses.extend(a for a in p.addresses if a not in m.addresses)
        m.blocked.extend(p.blocked)
        m.partial.extend(a for a in p.partial if a not in m.partial)
    for m in merged.values():
        accounts = [a for a in m.actions if a.kind == SET_ACCOUNT]
        restarts: list[ServiceAction] = []
        for a in m.actions:
            if a.kind == RESTART and not any(r.service.lower() == a.service.lower() for r in restarts):
                restarts.append(a)
        for e in m.edits:
            if e.restart and e.changes and not any(r.service.lower() == e.restart.lower() for r in restarts):
                restarts.append(ServiceAction(RESTART, e.restart, e.check_id, f"pick up {e.path}"))
        for a in accounts:
            if not any(r.service.lower() == a.service.lower() for r in restarts):
                restarts.append(ServiceAction(RESTART, a.service, a.check_id, "run under the new account"))
        m.actions = accounts + restarts
    index = {n.lower(): i for i, n in enumerate(order)}
    return sorted(merged.values(), key=lambda n: (index.get(n.node.lower(), len(index)), n.node.lower()))


# ---- what fixers receive and may raise ---------------------------------------------------


@dataclass
class FixOptions:
    """The admin's choices that change what gets planned (all from the command line).

    ``password_ref`` is a credential reference (``auditor.collect.credentials`` EnvRef /
    KeyringRef / PromptRef), resolved only when applying; None means "prompt at apply time".
    ``nodes`` restricts which nodes get changed (the whole cluster is still used to decide
    what is right).
    """

    remove_stale: bool = False
    repository_path: str | None = None
    service_account: str | None = None
    password_ref: Any = None
    nodes: list[str] | None = None

    def targets(self, node: str) -> bool:
        return self.nodes is None or node.lower() in {n.lower() for n in self.nodes}


class CannotPlan(Exception):
    """A fixer cannot plan a safe change (e.g. no agreed shared path): reported as blocked."""

    def __init__(self, reason: str, nodes: Sequence[str] = ()):
        super().__init__(reason)
        self.reason = reason
        self.nodes = list(nodes)
