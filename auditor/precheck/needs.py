"""The values a change needs, each with where it came from (an :class:`Expected`).

A new Management server must be installed with the cluster's version, point its Infrastructure
Service at the cluster's repository share and run it as the cluster's service account; the
Spooler Controllers must then list it with its GUID and address. An admin reads "install
6.0.112.4 (declared: cluster.yaml line 5)" differently from "6.0.112.4 (consensus: all 2
agree)", so every value says its source: the inventory's declaration first, then what every
existing Management server agrees on. The rules come from the checks that own them
(VERSION-CONSISTENT's judgement, IMS-REPO-SHARED's path comparison, IMS-SERVICE-ACCOUNT's
account comparison); this module only picks the value the change must copy.
"""

from __future__ import annotations

from auditor.checks import ims_repo_shared, ims_service_account
from auditor.checks.version_consistent import judge_versions
from auditor.deviation import Judgement
from auditor.expectations import ExpectationSource, Expected
from auditor.precheck.situation import Scope, Situation

VERSION = "product version"
REPOSITORY = "repository.path"
ACCOUNT = "Infrastructure Service account"
JOIN = "existing Management server to join"
GUID = "GUID (/CFG:localGUID)"
BOUND_IP = "used local IP (/CFG:usedLocalIp)"


def _decided(j: Judgement) -> Expected | None:
    """The value a judgement decided, with its source; None while undecided (a tie, nothing
    that can work) or when the declared value itself cannot work."""
    return j.expected if j.reference is not None and not j.declared_problem else None


def version_needed(s: Situation) -> Expected | None:
    """The version the cluster runs, as VERSION-CONSISTENT decides it (the inventory's
    ``expected_version``, else the newest Management server's), None while undecided."""
    return _decided(judge_versions(s.cluster(Scope.EXISTING)).judgement)


def repository_needed(s: Situation) -> Expected | None:
    """The shared repository path, as IMS-REPO-SHARED decides it over the existing Management
    servers (declared ``ims_repository``, else the UNC path they agree on), None while undecided."""
    return _decided(ims_repo_shared.judgement(s.cluster(Scope.EXISTING)))


def account_needed(s: Situation) -> Expected | None:
    """The Infrastructure Service account, as IMS-SERVICE-ACCOUNT decides it over the existing
    Management servers (declared ``ims_service_account``, else the account they agree on that
    can hold rights on the share), None while undecided."""
    return _decided(ims_service_account.judgement(s.cluster(Scope.EXISTING)))


def installer_inputs(s: Situation) -> dict[str, Expected]:
    """What the server installer of the new Management server asks for that the precheck
    knows: an existing Management server's address, and the GUID and bound address the
    inventory declares for the new one (/CFG:localGUID, /CFG:usedLocalIp)."""
    out: dict[str, Expected] = {}
    join = next((n for n in s.existing_management if n.reachable and n.primary_ip()), None)
    if join is not None:
        out[JOIN] = Expected(join.primary_ip(), ExpectationSource.COLLECTED, f"{join.name}'s address")
    if s.new_name:
        for what, key in ((GUID, "guid"), (BOUND_IP, "bound_ip")):
            declared = s.declared.expected(key, node=s.new_name)
            if declared is not None:
                out[what] = declared
    return out


__all__ = ["ACCOUNT", "BOUND_IP", "GUID", "JOIN", "REPOSITORY", "VERSION", "account_needed", "installer_inputs",
           "repository_needed", "version_needed"]
