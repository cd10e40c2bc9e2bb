"""``auditor discover`` proposes the declarations (docs/inventory.md) from what the seed holds,
commented out for review: uncommented, they load as the inventory's declarations; remote text
in them can neither end the comment nor inject keys, commented or uncommented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from auditor.collect.credentials import EnvRef
from auditor.collect.discover import learn_from_state, render_inventory
from auditor.collect.inventory import NodeTarget, parse_inventory
from auditor.declared import DatabaseDeclaration, NodeDeclarations
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, NodeState, path_key
from auditor.profile import load_profile

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
SEED = NodeTarget(name="mgmt1", address="10.0.10.11", roles=("management",), username="CORP\\a",
                  credential=EnvRef("PW"))
MGMT_CONF = "C:\\DispatcherParagon\\Management\\conf\\management.properties"
DECLARATION = re.compile(r"^(\s*)# ((guid|cml_port|bound_ip|database|ims_repository|expected_version|"
                         r"ims_service_account): .*)$")


def seed_state() -> NodeState:
    return {s.name: s for s in load_cluster_folder(SCENARIOS / "drift")[1]}["MGMT1"]


def proposal(state: NodeState) -> str:
    return render_inventory(learn_from_state(SEED, state, load_profile(None)), cluster="prod")


def uncommented(text: str) -> str:
    return "\n".join(DECLARATION.sub(r"\1\2", line) for line in text.splitlines()) + "\n"


def test_proposals_are_comments_until_reviewed():
    assert parse_inventory(proposal(seed_state()), "proposed.yaml").declared.empty


def test_uncommented_proposals_are_the_seeds_identity():
    declared = parse_inventory(uncommented(proposal(seed_state())), "proposed.yaml").declared
    assert declared.node("MGMT1") == NodeDeclarations(guid="6f1c2a01-3b7e-4c1d-9a55-000000000001", cml_port=6010,
                                                      bound_ip="10.0.10.11")


def test_other_servers_are_proposed_from_the_seeds_spoc_conf():
    declared = parse_inventory(uncommented(proposal(seed_state())), "proposed.yaml").declared
    assert declared.node("10.0.10.12") == NodeDeclarations(guid="6f1c2a02-3b7e-4c1d-9a55-000000000002",
                                                           cml_port=6010, bound_ip="10.0.10.12")


def test_cluster_declarations_are_proposed_from_the_seed():
    declared = parse_inventory(uncommented(proposal(seed_state())), "proposed.yaml").declared
    assert (declared.database, declared.ims_repository, declared.expected_version, declared.ims_service_account) == (
        DatabaseDeclaration(db_class="PGSQL", host="localhost", port=5433),
        "\\\\fs01.corp.example\\paragon\\ims-repository", "6.0.112.4", "CORP\\svc-paragon")


def test_each_proposal_says_where_it_was_read():
    assert "# guid: 6f1c2a02-3b7e-4c1d-9a55-000000000002   # from the seed's spoc.conf entry 2" in proposal(seed_state())


def hostile_seed() -> NodeState:
    st = seed_state()
    entry = st.file(MGMT_CONF)
    hostile = "g\u2028injected: {credential: {env: STOLEN}}\u2028# "
    text = entry.content.decode().replace("localGUID=6f1c2a01-3b7e-4c1d-9a55-000000000001",
                                          "localGUID=" + hostile.encode("unicode_escape").decode())
    st.files[path_key(MGMT_CONF)] = FileEntry(path=entry.path, content=text.encode(), mtime=entry.mtime)
    st.service("YSoftIms").account = "CORP\\svc\ninjected: {credential: {env: STOLEN}}"
    return st


def test_remote_text_cannot_inject_keys_while_commented():
    data = yaml.safe_load(proposal(hostile_seed()))
    assert (sorted(data), [sorted(n) for n in data["nodes"]]) == (
        ["cluster", "defaults", "nodes", "version"], [["address", "name", "roles"]] * 2)


def test_remote_text_cannot_inject_keys_once_uncommented():
    data = yaml.safe_load(uncommented(proposal(hostile_seed())))
    assert "STOLEN" not in repr(data["defaults"])
    assert "injected" not in data
    assert "injected" in data["ims_service_account"]  # the hostile text is a value, nothing more
