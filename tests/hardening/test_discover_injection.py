"""The inventory ``auditor discover`` proposes is written from remote data (the seed's host
name and FQDN, its spoc.conf entries and file path, parse errors quoting the file): none of
it can end a comment line or a value and write YAML of its own (keys, nodes, a credential).
Every YAML line break (LF, CR, NEL, LS, PS) and YAML syntax is tried in each place."""

from __future__ import annotations

import pytest
import yaml

from auditor.collect.credentials import EnvRef
from auditor.collect.discover import learn_from_state, render_inventory
from auditor.collect.inventory import NodeTarget, parse_inventory
from auditor.nodestate import FileEntry, Interface, NodeState, path_key
from auditor.profile import load_profile

SEED = NodeTarget(name="mgmt1.corp.example", address="mgmt1.corp.example", roles=("management",),
                  username="CORP\\a", credential=EnvRef("PW"))
BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"]
INJECTED = "injected: {credential: {env: STOLEN}}"


def _proposal(hostname: str, fqdn: str, spoc_text: str, spoc_path: str) -> str:
    st = NodeState(name="seed", hostname=hostname, fqdn=fqdn, interfaces=[Interface("eth", ["10.0.10.11"])])
    st.files[path_key(spoc_path)] = FileEntry(path=spoc_path, content=spoc_text.encode("utf-8"))
    return render_inventory(learn_from_state(SEED, st, load_profile(None)), cluster="prod")


def _cases():
    for br in BREAKS:
        hostile = f"x{br}{INJECTED}{br}# "
        spoc = ("serverGUID=g1\r\nserverIP=10.0.10.11\r\nserverPORT=6010\r\n"
                f"serverGUID2=g2{hostile}\r\nserverIP2=10.0.10.12\r\nserverPORT2=60{hostile}\r\n")
        yield pytest.param(f"MGMT1{hostile}", f"mgmt1.corp{hostile}", spoc,
                           "C:\\DP\\SPOC\\conf\\modules\\spoc.conf", id=f"break-{ord(br[-1]):x}")
    # a line the tolerant reader keeps, with YAML syntax in every value and a parse error note
    spoc = ("serverGUID=g1\nserverIP=10.0.10.11\nserverPORT=6010\nnot key value: {a: b}\n"
            "serverGUID2='] , &a *a !!python/object:os.system\nserverIP2=10.0.10.12\nserverPORT2=&x *y # c\n")
    yield pytest.param("MGMT1: [x]", "- a: b", spoc, "C:\\DP\\SPOC\\conf\\modules\\spoc.conf", id="syntax")


@pytest.mark.parametrize("hostname,fqdn,spoc,spoc_path", list(_cases()))
def test_remote_text_cannot_inject_keys_into_the_proposed_inventory(hostname, fqdn, spoc, spoc_path):
    text = _proposal(hostname, fqdn, spoc, spoc_path)
    data = yaml.safe_load(text)
    assert sorted(data) == ["cluster", "defaults", "nodes", "version"]
    assert "STOLEN" not in repr(data["defaults"])
    assert [sorted(n) for n in data["nodes"]] == [["address", "name", "roles"]] * len(data["nodes"])
    # a host name with a line break is not proposed: the seed's address names it instead
    assert data["nodes"][0]["name"] == (hostname if hostname.isprintable() else SEED.name)
    assert [n["address"] for n in data["nodes"]] == ["mgmt1.corp.example", "10.0.10.12"]
    inv = parse_inventory(text, "proposed.yaml")
    assert [n.address for n in inv.nodes] == ["mgmt1.corp.example", "10.0.10.12"]


def test_every_line_is_a_comment_or_the_inventory_itself():
    """Remote text only ever appears in comments or in quoted values, one line each."""
    text = _proposal("MGMT1\nx: 1", "f\u2028y: 2", "serverGUID=g\x85z: 3\nserverIP=10.0.10.11\n",
                     "C:\\DP\\SPOC\\conf\\modules\\spoc.conf")
    keys = [ln.split(":", 1)[0].strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert set(keys) <= {"version", "cluster", "defaults", "transport", "scheme", "username", "credential",
                         "deadline", "nodes", "- name", "address", "roles"}
