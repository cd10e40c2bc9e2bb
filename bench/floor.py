"""The floor of a live collection: what the machine and the slowest node allow, whatever the pool.

    floor = max(slowest node's own time,
                client CPU-seconds / cores,
                total remote time / largest safe concurrency)

* a node's **own time** is its remote execution time (the lab's ``exec_seconds``) plus the
  protocol time of one node alone at the same round trip (handshake, 5 WS-Management
  messages, decoding; measured), cut at the deadline: the collector stops waiting there;
* **client CPU-seconds** are the whole ``auditor audit`` process's (start, collection, checks,
  reports), **cores** the CPUs this process may use;
* **total remote time** is the sum of the own times, and the **largest safe concurrency** the
  collector's ceiling on this machine for this inventory
  (``auditor.collect.concurrency.safe_ceiling``: open-file limit, memory, ``max_concurrency``).

No schedule can beat any of the three, so wall / floor says how far a run is from the best
this machine could do. It is a lower bound, not always a reachable one: the simulated nodes
run on the same cores as the client here (their CPU is reported beside it), and a node that
hangs until its deadline ends the run no earlier than the deadline after it was started.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Floor:
    slowest: float
    cpu: float
    concurrency: float
    safe_concurrency: int

    @property
    def seconds(self) -> float:
        return max(self.slowest, self.cpu, self.concurrency)

    @property
    def bound_by(self) -> str:
        terms = {"slowest node": self.slowest, "client CPU": self.cpu, "concurrency": self.concurrency}
        return max(terms, key=lambda k: terms[k])


def own_times(exec_seconds: list[float], protocol_seconds: float, deadline: float) -> list[float]:
    return [min(deadline, e + protocol_seconds) for e in exec_seconds]


def floor(exec_seconds: list[float], *, protocol_seconds: float, deadline: float, client_cpu: float,
          cores: int, safe_concurrency: int) -> Floor:
    own = own_times(exec_seconds, protocol_seconds, deadline)
    return Floor(slowest=max(own), cpu=client_cpu / max(1, cores), concurrency=sum(own) / max(1, safe_concurrency),
                 safe_concurrency=safe_concurrency)
