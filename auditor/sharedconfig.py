"""The configuration Management servers share, compared key by key across them.

The vendor's procedure for an additional Management server hands it the Management Service and
Infrastructure Service configuration "taken from any other existing" server: apart from the keys
that name the server itself, those files are the same on every Management server. The profile
lists them (``shared_config``: which files, which keys are node-specific, which keys another
check owns); this module compares every other key of every such file across the Management
servers and decides, key by key, who is wrong (:func:`auditor.deviation.judge`: the inventory's
``shared_config`` declaration, then the majority; a tie says which key to declare). A key that
is missing on some servers votes as *absent*, so "present on one server only" and "missing on one
server" are differences like any other. Secrets (profile ``management_conf.secret_key_patterns``)
are compared by a hash of their value and never shown, kept or copied. The database settings
(profile ``management_conf.db`` keys) are not compared here: every Management server's database,
read from its etcd first, is DB-SETTINGS-CONSISTENT's (one home for that rule).

MGMT-CONFIG-CONSISTENT turns a :class:`Comparison` into findings; its fixer writes the reference
values a deviating server lacks. Servers whose file could not be read do not vote on that file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.cluster import Cluster, FileResult
from auditor.deviation import Declare, Judgement, judge
from auditor.expectations import Expected
from auditor.history.store import DEFAULT_SECRET_PATTERNS
from auditor.profile.view import SharedFile
from auditor.vocab import FileStatus
from auditor.winpath import path_key

ABSENT = "<absent>"
SECRET = "<secret>"


@dataclass(frozen=True)
class Slot:
    """One server's value of one shared key: ``compare`` is None when the key is absent; a
    secret keeps only the hash of its value (``value`` is None)."""

    compare: str | None
    shown: str  # the value, <secret> or <absent>
    value: str | None = None  # as the service reads it (never for a secret)
    line: int | None = None
    path: str | None = None  # the file on the node

    @property
    def absent(self) -> bool:
        return self.compare is None


@dataclass(frozen=True)
class SharedKey:
    """One key of one shared file on which some Management server fails."""

    entry: str  # the profile's shared_config entry
    spec: SharedFile
    rel: str  # the file relative to its folder, e.g. ims\application.properties
    key: str
    secret: bool
    judgement: Judgement  # over Slot values (the declared value is a text)

    @property
    def label(self) -> str:
        return f"{self.rel} {self.key}"

    def slot(self, node: str) -> Slot | None:
        verdict = self.judgement.of(node)
        return verdict.value if verdict is not None else None

    @property
    def reference(self) -> Slot | None:
        """The value every server must have (a declared text becomes a slot), None: undecided."""
        ref = self.judgement.reference
        if ref is None or isinstance(ref, Slot):
            return ref
        return Slot(compare=str(ref).strip(), shown=str(ref), value=str(ref))

    @property
    def holders(self) -> tuple[str, ...]:
        """The servers that have the reference value."""
        return tuple(n for n, v in self.judgement.verdicts.items() if not v.fails)

    @property
    def expected(self) -> Expected | None:
        """The reference with its source (a server's value as it shows: <secret>, <absent>)."""
        return self.judgement.expected


@dataclass(frozen=True)
class Comparison:
    """Every shared key on which some Management server fails, and what was compared."""

    keys: tuple[SharedKey, ...] = ()
    voters: tuple[str, ...] = ()  # servers with at least one shared file compared
    compared: Mapping[str, int] = field(default_factory=dict)  # server -> keys it has, compared
    files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # server -> files compared
    problems: Mapping[str, FileResult] = field(default_factory=dict)  # server -> a file it could not read
    ignored_declarations: tuple[str, ...] = ()  # declared secrets: never compared with a declared value

    def failing_on(self, node: str) -> list[SharedKey]:
        return [k for k in self.keys if (v := k.judgement.of(node)) is not None and v.fails]

    @property
    def deviating(self) -> tuple[str, ...]:
        return tuple(sorted({n for k in self.keys for n in k.judgement.deviating}, key=str.lower))


class _Secrets:
    """Whether a key holds a secret: the profile's patterns and the history store's defaults
    both apply (masking must fail safe), each key decided once."""

    def __init__(self, patterns: tuple[str, ...]):
        self._rx = [re.compile(p) for p in (*DEFAULT_SECRET_PATTERNS, *patterns)]
        self._seen: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        if key not in self._seen:
            self._seen[key] = any(rx.search(key) for rx in self._rx)
        return self._seen[key]


def _hash(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _declared_key(value: Any) -> str | None:
    return value.compare if isinstance(value, Slot) else str(value).strip()


def _shown(value: Any) -> str:
    return value.shown if isinstance(value, Slot) else str(value)


def compare(cluster: Cluster) -> Comparison:
    """Compare every shared key across the Management servers (see the module docstring)."""
    secret = _Secrets(cluster.profile.management_conf.secret_key_patterns)
    db = cluster.profile.management_conf.db
    database_keys = {db.class_key, db.host_key, db.port_key, db.embedded_key}  # DB-SETTINGS-CONSISTENT's
    slots: dict[tuple[str, str], dict[str, Slot]] = {}  # (file key, key) -> server -> slot
    about: dict[str, tuple[str, SharedFile, str]] = {}  # file key -> (entry, spec, rel as first seen)
    seen_files: dict[str, set[str]] = {}  # server -> file keys it votes on
    entries_seen: dict[str, set[str]] = {}  # server -> profile entries with a file it could read
    problems: dict[str, FileResult] = {}
    unreadable: dict[str, set[str]] = {}  # server -> file keys it could not read
    compared: dict[str, int] = {}
    voters: list[str] = []
    for node in cluster.management_nodes:
        mgmt = node.management
        if not (node.reachable and mgmt and mgmt.shared):
            continue
        voters.append(node.name)
        files: set[str] = set()
        count = 0
        for shared in mgmt.shared:
            fkey = path_key(shared.rel)
            res = shared.result
            if not res.ok and res.status != FileStatus.MISSING:
                problems.setdefault(node.name, res)
                unreadable.setdefault(node.name, set()).add(fkey)
                continue
            files.add(fkey)
            entries_seen.setdefault(node.name, set()).add(shared.name)
            about.setdefault(fkey, (shared.name, shared.spec, shared.rel))
            if not res.ok:
                continue  # a named file that does not exist: its keys are absent here
            for key in res.doc:
                if shared.spec.node_specific(key) or key in shared.spec.compared_by or key in database_keys:
                    continue
                entry = res.doc.entry(key)
                value = entry.value if entry is not None else ""
                line = entry.lineno if entry is not None else None
                count += 1
                slot = (Slot(_hash(value), SECRET, None, line, res.path) if secret(key)
                        else Slot(value.strip(), value, value, line, res.path))
                slots.setdefault((fkey, key), {})[node.name] = slot
        seen_files[node.name] = files
        compared[node.name] = count
    # a file matched by a pattern (conf\*.properties) on other servers only is absent on a server
    # that has other files of that pattern; one with none of them did not have them collected
    for name, files in seen_files.items():
        files.update(f for f, (entry, spec, _rel) in about.items()
                     if "*" in spec.path and entry in entries_seen.get(name, set())
                     and f not in unreadable.get(name, set()))
    keys: list[SharedKey] = []
    ignored: list[str] = []
    for (fkey, key), found in sorted(slots.items(), key=lambda kv: (kv[0][0], kv[0][1].lower(), kv[0][1])):
        entry, spec, rel = about[fkey]
        values = {n: found.get(n, Slot(None, ABSENT)) for n in voters if fkey in seen_files[n]}
        silent = [n for n in voters if fkey not in seen_files[n]]
        declared = cluster.declared.expected_shared(rel, key)
        if declared is not None and secret(key):
            ignored.append(f"{rel} {key}")
            declared = None
        if declared is None and len(values) < 2:
            continue
        j = judge(values, what=f"{rel} {key}", declared=declared, key=_declared_key, show=_shown, plain=_shown,
                  absent=silent,
                  declare=Declare("shared_config", f"add under `shared_config:` the file `{rel}` with "
                                                   f"`{key}: '<the intended value>'`"))
        if j.disagreement:
            keys.append(SharedKey(entry, spec, rel, key, secret(key), j))
    return Comparison(keys=tuple(keys), voters=tuple(voters), compared=compared,
                      files={n: tuple(sorted(about[f][2] for f in fs)) for n, fs in seen_files.items()},
                      problems=problems, ignored_declarations=tuple(ignored))


__all__ = ["ABSENT", "SECRET", "Comparison", "SharedKey", "Slot", "compare"]
