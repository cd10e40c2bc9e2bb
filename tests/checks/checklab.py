"""Small in-memory clusters for check tests, built from the lab's scenario specs.

Tests mutate NodeSpecs (the lab's own knobs) or the built NodeStates (to plant nasty file
content: UTF-16, BOM, CRLF, comments ...) and audit the result through the real model.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations
from auditor.findings import Finding, Status
from auditor.lab.scenario_builder import MgmtSpec, NodeSpec, build_node, healthy_specs
from auditor.nodestate import FileEntry, NodeState, path_key
from auditor.profile import load_profile
from auditor.vocab import NodeStatus

PROFILE = load_profile()


class Lab:
    def __init__(self, sites: int = 2, managements: int = 2):
        self.mgmts: list[MgmtSpec]
        self.specs: list[NodeSpec]
        self.mgmts, self.specs = healthy_specs(sites, managements)
        self._edits: list[Callable[[dict[str, NodeState]], None]] = []

    def spec(self, name: str) -> NodeSpec:
        return next(s for s in self.specs if s.name == name)

    def each(self, attr: str, values: dict[str, object]) -> Lab:
        """Set one NodeSpec knob per node: ``each("ims_account", {"MGMT2": "LocalSystem"})``."""
        for name, value in values.items():
            setattr(self.spec(name), attr, value)
        return self

    def edit(self, fn: Callable[[dict[str, NodeState]], None]) -> Lab:
        """Register a change applied to the built node states (by name)."""
        self._edits.append(fn)
        return self

    def down(self, name: str, *, address: str | None = None, resolved: tuple[str, ...] = (),
             reason: str = "the user name or password was rejected") -> Lab:
        """``name`` could not be collected (as the collector records it: no data, a status and a
        reason); ``address`` replaces its inventory address, ``resolved`` is what that host name
        resolved to on the admin host."""
        def fail(by: dict[str, NodeState]) -> None:
            st = by[name]
            failed = NodeState(name=st.name, roles=list(st.roles), address=address or st.address,
                               status=NodeStatus.AUTH, reason=reason, resolved_addresses=list(resolved))
            st.__dict__.update(failed.__dict__)
        return self.edit(fail)

    def states(self) -> list[NodeState]:
        out = []
        for spec in self.specs:
            st = build_node(spec, self.mgmts)
            st.roles = list(spec.roles)
            st.address = spec.ip
            out.append(st)
        by_name = {s.name: s for s in out}
        for fn in self._edits:
            fn(by_name)
        return out

    def cluster(self, profile=None, declared: Declarations | None = None) -> Cluster:
        return Cluster.build(self.states(), profile or PROFILE, declared)

    def run(self, check_id: str, profile=None, declared: Declarations | None = None) -> dict[str, Finding]:
        findings = run_checks(self.cluster(profile, declared), only={check_id})
        out = {}
        for f in findings:
            assert f.node not in out, f"two findings for {f.node}"
            out[f.node] = f
        return out


def declaring(key: str, value: object, line: int = 5) -> Declarations:
    """Declarations of one cluster-wide key, written on ``line`` of cluster.yaml."""
    return Declarations(source="cluster.yaml", lines={key: line}, **{key: value})


def set_file(st: NodeState, path: str, content: bytes | None, mtime: str | None = "2026-10-01T08:00:00Z",
             exists: bool = True) -> None:
    st.files[path_key(path)] = FileEntry(path=path, content=content, mtime=mtime, exists=exists)


def get_file(st: NodeState, path: str) -> bytes:
    entry = st.file(path)
    assert entry is not None, path
    assert entry.content is not None, path
    return entry.content


def statuses(found: dict[str, Finding]) -> dict[str, str]:
    return {n: f.status.value for n, f in found.items()}


def failing(found: dict[str, Finding]) -> set[str]:
    return {n for n, f in found.items() if f.status in (Status.FAIL, Status.ERROR)}


SPOC_CONF = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
SPOC_IMS = "C:\\DispatcherParagon\\SPOC\\ims\\application.properties"
MGMT_IMS = "C:\\DispatcherParagon\\Management\\ims\\application.properties"
MGMT_CONF = "C:\\DispatcherParagon\\Management\\conf\\management.properties"
SITE2_SPOC_CONF = "D:\\SafeQ6\\SPOC\\conf\\modules\\spoc.conf"


def rewrite(st: NodeState, path: str, fn: Callable[[str], str], encoding: str = "utf-8", bom: bytes = b"") -> None:
    """Replace a file's text through ``fn`` (decoded as UTF-8), writing it back encoded."""
    text = get_file(st, path).decode("utf-8-sig")
    entry = st.file(path)
    set_file(st, entry.path, bom + fn(text).encode(encoding), mtime=entry.mtime)


MGMT_CONF = "C:\\DispatcherParagon\\Management\\conf\\management.properties"


def spoc_conf_of(st: NodeState) -> str:
    """The path of ``st``'s spoc.conf (SITE2 of the lab is installed on D:)."""
    return next(f.path for f in st.files.values() if f.path.lower().endswith("\\spoc\\conf\\modules\\spoc.conf"))
