"""Property-based and fuzz tests for every parser and loader of untrusted or hand-written input.

The contract checked for each: whatever the bytes, the only exception is the documented one
(``InputError`` / its subclass ``ParseError`` for files, ``ProtocolError`` for the raw output
line, ``RemoteError`` of kind ``protocol`` for a decoded response), and the error names the
file (and the line, where the format has lines and the problem is on one).

Two kinds of input per loader: random bytes/text (finds crashes in the tokenizer) and
*mutations of a valid document* (one value replaced by any JSON/YAML value, one key dropped
or added), which reaches the validation code behind the tokenizer.

Example counts are modest and the runs derandomized, so the suite stays fast and repeatable.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from auditor.collect.inventory import parse_inventory
from auditor.errors import InputError
from auditor.manifest import load_cluster_folder, load_manifest
from auditor.nodefolder import load_node
from auditor.parsers import (
    ParseError,
    SpocConfDocument,
    app_settings,
    parse_properties,
    remote_conf_properties,
)
from auditor.parsers.xmlconf import parse_xml
from auditor.profile import load_profile
from auditor.remote import RemoteError, node_state_from_response
from auditor.remote.protocol import ProtocolError, encode_output, parse_output
from auditor.vocab import NodeStatus
from auditor.waivers import parse_waivers

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
DRIFT = SCENARIOS / "drift"
MGMT1_FILES = DRIFT / "mgmt1" / "files" / "c" / "DispatcherParagon"

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, derandomize=True,  # each example runs a whole audit
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# ---- strategies ------------------------------------------------------------------------------

NASTY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | \
    st.sampled_from(["", "\x00", "..\\..\\x", "CON", "<script>", "]]>", "=cmd|' /C calc'!A0", "\ufeff",
                     "\r\n", "9" * 400, "-1", "1e309", "null", "~", "*"])
JSON_SCALARS = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | \
    st.floats(allow_nan=False) | NASTY_TEXT
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(NASTY_TEXT, inner, max_size=3), max_leaves=8)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw, base: Any, values: st.SearchStrategy = JSON_VALUES) -> Any:
    """``base`` with one to three random edits: replace a subtree, drop a key, add a key."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        depth = draw(st.integers(0, 4))  # shallow edits as likely as deep ones
        paths = [p for p in _paths(doc) if len(p) <= depth] or [()]
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if not path:
            if action == "replace":
                doc = draw(values)
            continue
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        last = path[-1]
        if action == "replace":
            parent[last] = draw(values)
        elif action == "drop":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(NASTY_TEXT)] = draw(values)
        else:
            parent.insert(last, draw(values))
    return doc


def _bytes_mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """Random splices of ``data``: cut, insert random bytes, flip one byte."""

    @st.composite
    def strat(draw):
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, len(b)))
            op = draw(st.sampled_from(["cut", "insert", "flip", "truncate"]))
            if op == "cut":
                del b[pos:pos + draw(st.integers(1, 30))]
            elif op == "insert":
                b[pos:pos] = draw(st.binary(min_size=1, max_size=12) |
                                  st.sampled_from([b"<", b"]]>", b"&", b"<!DOCTYPE x>", b"\x00", b"\xff\xfe",
                                                   b"=", b"\\u12", b"\\", b"\r", b"\n"]))
            elif op == "flip" and b:
                b[min(pos, len(b) - 1)] ^= draw(st.integers(1, 255))
            elif op == "truncate":
                del b[pos:]
        return bytes(b)

    return strat()


def _expect_parse_error_or_nothing(fn, data: bytes, source: str) -> Any:
    try:
        return fn(data, source)
    except ParseError as exc:
        assert exc.source == source
        assert str(exc).startswith(f"{source}:")
        # every problem in these line-based formats is on a line, and the message says which
        assert exc.line is not None, exc
        assert 1 <= exc.line <= max(1, data.count(b"\n") + data.count(b"\r") + 1)
        return None


# ---- configuration file parsers --------------------------------------------------------------

SPOC = (MGMT1_FILES / "SPOC" / "conf" / "modules" / "spoc.conf").read_bytes()
PROPS = (MGMT1_FILES / "Management" / "conf" / "management.properties").read_bytes()
REMOTE_CONF = (MGMT1_FILES / "SPOC" / "conf" / "remoteConfImg.xml").read_bytes()
EXE_CONFIG = (MGMT1_FILES / "WPS" / "WpsService.exe.config").read_bytes()


@FUZZ
@given(st.binary(max_size=400) | _bytes_mutations(SPOC))
def test_spoc_conf_only_parse_error(data):
    doc = _expect_parse_error_or_nothing(SpocConfDocument, data, "spoc.conf")
    if doc is not None:
        doc.servers()
        doc.server_key_problems()
        assert doc.render() == data  # untouched documents are byte-identical


@FUZZ
@given(st.binary(max_size=400) | _bytes_mutations(PROPS))
def test_properties_only_parse_error(data):
    doc = _expect_parse_error_or_nothing(parse_properties, data, "management.properties")
    if doc is not None:
        assert doc.render() == data
        for key in list(doc.keys())[:5] if hasattr(doc, "keys") else []:
            doc.get(key)


@FUZZ
@given(st.binary(max_size=300) | _bytes_mutations(REMOTE_CONF) | _bytes_mutations(EXE_CONFIG))
def test_xml_only_parse_error(data):
    for fn, source in ((remote_conf_properties, "remoteConfImg.xml"), (app_settings, "WpsService.exe.config"),
                       (parse_xml, "x.xml")):
        _expect_parse_error_or_nothing(fn, data, source)


def test_xml_entity_bomb_and_external_entity_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><c>&b;</c>'
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    for data in (bomb, xxe, b"\xef\xbb\xbf" + bomb, bomb.decode().encode("utf-16")):
        with pytest.raises(ParseError, match="DOCTYPE"):
            remote_conf_properties(data, "remoteConfImg.xml")


# ---- node.json, manifest.json, snapshot folders --------------------------------------------

NODE_JSON = json.loads((DRIFT / "mgmt1" / "node.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((DRIFT / "manifest.json").read_text(encoding="utf-8"))


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode("utf-8"))


@FUZZ
@given(mutated(NODE_JSON) | st.binary(max_size=200))
def test_node_json_only_input_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("node")
    _write(folder / "node.json", data)
    try:
        state = load_node(folder, name="N1")
    except InputError as exc:
        assert exc.source, exc
        assert exc.source.endswith("node.json"), exc
        return
    state.facts_dict()  # what a snapshot writes back must be serialisable


WRONG_TYPES = [5, "x", [1], {"a": 5}, True, [{"x": 1}], 1.5]


@pytest.mark.parametrize("key", sorted(set(NODE_JSON) - {"format", "version"}
                                       | {"file_errors", "missing_files", "probes", "collected_at"}))
def test_node_json_every_key_with_every_wrong_type(tmp_path, key):
    """Type confusion, systematically: each top-level key and each first-level item."""
    for n, value in enumerate(WRONG_TYPES):
        for variant in ("key", "item"):
            data = copy.deepcopy(NODE_JSON)
            if variant == "key":
                data[key] = value
            elif isinstance(data.get(key), list) and data[key]:
                data[key][0] = value
            elif isinstance(data.get(key), dict) and data[key]:
                data[key][next(iter(data[key]))] = value
            else:
                continue
            folder = tmp_path / f"{n}-{variant}"
            _write(folder / "node.json", data)
            try:
                load_node(folder, name="N1").facts_dict()
            except InputError as exc:
                assert exc.source == str(folder / "node.json"), exc


@pytest.mark.parametrize("key", ["name", "folder", "address", "roles", "status", "reason", "lab"])
def test_manifest_node_entry_with_every_wrong_type(tmp_path, key):
    shutil.copytree(DRIFT, tmp_path / "c")
    for value in WRONG_TYPES:
        data = copy.deepcopy(MANIFEST)
        data["nodes"][0][key] = value
        _write(tmp_path / "c" / "manifest.json", data)
        try:
            load_cluster_folder(tmp_path / "c")
        except InputError as exc:
            assert "manifest.json" in (exc.source or "") or "node.json" in (exc.source or ""), exc


@FEW
@given(mutated(MANIFEST) | st.binary(max_size=200))
def test_manifest_only_input_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("cluster")
    for node in MANIFEST["nodes"]:
        shutil.copytree(DRIFT / node["folder"], folder / node["folder"])
    _write(folder / "manifest.json", data)
    try:
        load_manifest(folder)
        load_cluster_folder(folder)
    except InputError as exc:
        assert exc.source, exc
        assert ("manifest.json" in exc.source or "node.json" in exc.source
                or exc.source == str(folder)), exc


@FEW
@given(st.sampled_from(["files/readme.txt", "files/cc/x", "files/c", "files/c/.", "files/c/a\\b",
                        "node.json/x", "files/c/x\x01y"]),
       st.binary(max_size=30))
def test_snapshot_folder_with_odd_files(tmp_path_factory, rel, content):
    """Stray or oddly named files in a snapshot: an InputError naming the folder, or loaded."""
    folder = tmp_path_factory.mktemp("snap")
    shutil.copytree(DRIFT, folder, dirs_exist_ok=True)
    target = folder / "site1" / rel
    if rel == "files/c":
        shutil.rmtree(folder / "site1" / "files" / "c")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    except (OSError, NotADirectoryError):
        return
    try:
        load_cluster_folder(folder)
    except InputError as exc:
        assert "site1" in str(exc) or "node.json" in str(exc), exc


def test_audit_from_broken_snapshot_is_one_line_exit_2(tmp_path):
    from auditor.cli import main

    folder = tmp_path / "snap"
    shutil.copytree(DRIFT, folder)
    (folder / "site1" / "node.json").write_text('{"format": "paragon-auditor-node", "version": 1,\n "services": 5}')
    result = CliRunner().invoke(main, ["audit", "--from", str(folder), "--out", str(tmp_path / "o"), "--no-history"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "node.json" in result.output
    assert "Traceback" not in result.output


# ---- YAML inputs: inventory, waivers, profile override -------------------------------------

INVENTORY = {
    "version": 1, "cluster": "c1",
    "defaults": {"transport": "ntlm", "scheme": "https", "username": "CORP\\audit",
                 "credential": {"env": "PW_VAR"}, "deadline": 30, "concurrency": 4},
    "nodes": [{"name": "MGMT1", "address": "mgmt1.corp.example", "roles": ["management"]},
              {"name": "SITE1", "address": "10.0.0.5", "roles": ["site"], "port": 5986, "retries": 0}],
}
YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 70000) | st.floats(allow_nan=True) | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3), max_leaves=6)


def _yaml_text(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@FUZZ
@given(mutated(INVENTORY, YAML_VALUES).map(_yaml_text) | st.text(max_size=200))
def test_inventory_only_input_error_with_line(tmp_path_factory, text):
    try:
        parse_inventory(text, "cluster.yaml", base_dir=tmp_path_factory.mktemp("inv"))
    except InputError as exc:
        assert exc.source == "cluster.yaml"
        assert exc.line is not None, exc
        assert exc.line >= 1, exc  # docs/inventory.md: FILE:LINE: message
        assert str(exc).startswith(f"cluster.yaml:{exc.line}: ")


WAIVERS = {"waivers": [
    {"check": "DB-EXTERNAL", "node": "MGMT1", "reason": "migration ticket 42", "owner": "ops",
     "expires": "2030-01-31"},
    {"check": "SPOC-*", "reason": "r", "owner": "o", "expires": "2031-02-28", "subject": "*"},
]}


@FUZZ
@given(mutated(WAIVERS, YAML_VALUES).map(_yaml_text) | st.text(max_size=200))
def test_waivers_only_input_error_with_line(text):
    try:
        parse_waivers(text, "waivers.yaml")
    except InputError as exc:
        assert exc.source == "waivers.yaml"
        assert exc.line is not None, exc
        assert exc.line >= 1, exc


PROFILE_OVERRIDE = {
    "spoc_conf": {"guid_key": "serverGUID", "comment_prefixes": ["#", ";"]},
    "subsystems": {"management": {"files": [{"path": "conf\\*.properties", "max_bytes": 1000}],
                                  "install_dir_strip": ["\\bin"], "mandatory_on": ["management"]},
                   "spooler_controller": {"services": [{"name": "YSoftSQ-SPOC", "display_names": ["x"]}],
                                          "probe_dirs": [{"path": "conf"}]}},
    "max_file_bytes": 4096,
}


@settings(FUZZ, max_examples=100)
@given(mutated(PROFILE_OVERRIDE, YAML_VALUES).map(_yaml_text) | st.text(max_size=200))
def test_profile_override_only_input_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("prof") / "override.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_profile(path)
    except InputError as exc:
        assert exc.source == str(path) or str(path) in str(exc), exc


@SLOW
@given(mutated(PROFILE_OVERRIDE, YAML_VALUES))
def test_profile_override_request_building_never_crashes(tmp_path_factory, override):
    """A profile that loads must also build a valid collect request, or fail with InputError
    before any node is contacted (never a traceback mid-run); and the audit of a scenario
    with it completes (a check confused by odd profile values becomes an error finding)."""
    from auditor.audit import run_audit
    from auditor.remote import build_collect_request

    path = tmp_path_factory.mktemp("prof") / "override.yaml"
    path.write_text(_yaml_text(override), encoding="utf-8")
    try:
        prof = load_profile(path)
        build_collect_request(prof)
    except InputError:
        return
    _, states = load_cluster_folder(DRIFT)
    report = run_audit(states, prof, source_label=str(DRIFT), source_kind="snapshot", command_line="x")
    assert {n.name for n in report.nodes} == {"MGMT1", "MGMT2", "SITE1", "SITE2"}


# ---- the remote output line and the decoded response ----------------------------------------


def _real_collect_response() -> tuple[dict, dict]:
    """A real collect response for drift/mgmt1, produced by the lab executor for the real request."""
    from auditor.lab.executor import make_handler
    from auditor.manifest import load_manifest as lm
    from auditor.remote import build_collect_request

    request = build_collect_request(load_profile(None), request_id="fuzz-1")
    entry = next(n for n in lm(DRIFT).nodes if n.name == "MGMT1")
    handler = make_handler(entry, DRIFT / "mgmt1")
    return request, handler._execute(request, {})  # read-only for a collect request


REQUEST, RESPONSE = _real_collect_response()
LINE = encode_output(RESPONSE).encode("ascii")


def test_real_response_decodes():
    state = node_state_from_response("MGMT1", parse_output(LINE))
    assert state.status is NodeStatus.OK
    assert state.files


@FUZZ
@given(st.binary(max_size=300) | _bytes_mutations(LINE[:4000]) | _bytes_mutations(LINE))
def test_output_line_only_protocol_error(data):
    try:
        resp = parse_output(data)
    except ProtocolError as exc:
        assert str(exc)
        return
    assert isinstance(resp, dict)
    try:
        node_state_from_response("MGMT1", resp)
    except RemoteError as exc:
        assert exc.kind == "protocol"
        assert exc.message.startswith("MGMT1: ")


@FUZZ
@given(mutated(RESPONSE))
def test_decoded_response_only_remote_protocol_error(resp):
    line = encode_output(resp).encode("ascii") if isinstance(resp, dict) else b"PARAGON-AUDITOR/1 e30="
    try:
        parsed = parse_output(line)
        state = node_state_from_response("MGMT1", parsed)
    except ProtocolError:
        return
    except RemoteError as exc:
        assert exc.kind == "protocol", exc
        assert exc.message.startswith("MGMT1: ")
        return
    # decoded: everything a check reads has the declared type
    for f in state.files.values():
        assert isinstance(f.path, str)
        assert f.content is None or isinstance(f.content, bytes)
    for s in state.services:
        assert all(isinstance(getattr(s, a), str) for a in ("name", "state", "start_mode", "account"))


@FEW
@given(mutated(RESPONSE))
def test_mutated_response_then_snapshot_and_audit(tmp_path_factory, resp):
    """What the decoder accepts, the snapshot writer stores or refuses with InputError, and
    the audit of the stored snapshot runs (the check runner turns surprises into findings)."""
    from auditor.audit import run_audit
    from auditor.nodefolder import save_node

    try:
        state = node_state_from_response("MGMT1", parse_output(encode_output(resp).encode("ascii")))
    except (ProtocolError, RemoteError):
        return
    except Exception:  # a non-dict top level is not encodable: not the decoder's business
        if not isinstance(resp, dict):
            return
        raise
    folder = tmp_path_factory.mktemp("saved") / "mgmt1"
    try:
        save_node(state, folder)
    except InputError as exc:
        assert "unsafe" in str(exc) or "not a drive-letter" in str(exc) or "names a drive" in str(exc), exc
        return
    loaded = load_node(folder, name="MGMT1")
    loaded.roles = ["management"]
    run_audit([loaded], load_profile(None), source_label="fuzz", source_kind="snapshot", command_line="x")


# ---- every file loader, fed raw bytes from disk (encodings, BOMs, binary) --------------------

FILE_BYTES = st.binary(max_size=120) | st.sampled_from([
    b"\xff\xfe" + "version: 1\n".encode("utf-16-le"), b"\xef\xbb\xbfversion: 1\n", b"\x80\x81", b"\x00" * 8,
    "version: 1\ncluster: caf\u00e9\n".encode("latin-1")])


@FUZZ
@given(FILE_BYTES)
def test_file_loaders_only_input_error_naming_the_file(tmp_path_factory, data):
    from auditor.collect.inventory import load_inventory
    from auditor.waivers import load_waivers

    folder = tmp_path_factory.mktemp("files")
    path = folder / "input.yaml"
    path.write_bytes(data)
    for loader in (load_inventory, load_waivers, load_profile):
        try:
            loader(path)
        except InputError as exc:
            assert str(path) in str(exc), (loader.__name__, exc)


def test_binary_profile_is_one_line_error_in_every_command(tmp_path):
    """collect and fix load the profile before anything else: a non-UTF-8 file is exit 2."""
    from auditor.cli import main

    prof = tmp_path / "profile.yaml"
    prof.write_bytes(b"\xff\xfe\x00not utf-8")
    inv = tmp_path / "inv.yaml"
    inv.write_text("version: 1\ndefaults: {username: u, credential: {env: HX_UNSET_VAR}}\n"
                   "nodes: [{name: A, roles: [site]}]\n", encoding="utf-8")
    for args in (["collect", "--inventory", str(inv), "--out", str(tmp_path / "s")],
                 ["fix", "--inventory", str(inv)],
                 ["audit", "--inventory", str(inv), "--out", str(tmp_path / "o"), "--no-history"]):
        result = CliRunner().invoke(main, [*args, "--profile", str(prof)])
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        assert str(prof) in result.output, (args, result.output)


# ---- hostile text and shapes, end to end: reports written or one-line error -------------------
#
# Surrogates, control characters (C0, C1, ESC/CSI/OSC sequences, bidi overrides), nesting far
# deeper than any real document and numbers far longer than any real one, in node folders and
# in node answers, through the real CLI: either every report is written with every node in it
# (exit 0, 1 or 3), or the run stops with exactly one "error:" line naming the file (exit 2).
# Never a traceback.

HOSTILE_CHARS = st.sampled_from(["\x00", "\x07", "\x1b", "\x1b[2J", "\x1b]0;owned\x07", "\x9b", "\x9d", "\x85",
                                 "\u202e", "\u2066", "\u200f", "\r", "\n", "\t", "\x7f"]) | \
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(codec="utf-8")
HOSTILE_TEXT = st.lists(HOSTILE_CHARS, max_size=8).map("".join) | NASTY_TEXT
DEEP_MARK, HUGE_MARK = "@@deep-nesting@@", "@@huge-number@@"
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
HOSTILE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | HOSTILE_TEXT
    | st.sampled_from([DEEP_MARK, HUGE_MARK]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3), max_leaves=8)


@st.composite
def hostile_strings(draw, base: Any) -> Any:
    """``base`` with one to three of its text values replaced by hostile text (types kept, so
    the document passes validation and the text reaches every writer)."""
    doc = copy.deepcopy(base)
    texts = [p for p in _paths(doc) if p and isinstance(_at(doc, p), str)]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(texts))
        _at(doc, path[:-1])[path[-1]] = draw(HOSTILE_TEXT)
    return doc


def _at(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _hostile_json(data: Any) -> bytes:
    """JSON text of ``data`` with the markers spliced in raw: 100,000 nested brackets, a
    number of 5,000 digits (neither can be built by json.dumps)."""
    text = json.dumps(data)
    text = text.replace(f'"{DEEP_MARK}"', "[" * 100_000 + "]" * 100_000)
    return text.replace(f'"{HUGE_MARK}"', "9" * 5000).encode("utf-8")


# Configuration files get the same text, or a line shaped to hurt their own parser: XML nested
# 100,000 elements deep, a port of 5,000 digits, .properties escapes of lone surrogates; in
# UTF-8 (a surrogate then makes the bytes invalid UTF-8) or UTF-16 with its BOM.
CONFIG_FILES = sorted(str(p.relative_to(DRIFT)) for p in DRIFT.glob("*/files/**/*") if p.is_file())
CONFIG_LINES = HOSTILE_TEXT | st.sampled_from([
    "serverPORT1=" + "9" * 5000, "repository.path=\\ud800\\udfff", "<a>" * 100_000 + "</a>" * 100_000,
    "<property key=\"" + "\x1b]0;owned\x07" + "\" value=\"" + "9" * 5000 + "\"/>", "[" * 100_000])


@st.composite
def hostile_config(draw, original: bytes) -> bytes:
    """``original`` (a configuration file) with hostile text spliced into one of its lines (into
    a key or a value the checks read) or added as a line of its own; re-encoded."""
    lines = original.decode("utf-8").splitlines(keepends=True) or [""]
    at = draw(st.integers(0, len(lines) - 1))
    if draw(st.booleans()):
        lines.insert(at, draw(CONFIG_LINES) + "\r\n")
    else:
        pos = draw(st.integers(0, len(lines[at].rstrip("\r\n"))))
        lines[at] = lines[at][:pos] + draw(HOSTILE_TEXT) + lines[at][pos:]
    text = "".join(lines)
    if draw(st.booleans()):
        return b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass")
    return text.encode("utf-8", "surrogatepass")


@st.composite
def hostile_config_file(draw) -> tuple[str, bytes]:
    """(a configuration file of the drift snapshot, relative to it; its hostile bytes)."""
    rel = draw(st.sampled_from(CONFIG_FILES))
    return rel, draw(hostile_config((DRIFT / rel).read_bytes()))


def _audit_is_reports_or_one_line_error(snap: Path, out: Path, history: Path,
                                        expected_nodes: set[str] | None = None) -> None:
    """Every report written with every node of the manifest in it, or one error line naming
    the file; never a traceback. ``expected_nodes``: the manifest's names (default: drift's)."""
    from auditor.cli import main

    result = CliRunner().invoke(main, ["audit", "--from", str(snap), "--out", str(out), "--history", str(history),
                                       "--format", "html,json,junit,csv"])
    event(f"audit exit {result.exit_code}")  # pytest --hypothesis-show-statistics: how many got through
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exc_info
    assert "Traceback" not in result.output
    assert not TERMINAL_CONTROLS.search(result.output), result.output  # the output layer (auditor/terminal.py)
    if result.exit_code == 2:
        errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.output
        assert "node.json" in errors[0] or "manifest.json" in errors[0] or str(snap) in errors[0], errors
        return
    assert result.exit_code in (0, 1, 3), result.output
    for name in ("report.html", "report.json", "junit.xml", "findings.csv"):
        assert (out / name).is_file(), name
    names = {n["name"] for n in json.loads((out / "report.json").read_text(encoding="utf-8"))["nodes"]}
    assert names == (expected_nodes if expected_nodes is not None else {n["name"] for n in MANIFEST["nodes"]})


@SLOW
@given(mutated(NODE_JSON, HOSTILE_VALUES) | hostile_strings(NODE_JSON), st.binary(max_size=40) | HOSTILE_TEXT.map(
    lambda t: t.encode("utf-16-le", "surrogatepass")))
def test_hostile_node_folder_gives_reports_or_one_line_error(tmp_path_factory, facts, config_bytes):
    snap = tmp_path_factory.mktemp("snap")
    shutil.copytree(DRIFT, snap, dirs_exist_ok=True)
    _write(snap / "mgmt1" / "node.json", _hostile_json(facts))
    spoc = next((snap / "site1").rglob("spoc.conf"))
    spoc.write_bytes(b"\xff\xfe" + spoc.read_bytes().decode().encode("utf-16-le") + config_bytes)
    _audit_is_reports_or_one_line_error(snap, tmp_path_factory.mktemp("out"), snap / "history.sqlite")


@SLOW
@given(st.lists(hostile_config_file(), min_size=1, max_size=3))
def test_hostile_config_files_give_reports_or_one_line_error(tmp_path_factory, configs):
    """Collected configuration files of the snapshot with hostile text, XML 100,000 levels
    deep, 5,000-digit numbers, surrogates (corrupt UTF-16 or invalid UTF-8): a parse error
    is a finding, never a traceback, and every node is in every report."""
    snap = tmp_path_factory.mktemp("snap")
    shutil.copytree(DRIFT, snap, dirs_exist_ok=True)
    for rel, data in configs:
        (snap / rel).write_bytes(data)
    _audit_is_reports_or_one_line_error(snap, tmp_path_factory.mktemp("out"), snap / "history.sqlite")


@SLOW
@given(mutated(MANIFEST, HOSTILE_VALUES) | hostile_strings(MANIFEST))
def test_hostile_manifest_gives_reports_or_one_line_error(tmp_path_factory, manifest):
    """manifest.json with hostile names, reasons, statuses and shapes: either one error line
    naming it, or reports with every node the manifest lists (the names as read: valid text)."""
    snap = tmp_path_factory.mktemp("snap")
    shutil.copytree(DRIFT, snap, dirs_exist_ok=True)
    _write(snap / "manifest.json", _hostile_json(manifest))
    try:
        expected = {e.name for e in load_manifest(snap).nodes}
    except InputError:
        expected = set()  # refused by the loader: the audit must stop with the one error line
    _audit_is_reports_or_one_line_error(snap, tmp_path_factory.mktemp("out"), snap / "history.sqlite", expected)


@st.composite
def answer_with_hostile_file(draw, base: dict) -> dict:
    """``base`` (a collect answer) with one collected file's content replaced by hostile bytes."""
    import base64

    resp = copy.deepcopy(base)
    files = [f for r in resp["results"] if r["op"] == "files" for f in r["data"]["files"] if f.get("content_b64")]
    entry = draw(st.sampled_from(files))
    data = draw(hostile_config(base64.b64decode(entry["content_b64"])))
    entry["content_b64"], entry["size"] = base64.b64encode(data).decode("ascii"), len(data)
    return resp


@SLOW
@given(mutated(RESPONSE, HOSTILE_VALUES) | hostile_strings(RESPONSE) | answer_with_hostile_file(RESPONSE))
def test_hostile_node_answer_gives_reports_with_every_node(tmp_path_factory, resp):
    """A collect answer the way the client reads it (the output line, the bounded reader, the
    decoder), stored as collect stores it: a refused answer is a ``protocol`` node."""
    import base64

    from auditor.manifest import load_manifest as lm
    from auditor.manifest import save_manifest
    from auditor.nodefolder import save_node
    from auditor.remote.protocol import OUTPUT_PREFIX

    line = OUTPUT_PREFIX.encode() + base64.b64encode(_hostile_json(resp))
    snap = tmp_path_factory.mktemp("snap")
    shutil.copytree(DRIFT, snap, dirs_exist_ok=True)
    shutil.rmtree(snap / "mgmt1")
    manifest = lm(snap)
    entry = next(e for e in manifest.nodes if e.name == "MGMT1")
    try:
        state = node_state_from_response("MGMT1", parse_output(line))
        save_node(state, snap / "mgmt1")
    except ProtocolError as exc:
        entry.status, entry.reason = NodeStatus.PROTOCOL, str(exc)
    except RemoteError as exc:
        entry.status, entry.reason = NodeStatus(exc.kind), exc.message
    except InputError as exc:  # a file path the snapshot writer refuses
        entry.status, entry.reason = NodeStatus.PROTOCOL, exc.message
    save_manifest(manifest, snap)
    _audit_is_reports_or_one_line_error(snap, tmp_path_factory.mktemp("out"), snap / "history.sqlite")
