"""A Management server's database settings and where they were read: one home for the rule.

The product's own store is the node-local Management etcd (confirmed); the
``Management\\conf\\*.properties`` keys are an assumed location, read only when etcd holds
none of the settings. :func:`read_db_settings` applies that order once, for the cluster
model; DB-EXTERNAL and DB-SETTINGS-CONSISTENT judge what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from auditor.expectations import ExpectationSource, Expected
from auditor.nodestate import EtcdFacts
from auditor.profile import Profile


class DbOrigin(StrEnum):
    """Where a Management server's database settings were read."""

    ETCD = "etcd"  # its Management etcd (the product's own store; confirmed)
    PROPERTIES = "properties"  # Management\conf\*.properties (an assumed location; the fallback)


DB_FIELDS = ("db_class", "name", "host", "port", "username", "embedded")


@dataclass
class DbSettings:
    r"""A Management server's database settings, from the first source that has any of them:
    its etcd (``etcd`` section of the profile), else ``Management\conf\*.properties``
    (``management_conf.db``, assumed). ``origin`` says which (None: neither); ``etcd_note``
    why etcd did not decide, when it did not."""

    db_class: str | None = None
    host: str | None = None
    port: str | None = None
    name: str | None = None
    username: str | None = None
    embedded: str | None = None
    origin: DbOrigin | None = None
    source: dict[str, tuple[str, int]] = field(default_factory=dict)  # properties: field -> (file, line)
    etcd_keys: dict[str, str] = field(default_factory=dict)  # etcd: field -> key
    etcd_note: str = ""

    def where(self, attr: str) -> str:
        """Where ``attr`` was read: ``etcd key dbHost`` or ``<file> line 7``."""
        if attr in self.etcd_keys:
            return f"etcd key {self.etcd_keys[attr]}"
        if attr in self.source:
            path, line = self.source[attr]
            return f"{path} line {line}"
        return "not found"

    def expected(self, attr: str) -> Expected | None:
        """``attr`` as an expectation naming where it was read (source ``etcd`` or ``collected``)."""
        value = getattr(self, attr)
        if value is None:
            return None
        source = ExpectationSource.ETCD if self.origin is DbOrigin.ETCD else ExpectationSource.COLLECTED
        return Expected(value, source, self.where(attr))


ConfLookup = Callable[[str], "tuple[str, str, int] | None"]
"""(value, file path, line) of a key in the Management configuration files, or None."""


def read_db_settings(etcd: EtcdFacts | None, has_etcd_service: bool, conf_value: ConfLookup,
                     profile: Profile) -> DbSettings:
    """The settings from etcd when it holds any of them, else from the properties files."""
    db = _from_etcd(etcd, has_etcd_service, profile)
    if db.origin is None:
        keys = profile.management_conf.db
        for attr, key in (("db_class", keys.class_key), ("host", keys.host_key), ("port", keys.port_key),
                          ("embedded", keys.embedded_key)):
            found = conf_value(key) if key else None
            if found:
                setattr(db, attr, found[0])
                db.source[attr] = (found[1], found[2])
                db.origin = DbOrigin.PROPERTIES
    return db


def _from_etcd(etcd: EtcdFacts | None, has_etcd_service: bool, profile: Profile) -> DbSettings:
    """The database settings the node's etcd holds, or an empty :class:`DbSettings` saying why not."""
    if etcd is None:
        why = "not collected" if has_etcd_service else "not asked: no etcd service"
        return DbSettings(etcd_note=f"etcd {why}")
    if etcd.error is not None:
        return DbSettings(etcd_note=f"etcd did not answer: {etcd.error}")
    keys = profile.etcd.db
    db = DbSettings()
    for attr, key in zip(DB_FIELDS, (keys.class_key, keys.name_key, keys.host_key, keys.port_key, keys.username_key,
                                     keys.embedded_key), strict=True):
        if key in etcd.values:
            setattr(db, attr, etcd.values[key])
            db.etcd_keys[attr] = key
            db.origin = DbOrigin.ETCD
    if db.origin is None:
        db.etcd_note = "etcd holds none of the database keys"
    return db
