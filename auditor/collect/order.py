"""In which order a live collection starts its nodes: the slowest of the previous run first.

A run cannot end before its slowest node has been given its time, counted from when that node
was started. Started last (inventory order puts it anywhere), a node that needs 60 s, or one
that hangs until its deadline, holds the whole run open for that long after every other node
is done; started first, its time overlaps everyone else's. This is the classic
longest-processing-time-first rule, with last night's times as the estimate: a site reached
over a slow link, an overloaded server, a node whose PowerShell hangs are usually the same
ones the next night.

Nodes the previous run did not time (new ones, or no history at all) go first, in inventory
order: nothing says they are fast. Without any previous times the order is the inventory's.
Only the order changes: every node is still collected once, and results are reported in
inventory order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def collection_order(names: Sequence[str], previous_seconds: Mapping[str, float]) -> list[int]:
    """Indexes into ``names`` in the order to start them (``previous_seconds`` is keyed by the
    lower-cased node name). Stable: equal times keep the inventory order."""
    if not previous_seconds:
        return list(range(len(names)))

    def key(i: int) -> tuple[int, float]:
        seconds = previous_seconds.get(names[i].lower())
        return (0, 0.0) if seconds is None else (1, -seconds)

    return sorted(range(len(names)), key=key)
