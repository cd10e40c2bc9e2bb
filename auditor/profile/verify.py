"""``auditor profile verify``: hold the product profile against a real cluster.

The profile (auditor/profile/default.yaml) marks many facts ``assumed`` or ``inferred``: the
file the Spooler Controller keeps its Management servers in, the keys in it, the display names
of services ... On a first contact with a cluster the admin wants to know, before trusting a
single finding, which of those this cluster bears out. :func:`verify_profile` takes every
selected fact, finds how to observe it (:mod:`auditor.profile.observations`, the table next to
the facts) and asks each node it concerns (:mod:`auditor.profile.observers`): confirmed,
contradicted or could not tell, with what was seen. The audit runs it too (the report's
"Product model" section); the command only prints and writes the result.

Exit codes (:func:`exit_code_for`, docs/exit-codes.md): 0 nothing contradicted, 1 some fact
contradicted on some node, 3 some node could not be collected (wins over 1, as in
``auditor audit``: the cluster was not fully seen), 2 usage or input error, 130 interrupted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError
from auditor.profile.observations import (
    Observable,
    ProfileFact,
    Setting,
    Unobservable,
    entry_for,
    profile_facts,
)
from auditor.profile.observers import OBSERVERS
from auditor.profile.survey import Ask, Survey
from auditor.profile.verification import (
    FactOutcome,
    FactResult,
    NodeGroup,
    Observation,
    Outcome,
    Scope,
    Verification,
    fact_outcome,
)
from auditor.profile.view import Certainty, Profile
from auditor.vocab import ExitStatus, NodeStatus

if TYPE_CHECKING:
    from auditor.cluster import Cluster, NodeView
    from auditor.declared import Declarations
    from auditor.nodestate import NodeState

UNCERTAIN = (Certainty.ASSUMED, Certainty.INFERRED)


def _wild(pattern: str) -> re.Pattern[str]:
    """A ``--fact`` pattern: ``*`` any run, ``?`` one character, everything else literal (fact
    names hold brackets and backslashes); a pattern also selects the facts under it."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.strip())
    return re.compile(f"(?:{body})(?:[.\\[].*)?\\Z", re.IGNORECASE)


def select_facts(profile: Profile, scope: Scope, patterns: Sequence[str] = ()) -> list[ProfileFact]:
    """The facts to hold against the cluster: the uncertain ones (or all), narrowed by ``patterns``.

    Settings of the auditor are never product facts. A pattern that names no fact of the
    profile is an input error listing where to look (a typo must not verify nothing)."""
    every = profile_facts(profile)
    facts = [f for f in every if not isinstance((entry_for(f.key) or (None,))[0], Setting)]
    if not all(p.strip() for p in patterns):
        raise InputError("--fact needs a fact name or pattern, got an empty value")
    for p in patterns:
        if not any(_wild(p).match(f.key) for f in facts):
            setting = any(_wild(p).match(f.key) for f in every)
            raise InputError(f"--fact {p}: " + ("a setting of the auditor, not a product fact" if setting else
                             "no product fact of the profile matches it (list them with 'auditor profile verify "
                             "--all ...' or see auditor/profile/default.yaml)"))
    if patterns:
        rules = [_wild(p) for p in patterns]
        facts = [f for f in facts if any(r.match(f.key) for r in rules)]
    if scope is Scope.UNCERTAIN:
        facts = [f for f in facts if f.certainty in UNCERTAIN]
    return facts


@cache
def _reliance() -> tuple[tuple[str, str], ...]:
    """(profile key, check id) for every fact a check says it relies on (``RELIES_ON``)."""
    from auditor.checks import all_checks

    return tuple((key, mod.META.id) for mod in all_checks() for key in getattr(mod, "RELIES_ON", ()))


def relied_on_by(fact: str) -> tuple[str, ...]:
    """The checks whose findings trust ``fact`` (they name it, or a section or entry holding it)."""
    return tuple(sorted({check for key, check in _reliance()
                         if fact == key or fact.startswith((key + ".", key + "["))}))


def _text(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value))
    return str(value)


def _not_collected(node: NodeView) -> Observation:
    return Observation(Outcome.COULD_NOT_TELL, f"node not collected ({node.state.status})")


def _note(groups: Sequence[NodeGroup]) -> str:
    if not groups:
        return "no node of this cluster is concerned (the subsystem runs on none of the collected nodes?)"
    confirmed = sum(len(g.nodes) for g in groups if g.outcome is Outcome.CONFIRMED)
    contradicted = sum(len(g.nodes) for g in groups if g.outcome is Outcome.CONTRADICTED)
    if confirmed and contradicted:
        return (f"the nodes disagree (confirmed on {confirmed}, contradicted on {contradicted}): compare them "
                "before changing the profile; the contradicted ones may have drifted")
    return ""


def verify_fact(survey: Survey, fact: ProfileFact) -> FactResult:
    """One fact held against the nodes of ``survey``."""
    found = entry_for(fact.key)
    common = {"fact": fact.key, "value": _text(fact.value), "certainty": fact.certainty,
              "relied_on_by": relied_on_by(fact.key)}
    if found is None or isinstance(found[0], Setting):
        return FactResult(**common, looks_for="no way to observe this fact is defined",
                          outcome=FactOutcome.UNVERIFIABLE)
    entry, params = found
    if isinstance(entry, Unobservable):
        return FactResult(**common, looks_for=entry.reason, outcome=FactOutcome.UNVERIFIABLE)
    assert isinstance(entry, Observable)
    ask = Ask(survey, fact, entry, params)
    observer = OBSERVERS[entry.observe]
    seen: dict[Observation, list[str]] = {}
    observe = observer.observe
    for node in observer.concerns(ask):
        if node.state.status is not NodeStatus.OK:
            obs = _not_collected(node)
        else:
            try:
                obs = observe(ask, node)
            except Exception as exc:  # noqa: BLE001 - one odd node or fact must not hide every other result
                obs = Observation(Outcome.COULD_NOT_TELL, f"could not be observed: {type(exc).__name__}: {exc}")
        names = seen.get(obs)
        if names is None:
            seen[obs] = [node.name]
        else:
            names.append(node.name)
    order = {o: i for i, o in enumerate((Outcome.CONTRADICTED, Outcome.CONFIRMED, Outcome.COULD_NOT_TELL))}
    groups = tuple(NodeGroup(obs.outcome, obs.seen, tuple(names))
                   for obs, names in sorted(seen.items(), key=lambda kv: (order[kv[0].outcome], -len(kv[1]))))
    return FactResult(**common, looks_for=ask.looks_for(), outcome=fact_outcome(groups), groups=groups,
                      note=_note(groups))


def verify_profile(cluster: Cluster, *, scope: Scope = Scope.UNCERTAIN, facts: Sequence[str] = (),
                   only_nodes: Iterable[str] | None = None) -> Verification:
    """Every selected fact of ``cluster.profile`` held against the nodes of ``cluster``.

    ``facts``: ``--fact`` patterns; ``only_nodes``: canonical node names the results cover
    (the whole cluster model is still there for what needs it)."""
    wanted = {n.lower() for n in only_nodes} if only_nodes else None
    nodes = [n for n in cluster.nodes if wanted is None or n.name.lower() in wanted]
    survey = Survey(cluster, nodes)
    results = tuple(verify_fact(survey, f) for f in select_facts(cluster.profile, scope, facts))
    return Verification(
        profile=cluster.profile.label, scope=scope, nodes_total=len(nodes),
        not_collected=tuple(n.name for n in nodes if not n.reachable), facts=results,
        only_nodes=tuple(n.name for n in nodes) if wanted is not None else (), only_facts=tuple(facts))


def verify_states(states: Sequence[NodeState], profile: Profile, declared: Declarations | None = None, *,
                  scope: Scope = Scope.UNCERTAIN, facts: Sequence[str] = (),
                  only_nodes: Iterable[str] | None = None) -> Verification:
    """:func:`verify_profile` on collected node states (the cluster model is built here)."""
    from auditor.cluster import Cluster

    return verify_profile(Cluster.build(list(states), profile, declared), scope=scope, facts=facts,
                          only_nodes=only_nodes)


VERIFY_DOCUMENT = "paragon-auditor-profile-verify"


def verification_document(verification: Verification, *, source_kind: str, source: str, cluster: str,
                          generated_at: str) -> dict[str, Any]:
    """What ``auditor profile verify --json`` writes: the verification (the ``product_model``
    object of report.json, docs/report-schema.md) and where it came from."""
    from auditor import __version__

    return {"document": VERIFY_DOCUMENT, "tool_version": __version__, "generated_at": generated_at,
            "source_kind": source_kind, "source": source, "cluster": cluster, **verification.to_dict()}


def exit_code_for(verification: Verification) -> ExitStatus:
    """3 when a node could not be collected, else 1 when a fact was contradicted, else 0."""
    if verification.not_collected:
        return ExitStatus.UNREACHABLE
    if verification.contradicted:
        return ExitStatus.FINDINGS
    return ExitStatus.OK


__all__ = ["UNCERTAIN", "VERIFY_DOCUMENT", "exit_code_for", "relied_on_by", "select_facts", "verification_document",
           "verify_fact", "verify_profile", "verify_states"]
