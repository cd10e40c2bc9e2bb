"""The product profile: product facts as data (default.yaml), overridable by admins, read by
the code through one typed view (:class:`Profile`, ``auditor/profile/view.py``).

``load_profile(None)`` gives the shipped default; ``load_profile(path)`` deep-merges an
override file over it (lists replace, mappings merge), so an override holds only the facts
an admin knows better. The result is built once into frozen dataclasses:
``profile.spoc_conf.guid_key``, ``profile.embedded_db.port`` ... A misspelt fact is an
attribute error, never a silent default, and no value lives in code.

Adding a product fact (e.g. a new key for a new check):

1. add it to ``default.yaml`` in its section, with a comment saying where the fact comes
   from, and its certainty in the section's ``certainty:`` map (``confirmed``, ``inferred``
   or ``assumed``);
2. add a field of the same name and type to the section's dataclass in ``view.py`` (a new
   section: a new frozen dataclass, and a field of that type on :class:`Profile`);
3. read it as ``profile.<section>.<key>``.

``tests/profile/test_profile_view.py`` fails when default.yaml and the dataclasses disagree
(a key without a field, a field without a key, a value of the wrong type). Overrides may then
set the new key like any other; keys the default does not have stay errors naming the file
and line. Certainties are data: ``profile.certainty("spoc_conf.guid_key")`` and
``profile.certainties`` list how sure the profile is of each fact it marks;
``auditor.profile.facts`` shows a fact with its certainty and the profile's note on it
(``auditor checks ID``), falling back to the comment for facts not marked as data.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from auditor.errors import InputError
from auditor.profile.etcd import check_etcd
from auditor.profile.loader import build_facts, check_override_kinds, deep_merge, parse_yaml
from auditor.profile.view import (
    Certainty,
    Clock,
    DbKeys,
    EmbeddedDb,
    Etcd,
    EtcdDbKeys,
    FileSpec,
    InstallLog,
    ManagementConf,
    ManagementIms,
    Profile,
    RegistryVersion,
    ServerOs,
    ServiceName,
    SpocConf,
    SpocIms,
    Subsystem,
    VersionSources,
)
from auditor.yamlfile import line_of, read_hand_written

PROFILE_VERSION = 1


def _default_text() -> str:
    return resources.files("auditor.profile").joinpath("default.yaml").read_text(encoding="utf-8")


def load_profile(path: str | Path | None = None) -> Profile:
    """Load the default profile, optionally with an admin's override file merged over it."""
    text = _default_text()
    data = parse_yaml(text, "default.yaml")
    source = "default"
    digest = hashlib.sha256(text.encode("utf-8"))
    if path is not None:
        p = Path(path)
        try:
            override_text = read_hand_written(p)
        except OSError as exc:
            raise InputError(f"cannot read profile: {exc.strerror}", source=str(p)) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"the profile must be UTF-8 text (byte {exc.start})", source=str(p)) from None
        override = parse_yaml(override_text, str(p))
        check_override_kinds(data, override, str(p))
        data = deep_merge(data, override)
        source = str(p)
        digest.update(override_text.encode("utf-8"))
    if data.get("profile_version") != PROFILE_VERSION:
        raise InputError(
            f"unsupported profile_version {data.get('profile_version')!r} (expected {PROFILE_VERSION})",
            source=source,
        )
    profile = build_facts(data, source, digest.hexdigest())
    # what may be read from the Management etcd is decided now, before any node is contacted
    etcd_override = override.get("etcd") if path is not None else None
    check_etcd(profile.etcd, source, line_of(etcd_override, "keys") if isinstance(etcd_override, dict) else None)
    return profile


__all__ = [
    "PROFILE_VERSION", "Certainty", "Clock", "DbKeys", "EmbeddedDb", "Etcd", "EtcdDbKeys", "FileSpec", "InstallLog", "ManagementConf",
    "ManagementIms", "Profile", "RegistryVersion", "ServerOs", "ServiceName", "SpocConf", "SpocIms", "Subsystem",
    "VersionSources", "load_profile",
]
