"""DB-SETTINGS-CONSISTENT: every Management server uses the same database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.dbsettings import DbOrigin, DbSettings
from auditor.deviation import Declare, Judgement, judge
from auditor.expectations import ExpectationSource, Expected
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="DB-SETTINGS-CONSISTENT",
    title="Every Management server reports the same database settings (class, host, port, name, user)",
    severity=Severity.HIGH,
    rationale=(
        "All Management servers of a cluster share one database. Each server's settings are read "
        "where the product keeps them, its Management etcd (dbClass, dbHost, dbPort, dbDbName, "
        "dbDbUsername; vendor support script rebuildEtcd.ps1), or, when its etcd holds none, from "
        "Management\\conf\\*.properties (an assumed location). A server whose settings differ "
        "works on another database (or none): the cluster splits. Hosts are compared normalised: "
        "localhost on server X, X's address and X's name are all X. Who is wrong: the inventory's "
        "declared database (class, host, port) when there is one, otherwise the majority; with a "
        "tie every tied server fails and the message says what to declare. A server that was not "
        "collected does not vote and is never blamed."
    ),
    remediation=(
        "Find out which database is the cluster's (declare it in the inventory: database: {class, "
        "host, port}), then correct the odd server following the vendor's procedure for changing "
        "the database connection (the settings live in the Management etcd; a mismatch can also "
        "mean the server left the etcd cluster, see ETCD-MEMBERS), and restart its Management "
        "Service. Take a backup of the etcd keys first."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = ("etcd.db.class_key", "etcd.db.host_key", "etcd.db.port_key", "etcd.db.name_key",
             "etcd.db.username_key", "management_conf.db.host_key")

FIELDS = (("db_class", "class"), ("host", "host"), ("port", "port"), ("name", "name"), ("username", "user"))
DECLARE = Declare("database", "add `database: {class: MSSQL, host: sql01.corp.example, port: 1433}` at the top level "
                              "of the inventory")


@dataclass(frozen=True)
class Setting:
    """One database setting as a server reports it (``shown``) and as it is compared (``key``)."""

    shown: str
    key: str

    def __str__(self) -> str:
        return self.shown


def _setting(cluster: Cluster, attr: str, value: object, node: NodeView | None) -> Setting:
    text = str(value).strip()
    if attr == "db_class":
        return Setting(text, text.upper())
    if attr == "host":
        return Setting(text, cluster.db_host_key(text, from_node=node))
    if attr == "port":
        return Setting(text, str(int(text)) if text.isdigit() else text.lower())
    return Setting(text, text.lower())


def _declared(cluster: Cluster, attr: str) -> Expected | None:
    decl = cluster.declared.database
    value = None if decl is None else decl.setting(attr)
    if value is None:
        return None
    return Expected(_setting(cluster, attr, value, None), ExpectationSource.DECLARED, cluster.declared.where("database"))


def _source(db: DbSettings) -> str:
    if db.origin is DbOrigin.ETCD:
        return "its etcd"
    where = db.where("host") if "host" in db.source else next(iter(db.source.values()), ("?", 0))[0]
    return f"{where.rsplit(' line ', 1)[0]} (assumed location: {db.etcd_note})"


def _summary(db: DbSettings) -> str:
    text = " ".join(x for x in (db.db_class, (db.host or "?") + (f":{db.port}" if db.port else ""), db.name) if x)
    return text + (f", user {db.username}" if db.username else "")


def run(cluster: Cluster) -> Iterator[Finding]:
    voters = {n.name: n.management.db for n in cluster.management_nodes
              if n.reachable and n.management is not None and n.management.db.origin is not None}
    unseen = [n.name for n in cluster.management_nodes if n.name not in voters]
    judgements: dict[str, Judgement] = {}
    for attr, label in FIELDS:
        values = {name: _setting(cluster, attr, getattr(db, attr), cluster.node(name))
                  for name, db in voters.items() if getattr(db, attr) not in (None, "")}
        declared = _declared(cluster, attr)
        if values and (len(values) > 1 or declared is not None):
            judgements[attr] = judge(values, what=f"database {label}", declared=declared, key=lambda v: v.key,
                                     absent=unseen + [n for n in voters if n not in values],
                                     declare=DECLARE if attr in ("db_class", "host", "port") else None)
    sources = {f"database {label}": Expected(j.expected.value.shown, j.expected.source, j.expected.detail)
               for attr, label in FIELDS if (j := judgements.get(attr)) is not None and j.expected is not None}

    def check_node(node: NodeView) -> Iterator[Finding]:
        db = voters.get(node.name)
        if db is None:
            yield make(META, Status.ERROR, node.name, node.name,
                       f"cannot evaluate: no database settings found ({node.management.db.etcd_note or 'etcd: none'}; "
                       "none in the Management configuration either)")
            return
        details = {"source": db.origin.value, "read_from": {label: db.where(attr) for attr, label in FIELDS
                                                             if getattr(db, attr) is not None}}
        kw = {"expected_sources": sources, "details": details}
        if not judgements:
            yield make(META, Status.SKIP, node.name, node.name,
                       "nothing to compare: only one Management server reported database settings and no "
                       "database is declared in the inventory", **kw)
            return
        verdicts = [(label, v) for attr, label in FIELDS if (j := judgements.get(attr)) is not None
                    and (v := j.of(node.name)) is not None]
        wrong = [(label, v) for label, v in verdicts if v.fails]
        expected = {label: str(j.reference) for attr, label in FIELDS
                    if (j := judgements.get(attr)) is not None and j.reference is not None}
        if wrong:
            yield make(META, Status.FAIL, node.name, node.name,
                       "; ".join(v.reason for _, v in wrong) + f" (read from {_source(db)})",
                       expected={label: expected.get(label) for label, _ in wrong},
                       actual={label: str(v.value) for label, v in wrong}, **kw)
            return
        notes = sorted({v.note for _, v in verdicts if v.note})
        others = sorted(n for n in voters if n != node.name)
        same = f"same database as {', '.join(others)}" if others else "the declared database"
        yield make(META, Status.PASS, node.name, node.name,
                   f"{same}: {_summary(db)} (read from {_source(db)})" + (f"; {'; '.join(notes)}" if notes else ""),
                   expected=expected or None, actual=_summary(db), **kw)

    yield from per_node(META, cluster, check_node, management_only=True)
