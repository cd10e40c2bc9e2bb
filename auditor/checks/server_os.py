"""SERVER-OS: every node runs a supported Windows Server with a recent enough .NET."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status
from auditor.nodestate import NodeState
from auditor.profile import Profile

META = CheckMeta(
    id="SERVER-OS",
    title="Windows Server edition, build and .NET Framework at or above the profile's floor",
    severity=Severity.MEDIUM,
    rationale=(
        "Servers of the cluster must run a server edition of Windows (product type 3; a domain "
        "controller, type 2, is not a suitable host) at or above the build and .NET Framework "
        "release the profile names (server_os.min_build, server_os.min_dotnet_release: assumed "
        "support floors, adjust them to the vendor's current requirements)."
    ),
    remediation="Move the role to a supported, dedicated Windows Server, or update Windows / .NET Framework.",
    fixable=False,
    scope="node",
)
# Product facts (profile keys) this check relies on: ``auditor checks ID`` shows their certainty.
RELIES_ON = (
    "server_os.min_build",
    "server_os.min_dotnet_release",
)


@dataclass(frozen=True)
class OsAssessment:
    """One node's Windows against the profile's floor: each field says what is wrong (None: fine).

    The one home of the rule; SERVER-OS turns it into a finding, the pre-change validation
    (``auditor precheck``) weighs its parts separately (a new server's .NET is deployed by the
    installer, its edition is not)."""

    edition: str | None  # not a server edition (workstation, domain controller)
    build: str | None  # below server_os.min_build
    dotnet: str | None  # below server_os.min_dotnet_release
    unknown: tuple[str, ...] = ()  # facts the node did not report

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.edition, self.build, self.dotnet) if p]


def assess(state: NodeState, profile: Profile) -> OsAssessment:
    min_build = profile.server_os.min_build
    min_net = profile.server_os.min_dotnet_release
    os_ = state.os
    edition = build_problem = dotnet = None
    unknown: list[str] = []
    if os_.product_type == 1:
        edition = f"workstation OS ({os_.caption or 'product type 1'})"
    elif os_.product_type == 2:
        edition = "domain controller"
    build = (os_.build or "").strip()
    if not build.isdigit():
        unknown.append("OS build unknown")
    elif int(build) < min_build:
        build_problem = f"build {build} below {min_build}"
    if min_net:
        if state.dotnet_release is None:
            unknown.append(".NET Framework release unknown")
        elif state.dotnet_release < min_net:
            dotnet = f".NET Framework release {state.dotnet_release} below {min_net}"
    return OsAssessment(edition, build_problem, dotnet, tuple(unknown))


def run(cluster: Cluster) -> Iterator[Finding]:
    min_build = cluster.profile.server_os.min_build
    min_net = cluster.profile.server_os.min_dotnet_release

    def check_node(node: NodeView) -> Iterator[Finding]:
        os_ = node.state.os
        actual = {"caption": os_.caption, "product_type": os_.product_type, "build": os_.build,
                  "dotnet_release": node.state.dotnet_release}
        expected = {"product_type": 3, "min_build": min_build, "min_dotnet_release": min_net}
        found = assess(node.state, cluster.profile)
        if found.problems:
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(found.problems), expected=expected,
                       actual=actual)
        elif found.unknown:
            yield make(META, Status.ERROR, node.name, node.name, "cannot evaluate: " + "; ".join(found.unknown),
                       expected=expected, actual=actual)
        else:
            yield make(META, Status.PASS, node.name, node.name,
                       f"{os_.caption or 'Windows Server'} build {os_.build.strip()}", expected=expected,
                       actual=actual)

    yield from per_node(META, cluster, check_node)
