"""Snapshot writing: remote data never escapes the node folder; manifest accounts for every node."""

from __future__ import annotations

from auditor.collect.inventory import parse_inventory
from auditor.collect.runner import CollectionResult, NodeStats
from auditor.collect.snapshot import write_snapshot
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, NodeState, path_key
from auditor.profile import load_profile
from auditor.vocab import NodeStatus

INV = ("version: 1\ncluster: c\ndefaults: {username: u, credential: {env: X}}\nnodes:\n"
       "  - {name: GOOD, roles: [site]}\n  - {name: EVIL, roles: [site]}\n  - {name: '../up', address: up.example, roles: [site]}\n"
       "  - {name: DOWN, roles: [management]}\n")


def state(name: str, path: str) -> NodeState:
    st = NodeState(name=name, hostname=name, roles=["site"], collected_at="2026-01-01T00:00:00Z")
    st.files[path_key(path)] = FileEntry(path=path, content=b"x=1\r\n")
    return st


def test_unsafe_remote_paths_and_names_stay_inside(tmp_path):
    inv = parse_inventory(INV, "inv.yaml")
    nodes = [state("GOOD", "C:\\P\\a.conf"), state("EVIL", "C:\\P\\..\\..\\..\\escape.txt"),
             state("../up", "C:\\P\\b.conf"),
             NodeState(name="DOWN", roles=["management"], status="refused", reason="connection refused")]
    result = CollectionResult(nodes=nodes, started_at="s", finished_at="f",
                              stats=[NodeStats(n.name) for n in nodes])
    out = tmp_path / "snap"
    write_snapshot(result, inv, load_profile(None), out)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert all(w.startswith("snap/") for w in written), written
    assert not (tmp_path / "escape.txt").exists()
    manifest, states = load_cluster_folder(out)
    by = {s.name: s for s in states}
    assert by["GOOD"].status is NodeStatus.OK
    assert by["GOOD"].file("C:\\P\\a.conf").content == b"x=1\r\n"
    assert by["EVIL"].status is NodeStatus.PROTOCOL
    assert "unsafe" in by["EVIL"].reason
    assert by["../up"].status is NodeStatus.OK
    assert {e.folder for e in manifest.nodes} == {"good", "evil", "_up", "down"}
    assert by["DOWN"].status is NodeStatus.REFUSED
    assert not (out / "down").exists()
