"""Time ``auditor fix`` planning for a spoc.conf with thousands of stale entries.

A corrupt or hostile node can carry a spoc.conf with 10,000 server entries; the dry run must
still answer in seconds (the planner used to re-parse the whole file for every key it
removed: 1,000 stale entries took 16 s, 10,000 did not finish). Run by ``make bench`` after
the collection benchmark, or by hand::

    .venv/bin/python bench/bench_fix_plan.py [--entries 1000,10000] [--json FILE]

For each size it copies the drift scenario, gives SITE1's spoc.conf that many extra stale
entries (three lines each), and times ``auditor fix --from SNAPSHOT --remove-stale --check
SPOC-MGMT-LIST --plan-json FILE`` in a fresh process (wall, CPU, peak RSS from ``os.wait4``;
process start and imports included), then the planning alone in this process (model +
checks + plan + diff, median of 3). Every run must exit 1 (changes planned) with every stale
entry removed from the planned file.
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

ROOT = Path(__file__).resolve().parent.parent
DRIFT = ROOT / "auditor" / "lab" / "scenarios" / "drift"
SPOC = Path("site1/files/c/DispatcherParagon/SPOC/conf/modules/spoc.conf")


def make_snapshot(folder: Path, stale: int) -> None:
    """The drift scenario with ``stale`` more entries (numbered after its three) in SITE1."""
    shutil.copytree(DRIFT, folder)
    path = folder / SPOC
    text = path.read_bytes().decode("utf-8")
    anchor = "serverPORT3=6010\r\n"
    assert anchor in text, "the drift scenario's SITE1 spoc.conf changed: update the benchmark"
    extra = "".join(f"serverGUID{i}=dead{i:08d}-0000-4000-8000-000000000000\r\n"
                    f"serverIP{i}=10.{i // 65536}.{i // 256 % 256}.{i % 256}\r\nserverPORT{i}=6010\r\n"
                    for i in range(4, 4 + stale))
    path.write_bytes(text.replace(anchor, anchor + extra).encode("utf-8"))


def auditor_cmd() -> list[str]:
    script = Path(sys.executable).parent / "auditor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "auditor.cli"]


def run_cli(snapshot: Path, plan_json: Path) -> dict:
    cmd = [*auditor_cmd(), "fix", "--from", str(snapshot), "--remove-stale", "--check", "SPOC-MGMT-LIST",
           "--plan-json", str(plan_json)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 1:
        raise SystemExit(f"auditor fix exited {code} (expected 1: changes planned): {stderr[-500:]}")
    return {"wall": round(wall, 2), "cpu": round(usage.ru_utime + usage.ru_stime, 2),
            "rss_mb": round(usage.ru_maxrss / 1024, 1)}


def plan_in_process(snapshot: Path) -> tuple[float, int]:
    """Seconds for model + checks + plan + diff (median of 3), and stale entries left."""
    from auditor.checks import run_checks
    from auditor.cluster import Cluster
    from auditor.fixers import FixOptions, build_plan
    from auditor.manifest import load_cluster_folder
    from auditor.profile import load_profile

    profile = load_profile(None)
    _, states = load_cluster_folder(snapshot)
    times = []
    left = -1
    for _ in range(3):
        t0 = time.perf_counter()
        cluster = Cluster.build(states, profile)
        findings = run_checks(cluster, only={"SPOC-MGMT-LIST"})
        plan = build_plan(cluster, findings, FixOptions(remove_stale=True))
        edit = next(e for e in plan.node("SITE1").edits if e.check_id == "SPOC-MGMT-LIST")
        _ = edit.diff
        times.append(time.perf_counter() - t0)
        left = edit.new.count(b"serverGUID")
    return statistics.median(times), left


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", default="1000,10000", help="stale entry counts, comma-separated")
    ap.add_argument("--json", type=Path, default=None, help="also save the results as JSON")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.entries.split(",") if s.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fix-") as tmp:
        for n in sizes:
            snap = Path(tmp) / f"snap-{n}"
            make_snapshot(snap, n)
            cli = run_cli(snap, Path(tmp) / f"plan-{n}.json")
            seconds, left = plan_in_process(snap)
            if left != 2:  # MGMT1 and MGMT2 stay; the drift scenario's stale entry 3 and every added one go
                raise SystemExit(f"{n} entries: the planned spoc.conf keeps {left} entries, expected 2")
            rows.append({"stale_entries": n + 1, "lines": 3 * (n + 3), "cli": cli, "plan_s": round(seconds, 3)})
    print("auditor fix --from (dry run) with stale spoc.conf entries; process start included in 'cli'")
    print(f"{'stale entries':>14} {'spoc.conf lines':>16} {'cli wall s':>11} {'cli cpu s':>10} {'peak MB':>8} "
          f"{'plan s':>7}")
    for r in rows:
        print(f"{r['stale_entries']:>14,} {r['lines']:>16,} {r['cli']['wall']:>11.2f} {r['cli']['cpu']:>10.2f} "
              f"{r['cli']['rss_mb']:>8.1f} {r['plan_s']:>7.3f}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"plan time x{b['plan_s'] / a['plan_s']:.1f} for x{b['stale_entries'] / a['stale_entries']:.1f} "
              "entries (linear: about the same factor)")
    if args.json:
        args.json.write_text(json.dumps({"fix_plan": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
