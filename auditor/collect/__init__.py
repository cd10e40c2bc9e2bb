"""Collection: inventory, credential references, the concurrent runner, snapshots, discovery.

Public API (see docs/inventory.md)::

    inv = load_inventory("cluster.yaml")
    result = collect_cluster(inv, load_profile(None), security=SecurityOptions())
    write_snapshot(result, inv, profile, Path("snap"))
"""

from auditor.collect.credentials import (
    Credentials,
    EnvRef,
    KeyringRef,
    PromptRef,
    Secret,
    resolve_credentials,
    resolve_reference,
)
from auditor.collect.host_identity import hostname_mismatch
from auditor.collect.inventory import Inventory, NodeTarget, load_inventory, parse_inventory
from auditor.collect.results import CollectionResult, NodeStats
from auditor.collect.runner import collect_cluster
from auditor.collect.security import SecurityOptions, check_security
from auditor.collect.snapshot import prepare_out_dir, write_snapshot

__all__ = [
    "CollectionResult",
    "Credentials",
    "EnvRef",
    "Inventory",
    "KeyringRef",
    "NodeStats",
    "NodeTarget",
    "PromptRef",
    "Secret",
    "SecurityOptions",
    "check_security",
    "collect_cluster",
    "hostname_mismatch",
    "load_inventory",
    "parse_inventory",
    "prepare_out_dir",
    "resolve_credentials",
    "resolve_reference",
    "write_snapshot",
]
