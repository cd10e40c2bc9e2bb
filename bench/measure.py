"""What the benchmark measures around one ``auditor audit`` process, and the lab it talks to.

* :func:`machine` - CPU, Python, load average;
* :class:`MachineWatch` - how busy the machine was during a run apart from the client and the
  lab (``/proc/stat``), so a run slowed down by other jobs says so;
* :class:`Sampler` - peak threads and sockets of the audit process (``/proc/PID``), sampled;
* :func:`run_audit` - one ``auditor audit`` in its own process: wall, user+system CPU and peak
  RSS (``os.wait4``), exit code, nodes audited;
* :class:`LabProcess` - ``bench/lab_proc.py`` serving a scenario from its own process;
* :class:`Client` - which code runs the audit: this checkout, or a baseline commit extracted
  with ``git archive`` (the A/B within one run).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUSY_CORES = 0.25
"""CPU (in cores) that other processes may take during a run before it is flagged as busy."""


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    from auditor.forkjobs import usable_cores  # the same count the auditor's workers use

    return {"nproc": usable_cores(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_start": loadavg()}


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _proc_stat() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, or None off Linux."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


class MachineWatch:
    """CPU the whole machine used during a run; minus the client's and the lab's = other jobs'."""

    def __init__(self) -> None:
        self.load_start = loadavg()
        self.t0 = time.perf_counter()
        self.s0 = _proc_stat()

    def finish(self, client_cpu: float, lab_cpu: float) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        s1 = _proc_stat()
        out: dict[str, Any] = {"load_start": self.load_start, "load_end": loadavg()}
        if self.s0 and s1 and s1[1] > self.s0[1] and wall > 0:
            cores = os.cpu_count() or 1
            busy_cores = (s1[0] - self.s0[0]) / (s1[1] - self.s0[1]) * cores
            others = max(0.0, busy_cores - (client_cpu + lab_cpu) / wall)
            out.update(busy_cores=round(busy_cores, 2), other_jobs_cores=round(others, 2),
                       cpu_available=round(cores - others, 2), busy=others > BUSY_CORES)
        return out


class Sampler:
    """Peak threads and open sockets of a process, sampled every ``interval`` seconds (Linux)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval = pid, interval
        self.threads = self.sockets = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        base = Path(f"/proc/{self.pid}")
        while not self._stop.wait(self.interval):
            try:
                for line in (base / "status").read_text().splitlines():
                    if line.startswith("Threads:"):
                        self.threads = max(self.threads, int(line.split()[1]))
                socks = 0
                for fd in os.scandir(base / "fd"):
                    with contextlib.suppress(OSError):
                        socks += os.readlink(fd.path).startswith("socket:")
                self.sockets = max(self.sockets, socks)
            except (OSError, ValueError):
                return

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join(2)
        return {"peak_threads": self.threads, "peak_sockets": self.sockets}


@dataclass(frozen=True)
class Client:
    """The code that runs ``auditor audit``: this checkout (``root=None``) or an extracted commit."""

    label: str
    root: Path | None = None

    def command(self) -> list[str]:
        if self.root is None:
            exe = Path(sys.executable).parent / "auditor"
            return [str(exe)] if exe.exists() else [sys.executable, "-c", "from auditor.cli import main; main()"]
        boot = f"import sys; sys.path.insert(0, {str(self.root)!r}); from auditor.cli import main; sys.exit(main())"
        return [sys.executable, "-c", boot]

    @property
    def cwd(self) -> Path:
        return self.root or ROOT


def extract_commit(commit: str, dest: Path) -> Client:
    """``git archive`` the ``auditor`` package of ``commit`` into ``dest`` (RuntimeError if impossible)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", commit], check=True,
                             capture_output=True, text=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "auditor"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"cannot extract commit {commit}: {exc}") from None
    return Client(f"baseline {sha}", dest)


def executor_digest(client: Client) -> str:
    """sha256 of the executor.ps1 ``client`` sends, as its own code computes it: the lab process
    is told to accept it too (``PARAGON_LAB_EXTRA_EXECUTORS``), so an earlier commit's client is
    answered instead of refused (the lab otherwise accepts exactly today's executor)."""
    boot = (f"import sys; sys.path.insert(0, {str(client.cwd)!r}); "
            "from auditor.remote.bootstrap import executor_sha256; print(executor_sha256())")
    return subprocess.run([sys.executable, "-c", boot], check=True, capture_output=True, text=True,
                          cwd=client.cwd).stdout.strip()


def run_audit(client: Client, args: list[str], env: dict[str, str], report: Path | None = None) -> dict[str, Any]:
    """``auditor audit ARGS`` in its own process; wall, CPU, peak RSS, threads and sockets of it only."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(client.command() + ["audit", *args], env=env, cwd=client.cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    peaks = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    summary: dict[str, Any] = {}
    run: dict[str, Any] = {}
    if report is not None and report.exists():
        data = json.loads(report.read_text())
        summary, run = data.get("summary", {}), data.get("run", {})
    return {"wall": round(wall, 3), "cpu": round(ru.ru_utime + ru.ru_stime, 3),
            "maxrss_mb": round(ru.ru_maxrss / 1024, 1), "exit_code": proc.returncode, **peaks,
            "nodes_audited": summary.get("nodes_audited"), "findings": summary.get("findings_total"),
            # CPU of the collection alone (report.json run.collection_cpu_seconds; None before it existed)
            "collection_cpu": run.get("collection_cpu_seconds"),
            "stderr": err.decode("utf-8", "replace")[-2000:]}


@dataclass
class LabProcess:
    """``bench/lab_proc.py`` serving one scenario; counters over a pipe."""

    scenario: Path
    workdir: Path
    env: dict[str, str]
    latency: str = "fixed"
    delay: float | None = None
    deadline: float = 60.0
    scheme: str = "http"
    extra: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        t0 = time.perf_counter()
        cmd = [sys.executable, str(HERE / "lab_proc.py"), str(self.scenario), "--workdir", str(self.workdir),
               "--latency", self.latency, "--deadline", str(self.deadline), "--scheme", self.scheme, *self.extra]
        if self.delay is not None:
            cmd += ["--delay", str(self.delay)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=self.env,
                                     cwd=ROOT)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        ready = json.loads(line) if line else {}
        if not ready.get("ready"):
            self.close()
            raise RuntimeError(f"lab process did not start: {ready or 'no answer'}")
        self.inventory = Path(ready["inventory"])
        self.nodes = int(ready["nodes"])
        self.round_trip = float(ready["round_trip"])
        self.exec_seconds: dict[str, float] = ready["exec_seconds"]
        self.client_env: dict[str, str] = ready.get("client_env") or {}  # Kerberos: the client's ticket
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
                self.proc.wait(timeout=60)
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
