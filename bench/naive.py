"""The naive script an admin would write, as the benchmark's baseline of what not to do.

One ``winrm.Session`` per node and one ``Session.run_ps`` per file and per service query, node
after node. Measured on a sample of nodes of a fixed-latency lab and extrapolated linearly
(per-role means) to larger sizes: the figures say so.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from measure import LabProcess, delta

# The naive admin's one-liners (all understood by the lab, see auditor/lab/executor.py
# NAIVE_COMMANDS), with the install folder hard-coded as admins do. It reads fewer things
# than the auditor (no processes, ports, probes, environment): the comparison favours it.
ROOT_DIR = "C:\\DispatcherParagon"
SITE_FILES = ["SPOC\\conf\\modules\\spoc.conf", "SPOC\\ims\\application.properties",
              "SPOC\\conf\\remoteConfImg.xml"]
MGMT_FILES = ["Management\\conf\\management.properties", "Management\\ims\\application.properties",
              "Management\\management-server-install.log", "WPS\\WpsService.exe.config",
              "FSP\\Service\\spooler.config"]
SITE_SERVICES = ["YSoftSQ-SPOC", "YSoftSQ-SPOCGS", "YSoftImsProxy", "YSoftSQ-TS"]
MGMT_SERVICES = ["YSoftSQ-Management", "YSoftIms", "YSoftEtcd", "YSoftSQ-LDAP", "YSoftSQ-WPS", "YSoftSQ-FSP",
                 "YSoftPGSQL"]
VERSION_KEY = "HKLM:\\SOFTWARE\\WOW6432Node\\Y Soft Corporation\\YSoft SafeQ 6"


def naive_commands(roles: list[str]) -> list[str]:
    """The one-liners for one node: its files, its services, its version."""
    files = SITE_FILES + (MGMT_FILES if "management" in roles else [])
    services = SITE_SERVICES + (MGMT_SERVICES if "management" in roles else [])
    cmds = [f"Get-Content -Raw -LiteralPath '{ROOT_DIR}\\{f}'" for f in files]
    cmds += [f"Get-Service -Name '{s}' | Select-Object Name,Status,StartType | ConvertTo-Json" for s in services]
    cmds.append(f"Get-ItemPropertyValue -LiteralPath '{VERSION_KEY}' -Name 'Version'")
    return cmds



def naive_run(lab: LabProcess, password: str, names: list[str] | None) -> dict[str, Any]:
    """The admin's serial loop over ``names`` (all nodes when None): seconds per node and role."""
    import winrm

    from auditor.collect.inventory import load_inventory

    inv = load_inventory(lab.inventory)
    nodes = [n for n in inv.nodes if names is None or n.name in names]
    c0 = lab.counters()
    per_role: dict[str, list[float]] = {"management": [], "site": []}
    calls = failed = 0
    t_all = time.perf_counter()
    for node in nodes:
        t0 = time.perf_counter()
        tls = {"ca_trust_path": str(node.ca_file)} if node.ca_file else {}
        session = winrm.Session(node.url, auth=(node.username, password), transport="ntlm", proxy=None,
                                operation_timeout_sec=20, read_timeout_sec=30, **tls)
        for script in naive_commands(list(node.roles)):
            r = session.run_ps(script)
            calls += 1
            failed += r.status_code != 0
        role = "management" if "management" in node.roles else "site"
        per_role[role].append(time.perf_counter() - t0)
    wall = time.perf_counter() - t_all
    d = delta(lab.counters(), c0)
    return {"nodes": len(nodes), "wall": round(wall, 3), "calls": calls, "failed_calls": failed,
            "per_role_mean": {k: round(statistics.mean(v), 4) for k, v in per_role.items() if v},
            "requests": d["requests"], "commands": d["commands_run"]}


def naive_estimate(naive: dict[str, Any], roles: dict[str, int]) -> float:
    means = naive["per_role_mean"]
    site = means.get("site", means.get("management", 0.0))
    mgmt = means.get("management", site)
    return roles.get("management", 0) * mgmt + roles.get("site", 0) * site
