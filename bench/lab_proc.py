"""Serve a lab scenario from a separate process, for the benchmark.

Why a separate process: the benchmark measures the *client* (wall time, CPU, peak memory of
``auditor audit``). With the simulated servers in the same process, their threads, NTLM
crypto and SOAP work would be counted as the client's, and on a 2-core machine the GIL would
make client and servers slow each other down in ways a real site never does.

Protocol on stdin/stdout (one JSON object per line):

* on start it writes ``{"ready": true, "inventory": PATH, "nodes": N, "exec_seconds": {NODE: S},
  "client_env": {...}}`` (each node's simulated remote execution time, from
  ``auditor.lab.latency``; for ``--auth kerberos`` the KRB5_CONFIG/KRB5CCNAME that give the
  client its ticket);
* ``counters`` -> the summed server counters and this process's CPU seconds;
* ``quit`` (or EOF) -> stop every server and exit.

The password comes from ``$PARAGON_LAB_PASSWORD`` (never printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

import yaml


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _totals(lab) -> dict:
    tot: dict = {"requests": 0, "commands_run": 0, "encrypted_requests": 0, "encrypted_replies": 0,
                 "shells_open": 0, "auth_failures": 0, "actions": {}, "status": {}}
    for node in lab.nodes:
        if node.server is None:
            continue
        c = node.server.counters()
        for k in ("requests", "commands_run", "encrypted_requests", "encrypted_replies", "shells_open",
                  "auth_failures"):
            tot[k] += getattr(c, k)
        for k, v in c.actions.items():
            tot["actions"][k] = tot["actions"].get(k, 0) + v
        for k, v in c.status.items():
            tot["status"][str(k)] = tot["status"].get(str(k), 0) + v
    tot["cpu_seconds"] = round(_cpu(), 3)
    tot["threads"] = __import__("threading").active_count()
    return tot


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--latency", default="fixed", choices=["fixed", "realistic"],
                    help="fixed: --delay before every reply; realistic: per-node execution times (auditor.lab.latency)")
    ap.add_argument("--delay", type=float, default=None, help="seconds before every HTTP reply (model's default)")
    ap.add_argument("--deadline", type=float, default=60.0, help="the inventory's per-node deadline")
    ap.add_argument("--concurrency", type=int, default=None, help="write this concurrency (default: none, adaptive)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the realistic draw")
    ap.add_argument("--scheme", default="http", choices=["http", "https"])
    ap.add_argument("--nodes", default="", help="comma-separated node names to serve (default: all)")
    ap.add_argument("--auth", default="ntlm", choices=["ntlm", "kerberos"],
                    help="kerberos: a lab realm with one service principal per node (HTTP/<node>.lab.test, as on "
                         "a real site every node needs its own service ticket) and a ticket for the client")
    args = ap.parse_args(argv)

    from auditor.lab.cluster import LabCluster
    from auditor.lab.executor import make_handler
    from auditor.lab.latency import LatencyModel, draw
    from auditor.manifest import load_manifest

    password = os.environ.get("PARAGON_LAB_PASSWORD")
    if not password:
        print(json.dumps({"error": "PARAGON_LAB_PASSWORD is not set"}), flush=True)
        return 2
    names = [n.name for n in load_manifest(args.scenario).nodes]
    timing = draw(names, LatencyModel(args.latency), deadline=args.deadline, seed=args.seed, round_trip=args.delay)
    faults = {t.name: t.faults() for t in timing if t.faults()} or None
    spn_hosts = {n: f"{n.lower()}.lab.test" for n in names}
    kdc = None
    client_env: dict[str, str] = {}
    if args.auth == "kerberos":
        from auditor.lab.kdc import LabKdc

        kdc = LabKdc(args.workdir / "kdc", service_hosts=tuple(spn_hosts.values())).start()
        kdc.kinit(kdc.workdir / "ccache")
        client_env = kdc.client_env(kdc.workdir / "ccache")
    try:
        lab = LabCluster(args.scenario, handler_factory=make_handler, scheme=args.scheme, auth=args.auth,
                         password=password, workdir=args.workdir, faults=faults, copy_scenario=False,
                         remove_workdir=False, kdc=kdc)
        with lab:
            inv = lab.write_inventory(args.workdir / "inventory.yaml", deadline=args.deadline,
                                      concurrency=args.concurrency)
            if kdc is not None:  # each node is asked for by its own SPN
                data = yaml.safe_load(inv.read_text())
                for node in data["nodes"]:
                    node["kerberos_hostname_override"] = spn_hosts[node["name"]]
                inv.write_text(yaml.safe_dump(data, sort_keys=False))
            print(json.dumps({"ready": True, "inventory": str(inv), "nodes": len(lab.nodes),
                              "cpu_seconds": round(_cpu(), 3), "client_env": client_env,
                              "round_trip": timing[0].round_trip if timing else 0.0,
                              "exec_seconds": {t.name: t.exec_seconds for t in timing}}), flush=True)
            for line in sys.stdin:
                cmd = line.strip()
                if cmd == "counters":
                    print(json.dumps(_totals(lab)), flush=True)
                elif cmd == "quit":
                    break
    finally:
        if kdc is not None:
            kdc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
