"""Build the add-management cluster offline with knobs turned, and evaluate a precheck over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auditor.declared import Declarations, NodeDeclarations
from auditor.expectations import ExpectationSource, Expected
from auditor.lab.scenario_builder import NodeSpec, build_node, healthy_specs, mgmt_specs
from auditor.nodestate import NodeState
from auditor.precheck.evaluate import evaluate
from auditor.precheck.model import Change, ConditionResult, Verdict
from auditor.precheck.situation import Situation
from auditor.profile import load_profile

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
LAB_PASSWORD_ENV, SERVICE_PASSWORD_ENV = "PRECHECK_TEST_LAB_PW", "PRECHECK_TEST_SVC_PW"
PROFILE = load_profile()
NEW = "MGMT3"


def specs() -> tuple[list, list[NodeSpec], NodeSpec]:
    """The 2 + 2 cluster's specs and MGMT3 with nothing installed."""
    mgmts, nodes = healthy_specs(sites=2, managements=2)
    new = mgmt_specs(3)[2]
    return mgmts, nodes, NodeSpec(name=new.name, ip=new.ip, roles=["management"], installed=False)


def states(tune: Callable[[dict[str, NodeSpec]], None] | None = None,
           after: Callable[[dict[str, NodeState]], None] | None = None) -> list[NodeState]:
    """Every node's state; ``tune`` turns the specs' knobs, ``after`` edits the built states."""
    mgmts, nodes, new = specs()
    by_name = {s.name: s for s in [*nodes, new]}
    if tune is not None:
        tune(by_name)
    built = {name: build_node(spec, mgmts) for name, spec in by_name.items()}
    for name, state in built.items():
        state.roles = list(by_name[name].roles)
    if after is not None:
        after(built)
    return list(built.values())


def situation(change: Change = Change.ADD_MANAGEMENT, **kw) -> Situation:
    target = kw.pop("target", None)
    nodes = states(**kw)
    new = next(s for s in nodes if s.name == NEW)
    if change is Change.UPDATE:
        nodes = [s for s in nodes if s.name != NEW]
    declared = Declarations(nodes={NEW: NodeDeclarations(guid=mgmt_specs(3)[2].guid, bound_ip=new.interfaces[0].ipv4[0])})
    s = Situation(change, nodes, PROFILE, declared, new_name=NEW if change is Change.ADD_MANAGEMENT else None,
                  target=Expected(target, ExpectationSource.DECLARED, "--to") if target else None)
    if change is Change.ADD_MANAGEMENT:
        s.new_probes = dict(new.probes)
    return s


def result(condition: str, change: Change = Change.ADD_MANAGEMENT, **kw) -> ConditionResult:
    return next(r for r in evaluate(situation(change, **kw)) if r.condition.id == condition)


def verdicts(change: Change = Change.ADD_MANAGEMENT, **kw) -> dict[str, Verdict]:
    return {r.condition.id: r.verdict for r in evaluate(situation(change, **kw))}
