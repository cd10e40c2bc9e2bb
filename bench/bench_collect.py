"""Benchmark (``make bench``): live audits against simulated clusters, measured against the floor.

What it does (about 9-10 minutes on 2 cores; the limit is 10; see docs/performance.md):

1. **Live rows** (:data:`ROWS`): for each latency model and size, a healthy scenario (2
   Management + N-2 Site servers) is served from a SEPARATE process (``bench/lab_proc.py``:
   real WinRM listeners on 127.0.0.1, NTLM with message encryption over HTTP) and
   ``auditor audit --inventory ... --format html,json,junit,csv`` runs end to end in its own
   process: wall, CPU, peak RSS, peak threads and sockets, exit code; the lab's counters give
   HTTP requests and remote commands per node and the lab's CPU.

   * ``30 ms``: 30 ms before every HTTP reply, no remote execution time (the client's own
     costs show). Run as an A/B: the baseline commit (:data:`BASELINE`, ``--baseline``) and
     this checkout alternate, ``--ab-rounds`` times each at the largest size (once each below
     it), so a busy spell hits both sides.
   * ``realistic``: per-node remote execution time drawn from ``auditor.lab.latency``
     (median 1.5 s, 5 % at 5-10 s, 0.3 % past the deadline) and 10 ms per request. At 500 and
     2,000 nodes it runs twice with one history file, as a scheduled audit does: the first
     run, then the next night's, which starts the first run's slowest nodes first; the
     target is judged on the nightly run and the first run's ratio is printed beside it.

   The client's CPU per node is shown for the whole process (start, imports, collection,
   checks, reports) and for the collection alone (report.json ``run.collection_cpu_seconds``);
   the per-node CPU target is judged on the collection, the part that grows with the nodes.

2. **The floor** of each run (``bench/floor.py``): max(slowest node's own time, client
   CPU-seconds / cores, total remote time / largest safe concurrency); wall / floor.
3. The naive ``run_ps`` loop on a sample of nodes (``bench/naive.py``), extrapolated.
4. The offline half on a generated 5,000-node snapshot (``bench/bench_snapshot.py``).
5. Run history at 5,000 nodes (``bench/bench_history.py``): ``audit --from`` with and without
   history, interleaved, and ``auditor drift`` between two runs.
6. Fix planning for a spoc.conf with 1,000 and 10,000 stale entries (``bench/bench_fix_plan.py``).

The ``make bench s`` target is this whole script's time, every part above included.

Every run records the load average and the CPU other jobs took meanwhile (``/proc/stat``);
runs on a busy machine are flagged. Every target (:data:`TARGETS`) is printed with PASS/FAIL
and the exit code is 1 when one is missed. ``--json FILE`` saves every number.
Lab passwords are random per run and never printed.

Adding a row: append a :class:`LiveRow` to :data:`ROWS` (``lab_args`` are passed to
``bench/lab_proc.py``; ``ratio_target`` makes wall / floor a target at ``target_sizes``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from floor import floor  # noqa: E402
from measure import (  # noqa: E402
    Client,
    LabProcess,
    MachineWatch,
    delta,
    executor_digest,
    extract_commit,
    machine,
    run_audit,
)
from naive import naive_estimate, naive_run  # noqa: E402

from auditor.lab.executor import EXTRA_EXECUTORS_VAR  # noqa: E402

PASSWORD_ENV = "PARAGON_LAB_PASSWORD"
BASELINE = "4292309"
"""The commit before this round of performance work: the A/B's other side."""
FORMATS = "html,json,junit,csv"


@dataclass(frozen=True)
class LiveRow:
    """One kind of live run: a latency model (and lab options) at several sizes."""

    name: str
    latency: str  # auditor.lab.latency.LatencyModel value
    sizes: tuple[int, ...]
    ab: bool = False  # also run the baseline commit, interleaved
    ratio_target: float | None = None  # wall / floor target ...
    target_sizes: tuple[int, ...] = ()  # ... at these sizes
    scheme: str = "http"
    lab_args: tuple[str, ...] = ()
    auth: str = "ntlm"  # ntlm, or kerberos (a lab realm, one SPN per node; the client gets a ticket)
    nightly_sizes: tuple[int, ...] = ()  # at these sizes: a first run with a fresh history, then the next night's


FIRST_RUN = "first run"
NIGHTLY = "nightly"
"""With ``nightly_sizes``, each size runs twice with one history file, as an admin's scheduled
audit does: the first run knows nothing; the next one starts the slowest nodes of the first
first (``auditor.collect.order``). Runs of other rows use ``--no-history``."""


ROWS = [
    LiveRow("30 ms", "fixed", (50, 500), ab=True),
    LiveRow("realistic", "realistic", (50, 500, 2000), ratio_target=1.25, target_sizes=(500, 2000),
            nightly_sizes=(500, 2000)),
    # Kerberos with message encryption beside NTLM with message encryption, same cluster and latency
    LiveRow("NTLM 200", "fixed", (200,)),
    LiveRow("Kerberos", "fixed", (200,), auth="kerberos"),
]

TARGETS = {
    "realistic wall / floor": 1.25,
    "30 ms: wall vs baseline (no regression)": 1.10,
    "30 ms: client CPU ms per node at 500": 10.0,
    "5,000-node snapshot: model + checks + 4 reports s": 5.0,
    "5,000-node audit --from: with history / without": 1.2,
    "auditor drift between two 5,000-node runs s": 2.0,
    "make bench s": 600.0,
}


# ---- measurements -------------------------------------------------------------------------
def protocol_seconds(lab: LabProcess, password: str, repeats: int = 3) -> float:
    """One node's protocol time alone (handshake, 5 messages, decoding), without its execution time."""
    from auditor.collect.inventory import load_inventory
    from auditor.profile import load_profile
    from auditor.remote import Target, build_collect_request, execute, node_state_from_response

    inv = load_inventory(lab.inventory)
    node = min(inv.nodes, key=lambda n: lab.exec_seconds.get(n.name, 0.0))
    request = build_collect_request(load_profile(None))
    target = Target(name=node.name, host=node.address, port=node.port, scheme=node.scheme,
                    transport=node.transport, username=node.username, password=password,
                    ca_file=str(node.ca_file) if node.ca_file else None, connect_timeout=node.connect_timeout,
                    read_timeout=30, operation_timeout=20,
                    kerberos_hostname_override=node.kerberos_hostname_override)
    times = []
    saved = {k: os.environ.get(k) for k in lab.client_env}
    os.environ.update(lab.client_env)  # Kerberos: this process's client uses the lab's ticket
    try:
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            node_state_from_response(node.name, execute(target, request))
            if i:  # the first one warms imports and caches
                times.append(time.perf_counter() - t0)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return max(0.0, statistics.median(times) - lab.exec_seconds.get(node.name, 0.0))


def live_size(row: LiveRow, n: int, scenario: Path, work: Path, env: dict[str, str], password: str,
              clients: list[Client], rounds: int, deadline: float) -> dict[str, Any]:
    from auditor.collect.concurrency import safe_ceiling
    from auditor.collect.inventory import load_inventory

    lab = LabProcess(scenario, work / f"lab-{row.name}-{n}".replace(" ", "_"), env, latency=row.latency,
                     deadline=deadline, scheme=row.scheme, extra=[*row.lab_args, "--auth", row.auth])
    env = dict(env, **lab.client_env)
    try:
        inv = load_inventory(lab.inventory)
        hung = sorted(k for k, v in lab.exec_seconds.items() if v >= deadline)
        t_proto = protocol_seconds(lab, password)
        cores = machine()["nproc"]
        ceiling = safe_ceiling(n, inv.max_concurrency)
        runs = []
        history = work / f"history-{row.name}-{n}.sqlite".replace(" ", "_")
        passes = [(FIRST_RUN, ["--history", str(history)]), (NIGHTLY, ["--history", str(history)])] \
            if n in row.nightly_sizes else [("", ["--no-history"])]
        schedule = [(client, kind, opts) for r in range(rounds)
                    for client in (clients if r % 2 == 0 else list(reversed(clients))) for kind, opts in passes]
        for client, kind, history_opts in schedule:
            out = work / f"out-{len(runs)}"
            c0 = lab.counters()
            watch = MachineWatch()
            a = run_audit(client, ["--inventory", str(lab.inventory), "--out", str(out), "--format", FORMATS,
                                   *history_opts, "--no-progress", "--quiet"], env, out / "report.json")
            d = delta(lab.counters(), c0)
            a["machine"] = watch.finish(a["cpu"], d["cpu_seconds"])
            shutil.rmtree(out, ignore_errors=True)
            f = floor(list(lab.exec_seconds.values()), protocol_seconds=t_proto, deadline=deadline,
                      client_cpu=a["cpu"], cores=cores, safe_concurrency=ceiling.value)
            a.update(client=f"{client.label}, {kind}" if kind else client.label, run=kind,
                     floor_s=round(f.seconds, 3), floor_by=f.bound_by,
                     floor_terms={"slowest": round(f.slowest, 3), "cpu": round(f.cpu, 3),
                                  "concurrency": round(f.concurrency, 3)},
                     ratio=round(a["wall"] / f.seconds, 3), cpu_ms_per_node=round(a["cpu"] / n * 1000, 2),
                     collection_cpu_ms_per_node=(None if a["collection_cpu"] is None
                                                 else round(a["collection_cpu"] / n * 1000, 2)),
                     requests_per_node=round(d["requests"] / n, 3),
                     commands_per_node=round(d["commands_run"] / n, 3),
                     lab_cpu_ms_per_node=round(d["cpu_seconds"] / n * 1000, 2),
                     clean=a["nodes_audited"] == n - len(hung) and a["exit_code"] in (0, 3 if hung else 0))
            runs.append(a)
            print(f"  {row.name:>9} {n:>5} nodes  {a['client']:<25} wall {a['wall']:7.2f} s  "
                  f"floor {f.seconds:6.2f} s ({f.bound_by})  ratio {a['ratio']:.2f}  "
                  f"CPU {a['cpu_ms_per_node']:.1f} ms/node"
                  + (f" (collection {a['collection_cpu_ms_per_node']:.1f})" if a["collection_cpu_ms_per_node"] else "")
                  + f"  exit {a['exit_code']}"
                  + ("  [machine busy]" if a["machine"].get("busy") else ""), flush=True)
            if not a["clean"]:
                print(f"    not every node audited as expected ({a['nodes_audited']} of {n}, "
                      f"{len(hung)} hung):\n{a['stderr']}", file=sys.stderr)
        return {"nodes": n, "hung": hung, "protocol_s": round(t_proto, 4), "safe_concurrency": ceiling.value,
                "ceiling_by": ceiling.limited_by.value, "lab_start_s": round(lab.start_seconds, 2),
                "round_trip": lab.round_trip, "runs": runs}
    finally:
        lab.close()


def fix_plan(entries: str, out: Path, env: dict[str, str]) -> dict[str, Any]:
    """``bench_fix_plan.py`` in its own process, inside this benchmark's total time: its table
    (printed at the end) and its rows."""
    proc = subprocess.run([sys.executable, str(HERE / "bench_fix_plan.py"), "--entries", entries, "--json", str(out)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    rows = json.loads(out.read_text())["fix_plan"] if proc.returncode == 0 and out.exists() else []
    return {"exit_code": proc.returncode, "table": proc.stdout.strip(), "stderr": proc.stderr[-2000:], "rows": rows}


def subprocess_json(script: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(HERE / script), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- output -------------------------------------------------------------------------------
def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def collection_ms(runs: list[dict[str, Any]]) -> str:
    """Median collection CPU per node of ``runs`` ("-" when the client did not report it)."""
    values = [r["collection_cpu_ms_per_node"] for r in runs if r.get("collection_cpu_ms_per_node") is not None]
    return f"{statistics.median(values):.1f}" if values else "-"


def live_table(results: dict[str, Any]) -> str:
    rows = []
    for row_name, sizes in results["live"].items():
        for n, res in sizes.items():
            for label in dict.fromkeys(r["client"] for r in res["runs"]):
                runs = [r for r in res["runs"] if r["client"] == label]
                m = runs[len(runs) // 2] if len(runs) % 2 else runs[0]
                rows.append([row_name, n, label, len(runs), f"{median_of(runs, 'wall'):.2f}",
                             f"{median_of(runs, 'cpu'):.2f}", f"{median_of(runs, 'cpu_ms_per_node'):.1f}",
                             collection_ms(runs),
                             f"{m['floor_s']:.2f}", m["floor_by"], f"{median_of(runs, 'ratio'):.2f}",
                             f"{max(r['maxrss_mb'] for r in runs):.0f}", max(r["peak_threads"] for r in runs),
                             max(r["peak_sockets"] for r in runs), m["requests_per_node"], m["commands_per_node"],
                             f"{m['lab_cpu_ms_per_node']:.1f}", len(res["hung"]),
                             max(r["machine"].get("other_jobs_cores", 0) for r in runs)])
    return table(rows, ["latency", "nodes", "client", "runs", "wall s", "client CPU s", "CPU ms/node",
                        "collection CPU ms/node", "floor s",
                        "floor bound by", "wall/floor", "peak RSS MB", "peak threads", "peak sockets",
                        "HTTP req/node", "cmds/node", "lab CPU ms/node", "hung", "other jobs (cores)"])


def evaluate(results: dict[str, Any], baseline: Client | None, total_s: float) -> list[tuple[str, str, float | None,
                                                                                            float, bool]]:
    """(target, where, measured, limit, passed) for every target."""
    out = []
    for row in ROWS:
        for n in row.target_sizes:
            res = results["live"].get(row.name, {}).get(n)
            kind = NIGHTLY if n in row.nightly_sizes else ""
            runs = [r for r in res["runs"] if r.get("run", "") == kind] if res else []
            value = statistics.median(r["ratio"] for r in runs) if runs else None
            where = f"{row.name}, {n} nodes" + (f", {kind}" if kind else "")
            out.append(("realistic wall / floor", where, value, row.ratio_target or 0.0,
                        value is not None and value <= (row.ratio_target or 0.0)))
    for row in ROWS:
        if not row.ab:
            continue
        res = results["live"].get(row.name, {}).get(max(row.sizes))
        if res is None:
            continue
        mine = [r for r in res["runs"] if r["client"] == "this checkout"]
        # a baseline run that did not audit every node did less work: it is no reference
        theirs = [r for r in res["runs"] if baseline is not None and r["client"] == baseline.label and r["clean"]]
        limit = TARGETS["30 ms: wall vs baseline (no regression)"]
        value = median_of(mine, "wall") / median_of(theirs, "wall") if theirs else None
        out.append(("30 ms: wall vs baseline (no regression)", f"{max(row.sizes)} nodes, medians", value, limit,
                    value is not None and value <= limit))
        limit = TARGETS["30 ms: client CPU ms per node at 500"]
        values = [r["collection_cpu_ms_per_node"] for r in mine if r.get("collection_cpu_ms_per_node") is not None]
        value = statistics.median(values) if values else None
        out.append(("30 ms: client CPU ms per node at 500", f"{max(row.sizes)} nodes, collection CPU / nodes", value,
                    limit, value is not None and value <= limit))
    snap = results.get("snapshot")
    if snap:
        value = snap["times"]["model_checks_reports"]["wall"]
        limit = TARGETS["5,000-node snapshot: model + checks + 4 reports s"]
        out.append(("5,000-node snapshot: model + checks + 4 reports s",
                    f"{snap['nodes']} nodes, median of {len(snap['times'].get('target_runs', [1]))}", value, limit,
                    value < limit))
    hist = results.get("history")
    if hist:
        limit = TARGETS["5,000-node audit --from: with history / without"]
        out.append(("5,000-node audit --from: with history / without", f"{hist['nodes']} nodes, medians",
                    hist["ratio"], limit, hist["ratio"] <= limit))
        limit = TARGETS["auditor drift between two 5,000-node runs s"]
        ok = hist["drift"]["exit_code"] == 0 and hist["drift"]["wall"] < limit
        out.append(("auditor drift between two 5,000-node runs s", "process wall", hist["drift"]["wall"], limit, ok))
    fix = results.get("fix_plan")
    if fix:
        out.append(("fix planning bench ran (every stale entry planned away)", "bench_fix_plan.py", None, 0.0,
                    fix["exit_code"] == 0))
    clean = all(r["clean"] for sizes in results["live"].values() for res in sizes.values() for r in res["runs"])
    out.append(("every live run audited every node it could", "", None, 0.0, clean))
    out.append(("make bench s", "", total_s, TARGETS["make bench s"], total_s < TARGETS["make bench s"]))
    return out


def first_runs(results: dict[str, Any]) -> list[tuple[str, float]]:
    """(where, wall / floor) of every first run of a nightly pair: shown beside the targets."""
    return [(f"{row_name}, {n} nodes", r["ratio"]) for row_name, sizes in results["live"].items()
            for n, res in sizes.items() for r in res["runs"] if r.get("run") == FIRST_RUN]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default=",".join(r.name for r in ROWS), help="live rows to run (comma-separated)")
    ap.add_argument("--baseline", default=BASELINE, help=f"commit for the A/B (default {BASELINE}); 'none' skips it")
    ap.add_argument("--ab-rounds", type=int, default=2, help="runs of each side of the A/B, interleaved")
    ap.add_argument("--max-nodes", type=int, default=0, help="skip live sizes above this (a quick look; targets fail)")
    ap.add_argument("--deadline", type=float, default=60.0, help="per-node deadline in the lab inventories (60)")
    ap.add_argument("--naive-sample", type=int, default=3,
                    help="nodes of the naive loop: 1 Management + N-1 Site servers (0 skips it)")
    ap.add_argument("--snapshot-nodes", type=int, default=5000, help="0 skips the snapshot benchmark")
    ap.add_argument("--history-nodes", type=int, default=5000, help="0 skips the history benchmark")
    ap.add_argument("--fix-entries", default="1000,10000",
                    help="stale spoc.conf entries for the fix planning bench (bench_fix_plan.py); '' skips it")
    ap.add_argument("--json", type=Path, default=None, help="also write every number to this file")
    args = ap.parse_args(argv)
    chosen = {r.strip() for r in args.rows.split(",") if r.strip()}
    started = time.perf_counter()

    from bench_snapshot import scratch_root

    from auditor.collect.inventory import load_inventory
    from auditor.lab.scenario_builder import build_healthy

    info = machine()
    print(f"machine: {info['nproc']} CPU(s), {info['cpu']}, Python {info['python']}, "
          f"load average at start {info['loadavg_start']}")
    password = secrets.token_urlsafe(18)
    env = dict(os.environ, **{PASSWORD_ENV: password})
    work = Path(tempfile.mkdtemp(prefix="paragon-bench-", dir=scratch_root()))
    results: dict[str, Any] = {"machine": info, "deadline": args.deadline, "live": {}, "targets": []}
    me = Client("this checkout")
    baseline: Client | None = None
    try:
        if args.baseline != "none":
            try:
                baseline = extract_commit(args.baseline, work / "baseline")
                env[EXTRA_EXECUTORS_VAR] = executor_digest(baseline)
            except RuntimeError as exc:
                print(f"A/B: {exc}", file=sys.stderr)
        scenarios: dict[int, Path] = {}
        for row in ROWS:
            if row.name not in chosen:
                continue
            print(f"\n{row.name}: lab in a separate process, {row.auth.upper() if row.auth == 'ntlm' else 'Kerberos'} "
                  f"+ message encryption over {row.scheme.upper()}")
            results["live"][row.name] = {}
            for n in row.sizes:
                if args.max_nodes and n > args.max_nodes:
                    continue
                if n not in scenarios:
                    scenarios[n] = work / f"scenario-{n}"
                    build_healthy(scenarios[n], sites=n - 2)
                clients = [me, baseline] if row.ab and baseline is not None else [me]
                # the A/B's rounds at the row's largest size (its target); one each below it
                rounds = args.ab_rounds if row.ab and n == max(row.sizes) else 1
                results["live"][row.name][n] = live_size(row, n, scenarios[n], work, env, password, clients, rounds,
                                                         args.deadline)
        if args.naive_sample and ROWS[0].sizes[0] in scenarios:
            n = ROWS[0].sizes[0]
            lab = LabProcess(scenarios[n], work / "lab-naive", env)
            try:
                inv = load_inventory(lab.inventory)
                mg = [x.name for x in inv.nodes if "management" in x.roles][:1]
                st = [x.name for x in inv.nodes if "management" not in x.roles][: max(1, args.naive_sample - 1)]
                results["naive"] = naive_run(lab, password, mg + st)
            finally:
                lab.close()
        shared: list[str] = []  # the snapshot bench's 5,000-node cluster serves the history bench too
        if args.snapshot_nodes:
            results["snapshot"] = subprocess_json("bench_snapshot.py", "--nodes", str(args.snapshot_nodes),
                                                  "--workdir", str(work / "offline"), env=env)
            if args.history_nodes == args.snapshot_nodes:
                shared = ["--snapshot", str(work / "offline" / "snapshot")]
        if args.history_nodes:
            results["history"] = subprocess_json("bench_history.py", "--nodes", str(args.history_nodes), *shared,
                                                 env=env)
        if args.fix_entries:
            results["fix_plan"] = fix_plan(args.fix_entries, work / "fix-plan.json", env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report(results)
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    targets = evaluate(results, baseline, results["bench_seconds"])
    results["targets"] = [{"target": t, "where": w, "measured": v, "limit": lim, "pass": ok}
                          for t, w, v, lim, ok in targets]
    busy = [r for sizes in results["live"].values() for res in sizes.values() for r in res["runs"]
            if r["machine"].get("busy")]
    print(f"\nload average at end {results['loadavg_end']}; benchmark took {results['bench_seconds']:.0f} s")
    if busy:
        print(f"WARNING: {len(busy)} live run(s) shared the machine with other jobs (more than 0.25 cores taken "
              "by other processes on average): their wall times are inflated; CPU columns are less affected.")
    first = first_runs(results)
    if first:
        print("\nNot a target: wall / floor of the first run, when no previous run says which nodes are slow: "
              + ", ".join(f"{where} {ratio:.2f}" for where, ratio in first))
    print("\nTargets:")
    print(table([[t, w, "-" if v is None else f"{v:.2f}", f"{lim:g}" if lim else "", "PASS" if ok else "FAIL"]
                 for t, w, v, lim, ok in targets], ["target", "where", "measured", "limit", ""]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0 if all(ok for *_, ok in targets) else 1


def report(results: dict[str, Any]) -> None:
    print("\nLive audit (auditor audit end to end: process start, collection, checks, 4 reports; medians)")
    print(live_table(results))
    fixed = results["live"].get(ROWS[0].name, {})
    if len(fixed) >= 2:
        (a, ra), (b, rb) = list(fixed.items())[0], list(fixed.items())[-1]
        for label in dict.fromkeys(r["client"] for r in rb["runs"]):
            ca = median_of([r for r in ra["runs"] if r["client"] == label], "cpu")
            cb = median_of([r for r in rb["runs"] if r["client"] == label], "cpu")
            ma = max(r["maxrss_mb"] for r in ra["runs"] if r["client"] == label)
            mb = max(r["maxrss_mb"] for r in rb["runs"] if r["client"] == label)
            print(f"{label}: marginal client CPU {(cb - ca) / (b - a) * 1000:.1f} ms per node and peak RSS "
                  f"{(mb - ma) / (b - a) * 1024:.0f} KB per node between {a} and {b} nodes (30 ms mode)")
    naive = results.get("naive")
    if naive:
        print(f"\nNaive admin loop (one Session.run_ps per file and service, node after node), measured on "
              f"{naive['nodes']} node(s): {naive['wall']:.1f} s, {naive['calls']} run_ps calls, "
              f"{naive['requests'] / max(naive['nodes'], 1):.0f} HTTP requests and "
              f"{naive['commands'] / max(naive['nodes'], 1):.0f} remote commands per node; per node: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in naive["per_role_mean"].items()))
        rows = []
        for n, res in fixed.items():
            mine = median_of([r for r in res["runs"] if r["client"] == "this checkout"], "wall")
            est = naive_estimate(naive, {"management": 2, "site": n - 2})
            rows.append([n, f"{est:.1f}", "EXTRAPOLATED (linear, per-role means)", f"{mine:.2f}", f"{est / mine:.0f}x"])
        print(table(rows, ["nodes", "naive s", "naive figure", "auditor s (30 ms)", "speed-up"]))
    snap = results.get("snapshot")
    if snap:
        t = snap["times"]
        print(f"\nOffline on a generated {snap['nodes']}-node snapshot ({snap['findings']} findings), fresh process:")
        steps = [("imports", "imports"), ("generate", "generate"), ("load", "load"),
                 ("model_and_checks", "model and checks"), ("reports", "4 reports, one write_reports call"),
                 ("model_checks_reports", "TARGET: model + checks + 4 reports (median run)")]
        steps += [(f, f"{f} alone (after the target, caches built)") for f in ("html", "json", "junit", "csv")]
        print(table([[label, f"{t[k]['wall']:.2f}", f"{t[k]['cpu']:.2f}"] for k, label in steps if k in t],
                    ["step", "wall s", "cpu s (workers included)"]))
        if t.get("target_runs"):
            print("model + checks + 4 reports, every run (the first in a fresh process): "
                  + ", ".join(f"{w:.2f}" for w in t["target_runs"]) + " s")
        print(f"peak RSS {snap['maxrss_mb']:.0f} MB")
        b = snap.get("browser")
        if b:
            print(f"report.html in headless Chromium: loaded in {b['load_ms']} ms, {b['elements']} elements; "
                  f"opening the matrix {b['open_matrix_ms']} ms, the node table {b['open_nodes_ms']} ms")
    hist = results.get("history")
    if hist:
        print(f"\nRun history, {hist['nodes']}-node `audit --from` (interleaved, medians of "
              f"{len(hist['runs']['with'])}): without {hist['median_wall']['without']:.2f} s wall "
              f"({hist['median_cpu']['without']:.2f} s CPU), with {hist['median_wall']['with']:.2f} s "
              f"({hist['median_cpu']['with']:.2f} s CPU): {hist['ratio']:.2f}x wall, "
              f"{hist['median_cpu']['with'] / hist['median_cpu']['without']:.2f}x CPU; `auditor drift` between the "
              f"last two runs {hist['drift']['wall']:.2f} s (exit {hist['drift']['exit_code']}); history file "
              f"{hist['history_mb']} MB")
    fix = results.get("fix_plan")
    if fix:
        print("\n" + (fix["table"] or f"fix planning bench failed (exit {fix['exit_code']}):\n{fix['stderr']}"))


if __name__ == "__main__":
    sys.exit(main())
