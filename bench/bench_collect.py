"""Benchmark: a live ``auditor audit`` against simulated clusters of 50, 200 and 500 nodes.

What it does (``make bench``; about 5 minutes on 2 cores, see docs/performance.md):

1. For each size it generates a healthy scenario (2 Management + N-2 Site servers) and serves
   it from a SEPARATE process (``bench/lab_proc.py``): real WinRM listeners on 127.0.0.1,
   NTLM with message encryption over HTTP, and the lab's ``delay_seconds`` fault on every
   node (default 30 ms before answering each HTTP request, a LAN-to-WAN round trip).
2. Per-node protocol time: one node alone, ``auditor.remote.execute`` + decoding, median of 5.
3. ``auditor audit --inventory ... --format html,json,junit,csv`` end to end in its own
   process: wall time, CPU, peak RSS (``os.wait4``), exit code; the lab's counters give the
   HTTP requests and remote commands per node and the lab's CPU per node.
4. Ideal time = ceil(nodes / concurrency) x per-node protocol time; the ratio wall / ideal.
5. The naive script an admin would write: one ``winrm.Session`` per node and one
   ``Session.run_ps`` per file and per service query, node after node. Measured on every
   node of the 50-node cluster (``--naive-sample K`` measures K nodes instead); larger sizes
   are EXTRAPOLATED linearly from the per-role mean, and labelled so.
6. The offline half on a generated 5,000-node snapshot (``bench/bench_snapshot.py``, fresh
   process): model + checks + the four reports.

Numbers are printed as tables and, with ``--json FILE``, saved for docs/performance.md.
Lab passwords are random per run and never printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PASSWORD_ENV = "PARAGON_LAB_PASSWORD"

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


# ---- machine ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def auditor_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "auditor"
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from auditor.cli import main; main()"]


# ---- the lab in its own process ------------------------------------------------------------
class LabProcess:
    """``bench/lab_proc.py`` serving one scenario; counters over a pipe."""

    def __init__(self, scenario: Path, workdir: Path, delay: float, env: dict[str, str], scheme: str = "http"):
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "lab_proc.py"), str(scenario), "--workdir", str(workdir),
             "--delay", str(delay), "--scheme", scheme],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.close()
            raise RuntimeError("lab process did not start")
        ready = json.loads(line)
        if not ready.get("ready"):
            self.close()
            raise RuntimeError(f"lab process failed: {ready}")
        self.inventory = Path(ready["inventory"])
        self.nodes = int(ready["nodes"])
        self.start_seconds = time.perf_counter() - t0

    def counters(self) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("counters\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.write("quit\n")
                    self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    out = {k: after[k] - before[k] for k in ("requests", "commands_run", "encrypted_requests",
                                              "encrypted_replies", "auth_failures")}
    out["cpu_seconds"] = round(after["cpu_seconds"] - before["cpu_seconds"], 3)
    out["actions"] = {k: v - before["actions"].get(k, 0) for k, v in after["actions"].items()}
    out["shells_open"] = after["shells_open"]
    return out


# ---- measurements -------------------------------------------------------------------------
def single_node_seconds(inventory: Path, password: str, repeats: int = 5) -> float:
    """Median seconds of one node's collection with nothing else running (the ideal's unit)."""
    from auditor.collect.inventory import load_inventory
    from auditor.profile import load_profile
    from auditor.remote import Target, build_collect_request, execute, node_state_from_response

    inv = load_inventory(inventory)
    node = inv.nodes[-1]
    request = build_collect_request(load_profile(None))
    target = Target(name=node.name, host=node.address, port=node.port, scheme=node.scheme,
                    transport=node.transport, username=node.username, password=password,
                    ca_file=str(node.ca_file) if node.ca_file else None, connect_timeout=node.connect_timeout, read_timeout=30, operation_timeout=20)
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        node_state_from_response(node.name, execute(target, request))
        if i:  # the first one warms imports and caches
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_audit(inventory: Path, out: Path, env: dict[str, str], concurrency: int | None) -> dict[str, Any]:
    """``auditor audit`` in its own process; wall, CPU and peak RSS of that process only."""
    cmd = auditor_cmd() + ["audit", "--inventory", str(inventory), "--out", str(out),
                           "--format", "html,json,junit,csv", "--no-history", "--no-progress", "--quiet"]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    summary = report.get("summary", {})
    return {"wall": round(wall, 3), "cpu": round(ru.ru_utime + ru.ru_stime, 3),
            "maxrss_mb": round(ru.ru_maxrss / 1024, 1), "exit_code": proc.returncode,
            "nodes_audited": summary.get("nodes_audited"), "findings": summary.get("findings_total"),
            "stderr": err.decode("utf-8", "replace")[-2000:]}


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


def snapshot_bench(nodes: int, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(HERE / "bench_snapshot.py"), "--nodes", str(nodes)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_snapshot failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- output -------------------------------------------------------------------------------
def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="50,200,500", help="node counts (default 50,200,500)")
    ap.add_argument("--delay", type=float, default=0.03, help="seconds of latency per HTTP request (0.03)")
    ap.add_argument("--scheme", default="http", choices=["http", "https"],
                    help="http: NTLM with message encryption (default); https: NTLM over TLS with CBT and a CA file")
    ap.add_argument("--concurrency", type=int, default=None,
                    help="override the pool size (default: the inventory's, i.e. the tool's default)")
    ap.add_argument("--naive-sample", type=int, default=0,
                    help="naive loop on this many nodes of the first size (0 = all nodes of it)")
    ap.add_argument("--sweep", default="32,64",
                    help="extra pool sizes to run at the largest size (comma-separated; empty: none)")
    ap.add_argument("--snapshot-nodes", type=int, default=5000, help="0 skips the snapshot benchmark")
    ap.add_argument("--json", type=Path, default=None, help="also write every number to this file")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    started = time.perf_counter()

    from auditor.collect.inventory import load_inventory
    from auditor.lab.scenario_builder import build_healthy

    sys.path.insert(0, str(HERE))
    from bench_snapshot import scratch_root

    info = machine()
    print(f"machine: {info['nproc']} CPU(s), {info['cpu']}, Python {info['python']}, "
          f"load average at start {info['loadavg_start']}")
    how = "NTLM + message encryption over HTTP" if args.scheme == "http" else "NTLM over HTTPS (CBT, CA file)"
    print(f"lab: {how}, {args.delay * 1000:g} ms before each HTTP reply, "
          "servers in a separate process\n")
    password = secrets.token_urlsafe(18)
    env = dict(os.environ, **{PASSWORD_ENV: password})
    work = Path(tempfile.mkdtemp(prefix="paragon-bench-", dir=scratch_root()))
    results: dict[str, Any] = {"machine": info, "delay": args.delay, "scheme": args.scheme, "sizes": {}}
    naive: dict[str, Any] | None = None
    try:
        for n in sizes:
            scen = work / f"scenario-{n}"
            build_healthy(scen, sites=n - 2)
            lab = LabProcess(scen, work / f"lab-{n}", args.delay, env, args.scheme)
            try:
                inv = load_inventory(lab.inventory)
                concurrency = args.concurrency or inv.concurrency
                roles = {"management": sum("management" in x.roles for x in inv.nodes)}
                roles["site"] = n - roles["management"]
                idle0 = lab.counters()
                time.sleep(1.0)
                idle = lab.counters()["cpu_seconds"] - idle0["cpu_seconds"]
                t1 = single_node_seconds(lab.inventory, password)
                c0 = lab.counters()
                audit = run_audit(lab.inventory, work / f"out-{n}", env, args.concurrency)
                d = delta(lab.counters(), c0)
                if n == max(sizes):
                    for c in [int(x) for x in args.sweep.split(",") if x.strip()]:
                        s0 = lab.counters()
                        a = run_audit(lab.inventory, work / f"out-{n}-c{c}", env, c)
                        sd = delta(lab.counters(), s0)
                        ideal_c = math.ceil(n / c) * t1
                        results.setdefault("sweep", []).append({
                            "nodes": n, "concurrency": c, "wall": a["wall"], "cpu": a["cpu"],
                            "exit_code": a["exit_code"], "ideal_s": round(ideal_c, 3),
                            "ratio_to_ideal": round(a["wall"] / ideal_c, 2),
                            "lab_cpu_ms_per_node": round(sd["cpu_seconds"] / n * 1000, 1)})
                if naive is None:
                    sample = None
                    if args.naive_sample:
                        mg = [x.name for x in inv.nodes if "management" in x.roles][:1]
                        st = [x.name for x in inv.nodes if "management" not in x.roles][: max(1, args.naive_sample - 1)]
                        sample = mg + st
                    naive = naive_run(lab, password, sample)
                    naive["measured_at"] = n
                    results["naive"] = naive
            finally:
                lab.close()
            ideal = math.ceil(n / concurrency) * t1
            naive_total = naive_estimate(naive, roles)
            naive_measured = naive["nodes"] == n
            results["sizes"][n] = {
                "concurrency": concurrency, "single_node_s": round(t1, 4), "ideal_s": round(ideal, 3),
                "audit": audit, "lab": d, "lab_start_s": round(lab.start_seconds, 2),
                "lab_idle_cpu_per_s": round(idle, 3),
                "requests_per_node": round(d["requests"] / n, 3), "commands_per_node": round(d["commands_run"] / n, 3),
                "ratio_to_ideal": round(audit["wall"] / ideal, 2),
                "naive_s": round(naive_total, 1), "naive_measured": naive_measured,
                "speedup": round(naive_total / audit["wall"], 1),
            }
            r = results["sizes"][n]
            print(f"{n} nodes: audit {audit['wall']:.2f} s (exit {audit['exit_code']}, "
                  f"{audit['nodes_audited']} audited), ideal {ideal:.2f} s, ratio {r['ratio_to_ideal']}, "
                  f"{r['requests_per_node']} HTTP req/node, {r['commands_per_node']} commands/node", flush=True)
            if audit["exit_code"] != 0 or audit["nodes_audited"] != n:
                print("  audit did not audit every node cleanly:\n" + audit["stderr"], file=sys.stderr)
        if args.snapshot_nodes:
            results["snapshot"] = snapshot_bench(args.snapshot_nodes, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # ---- report -------------------------------------------------------------------------
    print("\nLive audit (auditor audit, end to end: process start, collection, checks, 4 reports)")
    rows = []
    for n, r in results["sizes"].items():
        a = r["audit"]
        rows.append([n, r["concurrency"], f"{a['wall']:.2f}", f"{a['cpu']:.2f}", f"{r['single_node_s'] * 1000:.0f}",
                     f"{r['ideal_s']:.2f}", f"{r['ratio_to_ideal']:.2f}", r["requests_per_node"],
                     r["commands_per_node"], f"{a['maxrss_mb']:.0f}",
                     f"{r['lab']['cpu_seconds'] / n * 1000:.1f}", f"{r['lab_idle_cpu_per_s']:.2f}"])
    print(table(rows, ["nodes", "conc", "wall s", "client cpu s", "1 node ms", "ideal s", "wall/ideal",
                       "HTTP req/node", "cmds/node", "peak RSS MB", "lab cpu ms/node", "lab idle cpu/s"]))
    if results.get("sweep"):
        base = results["sizes"][max(sizes)]
        rows = [[max(sizes), base["concurrency"], f"{base['audit']['wall']:.2f}", f"{base['audit']['cpu']:.2f}",
                 f"{base['ideal_s']:.2f}", f"{base['ratio_to_ideal']:.2f}",
                 f"{base['lab']['cpu_seconds'] / max(sizes) * 1000:.1f}", base["audit"]["exit_code"]]]
        rows += [[r["nodes"], r["concurrency"], f"{r['wall']:.2f}", f"{r['cpu']:.2f}", f"{r['ideal_s']:.2f}",
                  f"{r['ratio_to_ideal']:.2f}", f"{r['lab_cpu_ms_per_node']:.1f}", r["exit_code"]]
                 for r in results["sweep"]]
        print("\nPool size at the largest cluster (--concurrency):")
        print(table(rows, ["nodes", "conc", "wall s", "client cpu s", "ideal s", "wall/ideal", "lab cpu ms/node",
                           "exit"]))
    ns = list(results["sizes"])
    if len(ns) >= 2:
        a, b = ns[0], ns[-1]
        ra, rb = results["sizes"][a]["audit"]["maxrss_mb"], results["sizes"][b]["audit"]["maxrss_mb"]
        slope = (rb - ra) / (b - a)
        results["memory_slope_mb_per_node"] = round(slope, 4)
        line = f"\nPeak RSS grows {slope * 1024:.0f} KB per node between {a} and {b} nodes"
        for m in ns[1:-1]:
            pred = ra + slope * (m - a)
            line += f"; linear prediction at {m}: {pred:.0f} MB, measured {results['sizes'][m]['audit']['maxrss_mb']:.0f} MB"
        print(line)

    if naive is not None:
        print(f"\nNaive admin loop (one Session.run_ps per file and service, node after node): "
              f"measured on {naive['nodes']} node(s) of the {naive['measured_at']}-node cluster in "
              f"{naive['wall']:.1f} s, {naive['calls']} run_ps calls, {naive['requests']} HTTP requests "
              f"({naive['requests'] / max(naive['nodes'], 1):.0f}/node), {naive['commands']} remote commands "
              f"({naive['commands'] / max(naive['nodes'], 1):.0f}/node); per node: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in naive["per_role_mean"].items()))
        rows = []
        for n, r in results["sizes"].items():
            label = "measured" if r["naive_measured"] else "EXTRAPOLATED (linear, per-role means)"
            rows.append([n, f"{r['naive_s']:.1f}", label, f"{r['audit']['wall']:.2f}", f"{r['speedup']:.0f}x"])
        print(table(rows, ["nodes", "naive s", "naive figure", "auditor s", "speed-up"]))

    snap = results.get("snapshot")
    if snap:
        t = snap["times"]
        print(f"\nOffline on a generated {snap['nodes']}-node snapshot ({snap['findings']} findings), fresh process:")
        rows = [[k, f"{t[k]['wall']:.2f}", f"{t[k]['cpu']:.2f}"] for k in
                ("imports", "generate", "load", "model_and_checks", "html", "json", "junit", "csv", "model_checks_reports",
                 "model_only", "checks_only")]
        print(table(rows, ["step", "wall s", "cpu s"]))
        print(f"model + checks + 4 reports: {t['model_checks_reports']['wall']:.2f} s wall "
              f"({t['model_checks_reports']['cpu']:.2f} s CPU); peak RSS {snap['maxrss_mb']:.0f} MB; "
              "sizes " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in snap["sizes"].items()))

    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(f"\nload average at end {results['loadavg_end']}; benchmark took {results['bench_seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
