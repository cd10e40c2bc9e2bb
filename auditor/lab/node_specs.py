"""What a simulated node is made of: the knobs of a lab node (:class:`NodeSpec`, one
:class:`MgmtSpec` per Management server), the lab's constants, and the texts of the files it
serves (spoc.conf, .properties, the Management etcd), for :mod:`auditor.lab.scenario_builder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.nodestate import EtcdFacts, EtcdMember
from auditor.parsers.properties import java_line

CONFIG_TIME = "2026-10-01T08:00:00Z"
START_TIME = "2026-11-20T02:00:00Z"
SHARED_REPO = "\\\\fs01.corp.example\\paragon\\ims-repository"
SERVICE_ACCOUNT = "CORP\\svc-paragon"
ACCOUNT_KINDS = {  # one Infrastructure Service log-on account of each kind (auditor/accounts.py), for tests
    "built-in": "LocalSystem",
    "virtual": "NT SERVICE\\YSoftIms",
    "local": ".\\svc-paragon",
    "domain": "svc-paragon@corp.example",
    "gMSA": "CORP\\gmsa-paragon$",
    "unknown form": "svc-paragon",
}
MGMT_PORT = 6010
IMS_PORT = 8443
VERSION = "6.0.112.4"


@dataclass
class MgmtSpec:
    name: str
    ip: str
    guid: str
    port: int = MGMT_PORT


@dataclass
class NodeSpec:
    """Knobs for one node; defaults give a healthy node."""

    name: str
    ip: str
    roles: list[str]
    root: str = "C:\\DispatcherParagon"
    branding: str = "paragon"  # or "safeq"
    spoc_guid: str = ""
    # management-server knobs
    mgmt_guid: str = ""
    repository_path: str = SHARED_REPO
    repository_escaped: bool = True  # False: written as an admin plainly would (Java reads it differently)
    ims_account: str = SERVICE_ACCOUNT
    db: dict[str, str] = field(default_factory=lambda: {
        "dbClass": "MSSQL", "dbHost": "sql01.corp.example", "dbPort": "1433", "embeddedDb": "0"})
    embedded_db_host: bool = False  # runs YSoftPGSQL + PGSQL-data + listens on 5433
    db_in_properties: bool = True  # False: conf\*.properties without database keys (only etcd has them)
    # Management etcd: what the node-local etcd answers (keys at the root, as on SafeQ 6)
    etcd_answers: bool = True  # False: no etcd object in node.json (nothing answers on 127.0.0.1:2379)
    etcd_db: dict[str, str] | None = None  # etcd's database keys; None: the same as ``db``
    etcd_members: list[str] | None = None  # Management servers in the member list (None: all)
    etcd_stale_members: list[MgmtSpec] = field(default_factory=list)  # members that are no Management server
    etcd_secrets: dict[str, str] = field(default_factory=dict)  # encrypted* keys held by etcd (never collected)
    version: str = VERSION
    # SPOC knobs: which management servers this SPOC lists (None = all), extra stale entries
    spoc_lists: list[str] | None = None
    spoc_stale: list[MgmtSpec] = field(default_factory=list)
    ims_lists: list[str] | None = None
    # the address this SPOC lists for a Management server, when not its ip (e.g. its other interface)
    spoc_ips: dict[str, str] = field(default_factory=dict)
    ims_ips: dict[str, str] = field(default_factory=dict)
    extra_ips: list[str] = field(default_factory=list)  # a second network interface (Ethernet1)
    stopped_services: list[str] = field(default_factory=list)
    # False: a Windows server that answers WinRM with nothing of the product installed yet
    # (a new Management server before its installation: OS, network and shares only)
    installed: bool = True
    # Management configuration knobs: key -> new value (None removes the key; a new key is appended)
    conf_edits: dict[str, str | None] = field(default_factory=dict)  # Management\conf\management.properties
    ims_edits: dict[str, str | None] = field(default_factory=dict)  # Management\ims\application.properties


def _display(branding: str, what: str) -> str:
    return ("Dispatcher Paragon " if branding == "paragon" else "YSoft SafeQ ") + what


def _props(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _edited(lines: list[str], edits: dict[str, str | None]) -> list[str]:
    """``key=value`` lines with ``edits`` applied: a value replaces, None removes, a new key is appended."""
    out, done = [], set()
    for line in lines:
        key = line.split("=", 1)[0] if "=" in line and not line.startswith("#") else None
        if key in edits:
            done.add(key)
            if edits[key] is None:
                continue
            line = java_line(key, edits[key])
        out.append(line)
    return out + [java_line(k, v) for k, v in edits.items() if k not in done and v is not None]


def spoc_conf_text(own_guid: str, servers: list[MgmtSpec]) -> bytes:
    lines = [
        "# Spooler Controller module configuration",
        "# Management servers known to this Spooler Controller",
        f"localGUID={own_guid}",
        "orsJmxServerPort=9898",
        "",
    ]
    for i, s in enumerate(servers, start=1):
        suffix = "" if i == 1 else str(i)
        lines += [f"serverGUID{suffix}={s.guid}", f"serverIP{suffix}={s.ip}", f"serverPORT{suffix}={s.port}"]
    lines += ["", "# spooling", "spoolCacheDir=SpoolCache", "maxJobSizeMB=2048"]
    return _props(lines)


ETCD_ENDPOINT = "http://127.0.0.1:2379"
ETCD_SECRET_KEYS = ("encryptedClusterGuestPassword", "encryptedClusterPassword", "encryptedUserPassword")


def etcd_facts(spec: NodeSpec, mgmts: list[MgmtSpec]) -> EtcdFacts:
    """The Management etcd of a node: the database keys rebuildEtcd.ps1 recreates (values from
    the node's ``db`` knobs), one member per Management server (peer port 2380), and the
    encrypted password keys by name (their values only when ``etcd_secrets`` plants some)."""
    db = spec.etcd_db if spec.etcd_db is not None else spec.db
    values = {"dbClass": db.get("dbClass", ""), "dbDbName": "SQDB6", "dbHost": db.get("dbHost", ""),
              "dbPort": db.get("dbPort", ""), "dbDbUsername": "sqdb6user", "embeddedDb": db.get("embeddedDb", "0")}
    values.update(spec.etcd_secrets)
    listed = [m for m in mgmts if spec.etcd_members is None or m.name in spec.etcd_members]
    members = [EtcdMember(name=m.name, peer_urls=(f"http://{m.ip}:2380",), client_urls=(f"http://{m.ip}:2379",))
               for m in listed + spec.etcd_stale_members]
    return EtcdFacts(endpoint=ETCD_ENDPOINT, healthy=True, values=values, members=sorted(members, key=lambda m: m.name),
                     key_names=sorted(set(values) | set(ETCD_SECRET_KEYS)))
