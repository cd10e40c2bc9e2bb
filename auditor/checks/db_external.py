"""DB-EXTERNAL: the cluster database is an external (ideally HA) SQL server, not embedded."""

from __future__ import annotations

from collections.abc import Iterator

from auditor import winpath
from auditor.addresses import db_server_host
from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.dbsettings import DbOrigin, DbSettings
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="DB-EXTERNAL",
    title="Management servers use an external SQL database, not the embedded PostgreSQL",
    severity=Severity.CRITICAL,
    rationale=(
        "The embedded PostgreSQL lives on one Management server: in a multi-node cluster it is a "
        "single point of failure that defeats the cluster (critical); on a single Management "
        "server it is supported but without resilience (medium). Evidence combines every signal "
        "the profile knows: the database host (localhost, the node's own address, or another "
        "Management server), the embedded port 5433, dbClass, the embeddedDb flag (never trusted "
        "alone, its meaning is unknown), the YSoftPGSQL service, the PGSQL-data folder and a "
        "listener on 5433. The database host decides: read from the node's Management etcd first "
        "(dbHost, where the product keeps it: vendor support script rebuildEtcd.ps1), else from "
        "Management\\conf\\*.properties (an assumed location, the fallback); without it, a running "
        "embedded database on the node decides; otherwise the node cannot be evaluated (error). "
        "Every finding says which source decided."
    ),
    remediation=(
        "Not fixable automatically. Migrate the database to an external, highly available SQL "
        "server (MS SQL Server with Always On / failover clustering, or a PostgreSQL cluster) "
        "following the vendor's migration procedure, point every Management server at it, then "
        "disable the YSoftPGSQL service. Plan a maintenance window and take a backup first."
    ),
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "etcd.db.host_key",
    "etcd.db.class_key",
    "management_conf.db.class_key",
    "management_conf.db.host_key",
    "management_conf.db.embedded_key",
    "embedded_db.service",
    "embedded_db.port",
    "embedded_db.data_dir",
)


def _hosting_signals(cluster: Cluster, node: NodeView) -> list[str]:
    """Signals that this node runs (or keeps) an embedded PostgreSQL."""
    out = []
    port = cluster.profile.embedded_db.port
    names = [s.name for s in node.services.get("embedded_db", [])]
    svc_name = cluster.profile.embedded_db.service
    svc = node.state.service(svc_name, *names)
    if svc is not None:
        out.append(f"service {svc.name} {svc.state.lower()} ({svc.start_mode})")
    mdir = node.install_dirs.get("management")
    data_dir = cluster.profile.embedded_db.data_dir
    if mdir:
        full = winpath.join(mdir, data_dir)
        probe = node.state.probe(full)
        if probe is not None and probe.exists:
            out.append(f"folder {full} exists")
        elif probe is None and any(f.path.lower().startswith(full.lower() + "\\") for f in node.state.files.values()
                                   if f.exists):
            out.append(f"files collected from {full}")
    if any(p.port == port for p in node.state.listening_ports):
        out.append(f"listening on port {port}")
    return out


def _running_embedded(cluster: Cluster, node: NodeView) -> bool:
    svc = node.state.service(cluster.profile.embedded_db.service)
    port = cluster.profile.embedded_db.port
    return (svc is not None and svc.running) or any(p.port == port for p in node.state.listening_ports)


def _decided_by(db: DbSettings) -> tuple[str | None, str]:
    """(``etcd`` | ``properties`` | None, the source in words) of a node's database host."""
    if db.origin is DbOrigin.ETCD:
        return DbOrigin.ETCD.value, f"this node's etcd, {db.where('host')}"
    if db.origin is DbOrigin.PROPERTIES:
        return DbOrigin.PROPERTIES.value, (f"{db.where('host')}, an assumed location, because "
                                           f"{db.etcd_note or 'etcd has no database key'}")
    return None, db.etcd_note or "no source"


def run(cluster: Cluster) -> Iterator[Finding]:
    multi = len(cluster.management_nodes) > 1
    sev = Severity.CRITICAL if multi else Severity.MEDIUM
    port = str(cluster.profile.embedded_db.port)

    def check_node(node: NodeView) -> Iterator[Finding]:
        db = node.management.db
        signals: list[str] = []
        if db.db_class:
            signals.append(f"dbClass={db.db_class}")
        if db.embedded is not None:
            signals.append(f"embeddedDb={db.embedded} (not trusted alone)")
        if db.port:
            signals.append(f"dbPort={db.port}" + (" (embedded PostgreSQL port)" if db.port.strip() == port else ""))
        hosting = _hosting_signals(cluster, node)
        signals += [f"this node: {s}" for s in hosting]
        src = db.source.get("host")
        decided_by, source = _decided_by(db)
        kw = {"file": src[0] if src else None, "line": src[1] if src else None,
              "expected": "an external SQL server",
              "details": {"signals": signals, "decided_by": decided_by, "source": source}}
        why = f" (decided by {source})"
        if db.host:
            target = cluster.resolve(db_server_host(db.host), from_node=node)
            signals.insert(0, f"dbHost={db.host}")
            pg_like = (db.port or "").strip() == port or (db.db_class or "").upper().startswith("PG")
            kind = "embedded PostgreSQL" if pg_like else "not an external, highly available server"
            if target is node:
                yield make(META, Status.FAIL, node.name, node.name,
                           f"the database runs on this Management server (dbHost={db.host}): {kind}{why}",
                           severity=sev,
                           actual=f"{db.host}:{db.port or '?'} (this node)", **kw)
            elif target is not None:
                target_hosting = _hosting_signals(cluster, target) if target.reachable else []
                signals += [f"{target.name}: {s}" for s in target_hosting]
                yield make(META, Status.FAIL, node.name, node.name,
                           f"the database runs on Management server {target.name} (dbHost={db.host}): {kind}{why}",
                           severity=sev, actual=f"{db.host}:{db.port or '?'} ({target.name})", **kw)
            else:
                msg = f"database on {db.host}" + (f":{db.port}" if db.port else "") + ", external" + why
                if hosting:
                    msg += "; note: embedded PostgreSQL leftovers on this node (" + ", ".join(hosting) + ")"
                yield make(META, Status.PASS, node.name, node.name, msg, actual=db.host, **kw)
        elif _running_embedded(cluster, node):
            kw["details"].update(decided_by="services, ports and folders", source="this node's services and ports")
            yield make(META, Status.FAIL, node.name, node.name,
                       "database host found neither in etcd nor in the configuration, but an embedded PostgreSQL "
                       f"runs on this node (decided by its services and ports; {db.etcd_note or 'etcd: no dbHost'})",
                       severity=sev, actual="embedded (inferred)", **kw)
        else:
            yield make(META, Status.ERROR, node.name, node.name,
                       f"cannot evaluate: database host found neither in etcd ({db.etcd_note or 'no dbHost key'}) "
                       "nor in the Management configuration (profile management_conf.db.host_key, an assumed "
                       "location), and no embedded PostgreSQL running", actual=None, **kw)

    yield from per_node(META, cluster, check_node, management_only=True)
