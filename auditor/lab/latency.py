"""Latency models for lab clusters: how long each simulated node takes, as ``lab.faults``.

Two models, both used by the benchmark (``bench/bench_collect.py``):

* **fixed**: the same delay before every HTTP reply on every node (``delay_seconds``, 30 ms
  by default: a LAN-to-WAN round trip). Each node answers in ~0.3 s; the run measures the
  client's protocol and CPU costs.
* **realistic**: what a real site looks like, where the remote PowerShell start and the work
  dominate (``exec_seconds`` per node, drawn from a distribution) plus a short round trip per
  request. Most nodes take around :data:`MEDIAN_SECONDS`, a tail of slow nodes
  (:data:`TAIL_SHARE`) takes :data:`TAIL_SECONDS`, and a few (:data:`HUNG_SHARE`) never
  answer within the deadline (a hung WinRM plug-in, a node swapping itself to death).

The draw is seeded, so the same size and seed give the same cluster: runs compare.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class LatencyModel(Enum):
    FIXED = "fixed"
    REALISTIC = "realistic"


MEDIAN_SECONDS = 1.5
"""Median remote execution time of a node (PowerShell start + collection), realistic model."""
SIGMA = 0.35
"""Spread of the log-normal body: 90 % of ordinary nodes between ~0.85 and ~2.7 s."""
TAIL_SHARE = 0.05
TAIL_SECONDS = (5.0, 10.0)
HUNG_SHARE = 0.003
HUNG_PAST_DEADLINE = 1.5
"""A hung node's execution time is this many deadlines: it is cut by the collector's deadline."""
REALISTIC_ROUND_TRIP = 0.01
"""Seconds before every HTTP reply in the realistic model (a routed site network)."""
FIXED_ROUND_TRIP = 0.03


@dataclass(frozen=True)
class NodeLatency:
    """One node's simulated timing: per HTTP request and for its one remote command."""

    name: str
    round_trip: float
    exec_seconds: float

    def faults(self) -> dict[str, Any]:
        """As ``lab.faults`` entries (see ``auditor.lab.winrm.server.LabFaults``)."""
        out: dict[str, Any] = {}
        if self.round_trip:
            out["delay_seconds"] = self.round_trip
        if self.exec_seconds:
            out["exec_seconds"] = round(self.exec_seconds, 3)
        return out

    def hung(self, deadline: float) -> bool:
        return self.exec_seconds >= deadline


def draw(names: Sequence[str], model: LatencyModel, *, deadline: float, seed: int = 1,
         round_trip: float | None = None) -> list[NodeLatency]:
    """Each node's timing under ``model`` (in the order of ``names``)."""
    if model is LatencyModel.FIXED:
        rt = FIXED_ROUND_TRIP if round_trip is None else round_trip
        return [NodeLatency(n, rt, 0.0) for n in names]
    rt = REALISTIC_ROUND_TRIP if round_trip is None else round_trip
    rng = random.Random(f"{seed}:{len(names)}")
    n = len(names)
    hung = round(n * HUNG_SHARE)
    tail = round(n * TAIL_SHARE)
    times = [deadline * HUNG_PAST_DEADLINE] * hung
    times += [rng.uniform(*TAIL_SECONDS) for _ in range(tail)]
    while len(times) < n:
        t = MEDIAN_SECONDS * math.exp(rng.gauss(0.0, SIGMA))
        times.append(min(max(t, 0.3), TAIL_SECONDS[0]))
    rng.shuffle(times)  # slow and hung nodes anywhere in the inventory, as on a real site
    return [NodeLatency(name, rt, t) for name, t in zip(names, times, strict=True)]
