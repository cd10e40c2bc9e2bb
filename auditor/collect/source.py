"""Where a command's node states come from: a live collection (``--inventory``) or a snapshot
folder (``--from``), with what travels with them (the declarations, the cluster's name).

``auditor audit`` and ``auditor profile verify`` read a cluster the same two ways; this is the
one place that says what each way yields, so the two commands see the same cluster from the
same input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.declared import Declarations
from auditor.errors import InputError
from auditor.nodestate import NodeState

if TYPE_CHECKING:
    from auditor.collect.inventory import Inventory
    from auditor.collect.runner import CollectionEvents, SecurityOptions
    from auditor.profile import Profile


@dataclass(frozen=True)
class ClusterData:
    """One cluster's node states and what travels with them.

    ``kind`` is ``inventory`` (collected now) or ``snapshot`` (``--from``); ``label`` the
    inventory file or snapshot folder as given; ``started_at`` when collection started (live)
    or when the run started (snapshot); ``node_seconds`` how long each node's collection took
    (lower-cased name -> seconds; live only), recorded so the next run starts the slowest first;
    ``collection_cpu_seconds`` the CPU this host spent collecting (live only)."""

    states: list[NodeState]
    declared: Declarations
    name: str
    kind: str
    label: str
    started_at: str
    node_seconds: Mapping[str, float] = field(default_factory=dict)
    collection_cpu_seconds: float | None = None


def require_one_source(inventory: Path | None, from_dir: Path | None, collect_opts: dict[str, Any]) -> None:
    """``--inventory`` or ``--from``, exactly one; live-only options are refused with ``--from``."""
    from auditor.collect.cli_options import reject_live_only_options

    if inventory is not None and from_dir is not None:
        raise click.UsageError("give either --inventory FILE or --from SNAPSHOT_DIR, not both")
    if inventory is None and from_dir is None:
        raise click.UsageError("give --inventory FILE (live) or --from SNAPSHOT_DIR (offline)")
    if from_dir is not None:
        reject_live_only_options(collect_opts)


def read_snapshot(folder: Path, started_at: str) -> ClusterData:
    """A snapshot or scenario folder (with manifest.json); one with no node is an input error."""
    from auditor.manifest import load_cluster_folder

    manifest, states = load_cluster_folder(folder)
    if not states:
        raise InputError("the manifest lists no nodes", source=str(folder / "manifest.json"))
    return ClusterData(states=states, declared=manifest.declared, name=manifest.name or folder.name,
                       kind="snapshot", label=str(folder), started_at=started_at)


def collect_live(inventory: Inventory, profile: Profile, security: SecurityOptions, events: CollectionEvents,
                 inventory_path: Path, previous_seconds: Mapping[str, float] | None = None) -> ClusterData:
    """Collect every node of ``inventory`` now (one remote command per node), the slowest of
    the previous run first when ``previous_seconds`` says which (:mod:`auditor.collect.order`)."""
    from auditor.collect.runner import collect_cluster

    result = collect_cluster(inventory, profile, security=security, events=events,
                             previous_seconds=previous_seconds)
    return ClusterData(states=result.nodes, declared=inventory.declared, name=inventory.cluster, kind="inventory",
                       label=str(inventory_path), started_at=result.started_at,
                       node_seconds={s.name.lower(): s.seconds for s in result.stats},
                       collection_cpu_seconds=result.cpu_seconds)


__all__ = ["ClusterData", "collect_live", "read_snapshot", "require_one_source"]
