"""SERVER-OS: every node runs a supported Windows Server with a recent enough .NET."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks._common import make, per_node
from auditor.cluster import Cluster, NodeView
from auditor.findings import CheckMeta, Finding, Severity, Status

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


def run(cluster: Cluster) -> Iterator[Finding]:
    min_build = cluster.profile.server_os.min_build
    min_net = cluster.profile.server_os.min_dotnet_release

    def check_node(node: NodeView) -> Iterator[Finding]:
        os_ = node.state.os
        actual = {"caption": os_.caption, "product_type": os_.product_type, "build": os_.build,
                  "dotnet_release": node.state.dotnet_release}
        expected = {"product_type": 3, "min_build": min_build, "min_dotnet_release": min_net}
        problems, unknown = [], []
        if os_.product_type == 1:
            problems.append(f"workstation OS ({os_.caption or 'product type 1'})")
        elif os_.product_type == 2:
            problems.append("domain controller")
        build = (os_.build or "").strip()
        if not build.isdigit():
            unknown.append("OS build unknown")
        elif int(build) < min_build:
            problems.append(f"build {build} below {min_build}")
        if min_net:
            if node.state.dotnet_release is None:
                unknown.append(".NET Framework release unknown")
            elif node.state.dotnet_release < min_net:
                problems.append(f".NET Framework release {node.state.dotnet_release} below {min_net}")
        if problems:
            yield make(META, Status.FAIL, node.name, node.name, "; ".join(problems), expected=expected, actual=actual)
        elif unknown:
            yield make(META, Status.ERROR, node.name, node.name, "cannot evaluate: " + "; ".join(unknown),
                       expected=expected, actual=actual)
        else:
            yield make(META, Status.PASS, node.name, node.name, f"{os_.caption or 'Windows Server'} build {build}",
                       expected=expected, actual=actual)

    yield from per_node(META, cluster, check_node)
