"""What one verification run knows and asks: the nodes it covers (:class:`Survey`, with the
lookups every fact repeats done once per node), one fact to observe (:class:`Ask`), and which
nodes a fact is about.

The observers themselves (:mod:`auditor.profile.observers`) only read a node; everything they
share is here, so each stays a few lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from auditor.profile.observations import Document, Observable, ProfileFact
from auditor.profile.verification import Observation, Outcome
from auditor.winpath import join, path_key

if TYPE_CHECKING:
    from auditor.cluster import Cluster, NodeView
    from auditor.nodestate import Service
    from auditor.profile.view import Profile, Subsystem

KEYS_SHOWN = 12
"""Keys of a file named when a key is not there (so the admin sees what it is called instead)."""


def confirmed(seen: str) -> Observation:
    return Observation(Outcome.CONFIRMED, seen)


def contradicted(seen: str) -> Observation:
    return Observation(Outcome.CONTRADICTED, seen)


def unsure(seen: str) -> Observation:
    return Observation(Outcome.COULD_NOT_TELL, seen)


def listing(items: list[str], limit: int = KEYS_SHOWN) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" ... ({len(items)} in all)" if len(items) > limit else "") if items else "none"


class Survey:
    """One verification run over a set of nodes: the cluster model and, computed once, which
    nodes each kind of fact is about (a 5,000-node cluster asks the same question for dozens of
    facts)."""

    def __init__(self, cluster: Cluster, nodes: Sequence[NodeView]):
        self.cluster = cluster
        self.profile: Profile = cluster.profile
        self.nodes = list(nodes)
        self._memo: dict[Any, list[NodeView]] = {}
        self._paths: dict[tuple[str, str], tuple[str, str]] = {}
        self._keys: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._services: dict[str, dict[str, Service]] = {}
        self._registry: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.registry_keys = {k.lower() for k in self.profile.registry_keys}  # the keys collection reads

    def path(self, folder: str, rel: str) -> tuple[str, str]:
        """(``rel`` joined to ``folder``, its path key), once per folder and path: most nodes
        install to the same folders."""
        found = self._paths.get((folder, rel))
        if found is None:
            joined = join(folder, rel)
            found = self._paths[(folder, rel)] = (joined, path_key(joined))
        return found

    def services(self, node: NodeView) -> dict[str, Service]:
        """The node's services by lower-case short name (the first of a name, as NodeState.service)."""
        found = self._services.get(node.name)
        if found is None:
            found = self._services[node.name] = {}
            for svc in node.state.services:
                found.setdefault(svc.name.lower(), svc)
        return found

    def registry(self, node: NodeView) -> dict[str, Mapping[str, Any]]:
        """The node's collected registry keys by lower-case path."""
        found = self._registry.get(node.name)
        if found is None:
            found = self._registry[node.name] = {k.lower(): v for k, v in node.state.registry.items()}
        return found

    def entries(self, doc: Any) -> dict[str, Any]:
        """A parsed configuration file's effective entry per key (the last one, as the service
        reads it), built once per file however many of its keys are facts."""
        found = self._keys.get(id(doc))
        if found is None or found[0] is not doc:
            found = self._keys[id(doc)] = (doc, {e.key: e for e in doc.entries})
        return found[1]

    def _memoised(self, key: Any, pick: Callable[[NodeView], bool]) -> list[NodeView]:
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = [n for n in self.nodes if pick(n)]
        return found

    def every_node(self) -> list[NodeView]:
        return self.nodes

    def management(self) -> list[NodeView]:
        return self._memoised("management", lambda n: n.is_management)

    def running(self, sub: Subsystem | None) -> list[NodeView]:
        """The nodes a subsystem's facts are about (:func:`subsystem_concerns`)."""
        if sub is None:
            return []
        return self._memoised(("subsystem", sub.key), lambda n: subsystem_concerns(sub, n))

    def spooler_controllers(self) -> list[NodeView]:
        sub = self.profile.subsystems.get("spooler_controller")
        return self._memoised("spoc", lambda n: n.spoc is not None or subsystem_concerns(sub, n))


@dataclass(frozen=True)
class Ask:
    """One fact to observe, with its table entry and the values of the entry's placeholders."""

    survey: Survey
    fact: ProfileFact
    entry: Observable
    params: Mapping[str, str]

    @property
    def profile(self) -> Profile:
        return self.survey.profile

    @cached_property
    def subsystem(self) -> Subsystem | None:
        """The subsystem the entry names: a key, a ``{placeholder}``, or ``=fact`` (another fact's value)."""
        ref = self.entry.subsystem
        if ref is None:
            return None
        if ref.startswith("{") and ref.endswith("}"):
            ref = self.params[ref[1:-1]]
        elif ref.startswith("="):
            ref = str(self.profile.value_of(ref[1:].format(**self.params)))
        return self.profile.subsystems.get(ref)

    @cached_property
    def text(self) -> str:
        """The fact's value as one text (a list joined by commas)."""
        value = self.fact.value
        return ", ".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)

    def looks_for(self) -> str:
        fill = {**self.params, "value": self.text}
        sub = self.subsystem
        if "subsystem" in self.params and sub is not None:
            fill["subsystem"] = sub.title
        if self.entry.document is not None:
            fill["file"] = document_path(self.profile, self.entry.document)
        return self.entry.looks_for.format(**fill)


@dataclass(frozen=True)
class Observer:
    """``concerns``: the nodes of the survey a fact is about; ``observe``: what one of them
    (collected) showed."""

    concerns: Callable[[Ask], list[NodeView]]
    observe: Callable[[Ask, NodeView], Observation]


# ---- which nodes a fact is about --------------------------------------------------------
def subsystem_concerns(sub: Subsystem | None, node: NodeView) -> bool:
    """A subsystem's facts are about the nodes running it and the nodes whose role must run it;
    a node not collected is about them when its role must run it or the subsystem is optional
    (nobody knows what it runs)."""
    if sub is None:
        return False
    if any(node.state.has_role(r) for r in sub.mandatory_on):
        return True
    if not node.reachable:
        return not sub.mandatory_on
    return bool(node.services.get(sub.key))


def on_subsystem(ask: Ask) -> list[NodeView]:
    return ask.survey.running(ask.subsystem)


def on_management(ask: Ask) -> list[NodeView]:
    return ask.survey.management()


def on_every_node(ask: Ask) -> list[NodeView]:
    return ask.survey.every_node()


def on_document(ask: Ask) -> list[NodeView]:
    if ask.entry.document in (Document.SPOC_CONF, Document.SPOC_IMS):
        return ask.survey.spooler_controllers()
    return ask.survey.management()


def on_service_of(ask: Ask) -> list[NodeView]:
    name = str(ask.profile.value_of(ask.entry.of_fact or ""))
    return ask.survey.running(ask.profile.subsystem_of_service(name))


def document_path(profile: Profile, document: Document) -> str:
    """The file (relative to its subsystem's folder) a document is read from."""
    return {Document.SPOC_CONF: profile.spoc_conf.file, Document.SPOC_IMS: profile.spoc_ims.file,
            Document.MANAGEMENT_CONF: profile.management_conf.files,
            Document.MANAGEMENT_IMS: profile.management_ims.file}[document]


__all__ = ["KEYS_SHOWN", "Ask", "Observer", "Survey", "confirmed", "contradicted", "document_path", "listing",
           "on_document", "on_every_node", "on_management", "on_service_of", "on_subsystem", "subsystem_concerns",
           "unsure"]
