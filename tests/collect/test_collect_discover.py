"""Discovery from collected seed data (no network): spoc.conf server list -> proposed inventory."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.credentials import EnvRef
from auditor.collect.discover import learn_from_state, parse_spoc_servers, render_inventory
from auditor.collect.inventory import NodeTarget, parse_inventory
from auditor.nodestate import FileEntry, Interface, NodeState, path_key
from auditor.profile import load_profile

SPOC = "C:\\DP\\SPOC\\conf\\modules\\spoc.conf"


def seed_state(spoc: bytes) -> NodeState:
    st = NodeState(name="seed", hostname="MGMT1", fqdn="mgmt1.corp.example",
                   interfaces=[Interface("eth", ["10.0.10.11"])])
    st.files[path_key(SPOC)] = FileEntry(path=SPOC, content=spoc)
    return st


SEED = NodeTarget(name="mgmt1.corp.example", address="mgmt1.corp.example", roles=("management",),
                  username="CORP\\a", credential=EnvRef("PW"))


def test_learns_other_management_servers_and_renders_valid_yaml():
    spoc = (b"# list\r\nserverGUID=g1\r\nserverIP=10.0.10.11\r\nserverPORT=6010\r\n"
            b"serverGUID2=g2\r\nserverIP2=10.0.10.12\r\nserverPORT2=6010\r\nserverGUID3=g3\r\nserverIP3=10.0.10.13\r\n")
    disc = learn_from_state(SEED, seed_state(spoc), load_profile(None))
    assert [(s.ip, s.is_seed) for s in disc.servers] == [("10.0.10.11", True), ("10.0.10.12", False),
                                                         ("10.0.10.13", False)]
    text = render_inventory(disc, cluster="prod")
    assert "Site servers CANNOT be learned" in text
    assert "{env: PW}" in text
    inv = parse_inventory(text, "proposed.yaml")
    assert [n.name for n in inv.nodes] == ["MGMT1", "10.0.10.12", "10.0.10.13"]
    assert inv.nodes[0].address == "mgmt1.corp.example"


def test_unparsable_spoc_conf_still_proposes_with_a_note():
    spoc = b"serverIP=10.0.10.11\nthis line is not key value\nserverIP2=10.0.10.12\n"
    disc = learn_from_state(SEED, seed_state(spoc), load_profile(None))
    assert [s.ip for s in disc.servers] == ["10.0.10.11", "10.0.10.12"]
    assert any("does not parse cleanly" in n for n in disc.notes)
    assert "# note: spoc.conf does not parse cleanly" in render_inventory(disc, cluster="c")


def test_no_spoc_conf_lists_only_the_seed():
    st = NodeState(name="seed", hostname="MGMT1")
    disc = learn_from_state(SEED, st, load_profile(None))
    inv = parse_inventory(render_inventory(disc, cluster="c"), "p.yaml")
    assert [n.name for n in inv.nodes] == ["MGMT1"]
    assert disc.notes


def test_tolerant_reader_keeps_last_value_and_skips_comments():
    servers = parse_spoc_servers("; c\nserverIP=1.1.1.1\nserverIP=2.2.2.2\n#serverIP2=3.3.3.3\n")
    assert [(s.index, s.ip) for s in servers] == [(1, "2.2.2.2")]


def test_site_server_seed_is_proposed_as_a_site_not_a_management_server():
    # QA: a Site server's spoc.conf lists the Management servers, so discovery works from it,
    # but the seed itself was written with roles: [management]
    from importlib import resources

    from auditor.manifest import load_cluster_folder

    drift = Path(str(resources.files("auditor.lab").joinpath("scenarios"))) / "drift"
    states = {s.name: s for s in load_cluster_folder(drift)[1]}
    site_seed = NodeTarget(name="site1.corp.example", address="10.0.20.11", roles=("management",),
                           username="CORP\\a", credential=EnvRef("PW"))
    disc = learn_from_state(site_seed, states["SITE1"], load_profile(None))
    assert disc.seed_role == "site"
    assert any("runs no Management Service" in n for n in disc.notes)
    assert not any("does not appear in its own spoc.conf" in n for n in disc.notes)
    inv = parse_inventory(render_inventory(disc, cluster="c"), "p.yaml")
    seed_node = next(n for n in inv.nodes if n.address == "10.0.20.11")
    assert seed_node.roles == ("site",)
    assert all(n.roles == ("management",) for n in inv.nodes if n is not seed_node)

    mgmt = learn_from_state(SEED, states["MGMT1"], load_profile(None))
    assert mgmt.seed_role == "management"
    assert not any("Management Service" in n for n in mgmt.notes)


def test_without_a_kerberos_ticket_or_a_user_discover_says_both_ways(tmp_path):
    """No --username and no ticket (the suite's Kerberos points at an empty cache): NTLM needs a
    user, and the message says how Kerberos would have been used instead; nothing is contacted."""
    res = CliRunner().invoke(main, ["discover", "--seed", "mgmt1.corp.example", "--out", str(tmp_path / "x.yaml")])
    assert res.exit_code == 2
    assert "--username is required for transport ntlm (no usable Kerberos ticket: " in res.output
    assert "run kinit user@REALM to use Kerberos" in res.output
    assert not (tmp_path / "x.yaml").exists()
