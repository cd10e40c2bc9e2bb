"""Node folder format: round trip, case-insensitive lookup, and refusal of unsafe paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.manifest import load_cluster_folder, load_manifest
from auditor.nodefolder import find_file, load_node, save_node, windows_to_relative
from auditor.nodestate import FileEntry, NodeState, path_key

SCENARIOS = Path(__file__).resolve().parents[1] / "auditor" / "lab" / "scenarios"


def test_scenario_round_trips_byte_for_byte(tmp_path):
    src = SCENARIOS / "drift" / "mgmt1"
    state = load_node(src)
    save_node(state, tmp_path / "copy")
    again = load_node(tmp_path / "copy")
    assert again.facts_dict() == state.facts_dict()
    assert {k: v.content for k, v in again.files.items()} == {k: v.content for k, v in state.files.items()}
    assert (tmp_path / "copy" / "node.json").read_bytes() == (src / "node.json").read_bytes()


def test_lookup_is_case_insensitive_like_ntfs():
    node = SCENARIOS / "healthy" / "mgmt1"
    hit = find_file(node, "c:\\dispatcherparagon\\spoc\\CONF\\modules\\SPOC.CONF")
    assert hit is not None
    assert hit.name == "spoc.conf"
    assert find_file(node, "C:\\DispatcherParagon\\nothing.txt") is None
    state = load_node(node)
    assert state.file("C:/DISPATCHERPARAGON/SPOC/conf/modules/spoc.conf") is not None


@pytest.mark.parametrize(
    "bad",
    ["C:\\..\\..\\etc\\passwd", "C:\\a\\..\\b", "\\\\server\\share\\x", "relative\\x", "C:\\a\\b:stream", "C:\\"],
)
def test_unsafe_windows_paths_are_refused(bad):
    with pytest.raises(InputError):
        windows_to_relative(bad)


def test_save_refuses_remote_path_escaping(tmp_path):
    st = NodeState(name="evil")
    p = "C:\\..\\escape.txt"
    st.files[path_key(p)] = FileEntry(path=p, content=b"x")
    with pytest.raises(InputError):
        save_node(st, tmp_path / "n")
    assert not (tmp_path / "escape.txt").exists()


def test_bad_node_json_names_file_and_line(tmp_path):
    (tmp_path / "node.json").write_text('{\n "format": "paragon-auditor-node",\n "version": 1,,\n}')
    with pytest.raises(InputError) as exc:
        load_node(tmp_path)
    assert "node.json:3" in str(exc.value)


def test_newer_node_format_is_refused(tmp_path):
    (tmp_path / "node.json").write_text(json.dumps({"format": "paragon-auditor-node", "version": 99}))
    with pytest.raises(InputError, match="unsupported node format version 99"):
        load_node(tmp_path)


def test_manifest_lists_every_node_and_planted_problems(tmp_path):
    manifest, nodes = load_cluster_folder(SCENARIOS / "drift")
    assert [n.name for n in nodes] == ["MGMT1", "MGMT2", "SITE1", "SITE2"]
    assert nodes[0].roles == ["management"]
    assert nodes[2].roles == ["site"]
    assert {(p["check_id"], p["node"]) for p in manifest.planted} >= {("IMS-REPO-SHARED", "MGMT2")}
    shutil.copytree(SCENARIOS / "drift", tmp_path / "d")
    m = json.loads((tmp_path / "d" / "manifest.json").read_text())
    m["nodes"][0]["folder"] = "../outside"
    (tmp_path / "d" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(InputError, match="unsafe folder name"):
        load_manifest(tmp_path / "d")
