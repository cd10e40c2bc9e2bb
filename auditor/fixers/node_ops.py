"""How the apply engine reaches a node: run apply ops, re-collect the node.

:class:`NodeOps` is the boundary the engine depends on, so the same rollout logic runs against
WinRM (:class:`RemoteNodeOps`) and against stand-ins in tests. Answers come back as the typed
results of ``auditor.remote.apply_results``, decoded once in the remote layer: the engine
never indexes a response dict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from auditor.nodestate import NodeState
from auditor.remote.apply_results import OpResult
from auditor.vocab import MASK

if TYPE_CHECKING:  # pragma: no cover
    from auditor.collect.credentials import Credentials
    from auditor.collect.inventory import Inventory
    from auditor.collect.runner import SecurityOptions
    from auditor.profile import Profile


class OpsError(Exception):
    """A node could not be asked (transport, authentication, protocol): nothing is known."""


class NodeOps(Protocol):
    """``apply`` runs one apply request and returns one typed result per op (or raises
    :class:`OpsError`); ``collect`` returns a fresh NodeState (status not ok on failure)."""

    def apply(self, node: str, ops: list[dict[str, Any]], secrets: dict[str, str] | None = None
              ) -> Sequence[OpResult]: ...

    def collect(self, node: str) -> NodeState: ...


class RemoteNodeOps:
    """:class:`NodeOps` over WinRM (``auditor.remote``), reusing the run's resolved credentials.

    Re-collection goes through the collection runner for one node, so a verified node is
    read exactly as the initial collection read it (same request, same checks of identity).
    """

    def __init__(self, inventory: Inventory, profile: Profile, credentials: dict[str, Credentials],
                 security: SecurityOptions | None = None, execute: Callable[..., dict[str, Any]] | None = None,
                 warn: Callable[[str], None] | None = None):
        self.inventory = inventory
        self.profile = profile
        self.credentials = credentials
        self.security = security
        self._execute = execute
        self._warn = warn  # the security warnings of each re-collection (as the first collection's)

    def _credentials(self, name: str) -> Credentials:
        from auditor.collect.credentials import Credentials

        node = self.inventory.node(name)
        return self.credentials.get(node.name) or Credentials(node.username, None)

    def apply(self, node: str, ops: list[dict[str, Any]], secrets: dict[str, str] | None = None
              ) -> Sequence[OpResult]:
        from auditor.collect.targets import remote_target
        from auditor.remote.apply_results import decode_apply_response
        from auditor.remote.client import RemoteError, execute
        from auditor.remote.protocol import build_apply_request

        run = self._execute or execute
        request = build_apply_request(ops)
        target_node = self.inventory.node(node)
        read = max(2.0, float(target_node.read_timeout))
        target = remote_target(target_node, self._credentials(node), connect_timeout=float(target_node.connect_timeout),
                               read_timeout=read, operation_timeout=int(max(1, min(20, read - 1))))
        try:
            return decode_apply_response(node, run(target, request, secrets=secrets), request)
        except RemoteError as exc:
            text = exc.message
            for value in (secrets or {}).values():
                text = text.replace(value, MASK) if value else text
            raise OpsError(f"{exc.kind}: {text}") from None

    def collect(self, node: str) -> NodeState:
        from auditor.collect.inventory import Inventory
        from auditor.collect.runner import SILENT, CollectionEvents, SecurityOptions, collect_cluster

        one = Inventory(self.inventory.cluster, [self.inventory.node(node)], 1, self.inventory.path)
        events = CollectionEvents(warning=self._warn) if self._warn else SILENT
        result = collect_cluster(one, self.profile, events=events, security=self.security or SecurityOptions(),
                                 credentials=self.credentials)
        return result.nodes[0]
