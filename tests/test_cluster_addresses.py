"""The address other nodes must use for a node is its own interface address, never the
endpoint the auditor reached it through (a lab port on 127.0.0.1, an SSH tunnel...)."""

from __future__ import annotations

from auditor.cluster import Cluster
from auditor.nodestate import Interface, NodeState
from auditor.profile import load_profile


def _view(address: str, interfaces: list[str]):
    st = NodeState(name="MGMT1", roles=["management"], address=address,
                   interfaces=[Interface(name="e0", ipv4=interfaces)] if interfaces else [])
    return Cluster.build([st], load_profile(None)).nodes[0]


def test_loopback_endpoint_is_not_the_node_address():
    v = _view("127.0.0.1", ["10.0.10.11"])
    assert v.ips() == ["10.0.10.11"]
    assert v.primary_ip() == "10.0.10.11"


def test_inventory_ip_is_preferred_when_it_is_one_of_the_interfaces():
    v = _view("10.0.10.12", ["10.0.10.11", "10.0.10.12"])
    assert v.primary_ip() == "10.0.10.12"


def test_inventory_ip_used_only_when_no_interfaces_were_reported():
    assert _view("10.0.10.11", []).primary_ip() == "10.0.10.11"
    assert _view("127.0.0.1", []).primary_ip() is None
