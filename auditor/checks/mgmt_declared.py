"""MGMT-DECLARED: a Management server is what the inventory declares (GUID, CML port, bound address)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.declared import normalize_guid
from auditor.expectations import Expected
from auditor.findings import CheckMeta, Finding, Severity, Status

META = CheckMeta(
    id="MGMT-DECLARED",
    title="Management servers match what the inventory declares (GUID, CML port, bound address)",
    severity=Severity.HIGH,
    rationale=(
        "The inventory may declare a Management server's GUID, CML port and the IPv4 address its "
        "services bind to (docs/inventory.md); the other checks then expect those values ahead of "
        "anything collected. When the server's own configuration says otherwise, either the "
        "inventory is out of date or the server is not what the admin believes (reinstalled with a "
        "new GUID, another interface chosen in the installer), and every Spooler Controller list "
        "judged against the declaration is in doubt: the finding names both values and where each "
        "was read. A declared bound address must also be one of the server's own IPv4 addresses. "
        "GUIDs are compared ignoring case and braces. A declaration with nothing collected to "
        "compare it with (the configuration key is absent) is not a finding: the declared value "
        "stays the expectation. Servers with nothing declared are skipped."
    ),
    remediation=(
        "Find out which side is right. If the server changed (reinstall, new interface), update the "
        "inventory's guid / cml_port / bound_ip for it; if the inventory is right, the server was "
        "installed with the wrong value: reinstall it with the intended /CFG:localGUID or "
        "/CFG:usedLocalIp, or correct its CML port, then re-run the audit."
    ),
    fixable=False,
    scope="node",
)

RELIES_ON = ("management_conf.files", "management_conf.guid_key", "management_conf.port_key",
             "management_conf.ip_key")

# declared key, how it reads, the ManagementView attribute it is collected into
FIELDS = (("guid", "GUID", "guid"), ("cml_port", "CML port", "cml_port"), ("bound_ip", "bound address", "used_ip"))


def _agree(key: str, declared: object, collected: object) -> bool:
    if key == "guid":
        return normalize_guid(str(declared)) == normalize_guid(str(collected))
    return str(declared).strip() == str(collected).strip()


def evaluate(cluster: Cluster, node: NodeView) -> Finding:
    decl = cluster.declared.node(node.name)
    if decl.empty:
        return make(META, Status.SKIP, node.name, node.name,
                    "not applicable: the inventory declares nothing for this Management server")
    mgmt = node.management
    problems: list[str] = []
    notes: list[str] = []
    sources: dict[str, Expected] = {}
    expected: dict[str, object] = {}
    actual: dict[str, object] = {}
    compared = 0
    for key, label, attr in FIELDS:
        want = cluster.declared.expected(key, node.name)
        if want is None:
            continue
        sources[f"{node.name} {label}"] = want
        expected[key] = want.value
        got = mgmt.collected(attr) if mgmt else None
        if got is None:
            notes.append(f"{label}: nothing collected to compare with; the declared {want.value} is the expectation")
            continue
        actual[key] = got.value
        compared += 1
        if not _agree(key, want.value, got.value):
            problems.append(f"{label}: the inventory declares {want.value} ({want.detail}), the server's "
                            f"configuration says {got.value} ({got.detail})")
        elif str(want.value) != str(got.value):
            notes.append(f"{label}: declared as {want.value}, written as {got.value} (case/braces differ)")
    if decl.bound_ip and node.state.interfaces:
        compared += 1
        own = node.ips()
        actual["ipv4_addresses"] = own
        if decl.bound_ip not in own:
            problems.append(f"bound address: the inventory declares {decl.bound_ip} "
                            f"({cluster.declared.where('bound_ip', node.name)}), which is not an address of this "
                            f"server (its IPv4 addresses: {', '.join(own) or 'none reported'})")
    details = {"notes": notes} if notes else {}
    kw = {"expected": expected, "actual": actual, "expected_sources": sources, "details": details}
    if problems:
        details["problems"] = problems
        return make(META, Status.FAIL, node.name, node.name, "; ".join(problems), **kw)
    if not compared:
        return make(META, Status.SKIP, node.name, node.name,
                    "not evaluated: nothing collected to compare the declarations with (" + "; ".join(notes) + ")",
                    **kw)
    msg = "agrees with the inventory: " + ", ".join(f"{k}={v}" for k, v in expected.items())
    if notes:
        msg += " (note: " + "; ".join(notes) + ")"
    return make(META, Status.PASS, node.name, node.name, msg, **kw)


def run(cluster: Cluster) -> Iterator[Finding]:
    yield from per_node(META, cluster, lambda node: iter([evaluate(cluster, node)]), management_only=True)
