"""Finding a service by name: one rule (NodeState.services_by_name) for the checks' look-ups
(NodeState.service) and the cluster model's subsystem services (cluster._find_services)."""

from __future__ import annotations

from auditor.cluster import _find_services
from auditor.nodestate import NodeState, Service
from auditor.profile import load_profile


def _node(*services: Service) -> NodeState:
    return NodeState(name="SITE1", roles=["site"], services=list(services))


def test_names_are_case_insensitive_and_the_first_of_a_name_wins():
    first, second = Service("YSoftSQ-SPOC", state="Running"), Service("ysoftsq-spoc", state="Stopped")
    node = _node(Service("Spooler"), first, second)
    assert node.services_by_name() == {"spooler": node.services[0], "ysoftsq-spoc": first}
    assert node.service("YSOFTSQ-SPOC") is first
    assert node.service("missing") is None


def test_names_are_tried_in_the_order_given():
    a, b = Service("A"), Service("B")
    node = _node(b, a)
    assert node.service("a", "b") is a
    assert node.service("missing", "B") is b


def test_the_model_finds_a_subsystems_service_by_the_same_rule():
    profile = load_profile(None)
    spoc = profile.subsystems["spooler_controller"].services[0].name
    first, twin = Service(spoc.upper(), state="Running"), Service(spoc.lower(), state="Stopped")
    node = _node(first, twin)
    assert _find_services(node, profile)["spooler_controller"] == [first]
    assert node.service(spoc) is first
