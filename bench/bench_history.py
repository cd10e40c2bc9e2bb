"""Time run history at scale: ``audit --from`` with and without history, and ``auditor drift``.

Run by ``bench/bench_collect.py`` (or by hand)::

    .venv/bin/python bench/bench_history.py --nodes 5000

It generates a healthy N-node snapshot, records one run in a fresh history file (so later runs
have a previous run and compute drift), then runs ``auditor audit --from SNAPSHOT --format
html,json,junit,csv`` alternately with ``--no-history`` and with ``--history`` (``--rounds``
times each, interleaved so a slow spell of the machine hits both sides), and finally times
``auditor drift`` between the last two recorded runs, each in its own process (interpreter
start included). Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_snapshot import scratch_root  # noqa: E402
from measure import Client, MachineWatch, run_audit  # noqa: E402

FORMATS = "html,json,junit,csv"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2, help="runs with and without history, interleaved")
    ap.add_argument("--snapshot", type=Path, default=None,
                    help="audit this healthy snapshot instead of generating one (bench_snapshot.py --workdir)")
    args = ap.parse_args(argv)

    from auditor.lab.scenario_builder import build_healthy

    client = Client("this checkout")
    env = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="paragon-bench-hist-", dir=scratch_root()))
    try:
        snap = args.snapshot or work / "snapshot"
        if args.snapshot is None:
            build_healthy(snap, sites=args.nodes - 2)
        history = work / "history.sqlite"

        def audit(with_history: bool, i: int, formats: str = FORMATS) -> dict:
            out = work / f"out-{i}"
            opts = ["--from", str(snap), "--out", str(out), "--format", formats, "--no-progress", "--quiet"]
            opts += ["--history", str(history)] if with_history else ["--no-history"]
            watch = MachineWatch()
            r = run_audit(client, opts, env, out / "report.json")
            r["machine"] = watch.finish(r["cpu"], 0.0)
            shutil.rmtree(out, ignore_errors=True)
            return r

        prime = audit(True, 0, "json")  # only there to be the previous run: one report is enough
        runs: dict[str, list[dict]] = {"without": [], "with": []}
        for i in range(args.rounds):
            runs["without"].append(audit(False, 2 * i + 1))
            runs["with"].append(audit(True, 2 * i + 2))
        t0 = time.perf_counter()
        drift = subprocess.run(client.command() + ["drift", "--history", str(history), "--json"], env=env,
                               cwd=client.cwd, capture_output=True, text=True)
        drift_wall = time.perf_counter() - t0
        result = {
            "nodes": args.nodes,
            "prime": prime,
            "runs": runs,
            "median_wall": {k: round(statistics.median(r["wall"] for r in v), 3) for k, v in runs.items()},
            "median_cpu": {k: round(statistics.median(r["cpu"] for r in v), 3) for k, v in runs.items()},
            "exit_codes": sorted({r["exit_code"] for v in runs.values() for r in v} | {prime["exit_code"]}),
            "drift": {"wall": round(drift_wall, 3), "exit_code": drift.returncode,
                      "stderr": drift.stderr[-500:]},
            "history_mb": round(history.stat().st_size / 1e6, 1) if history.exists() else None,
        }
        result["ratio"] = round(result["median_wall"]["with"] / result["median_wall"]["without"], 3)
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
