"""The IMS-SERVICE-ACCOUNT fixer writes the account the check's judgement names, only a kind that
can hold rights on the repository share, and refuses (blocked, with the reason) when nothing
decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.declared import Declarations
from auditor.fixers import FixOptions, build_plan
from auditor.fixers.plan import SET_ACCOUNT, FixPlan
from auditor.lab.scenario_builder import NodeSpec, mgmt_specs, write_cluster
from auditor.manifest import load_cluster_folder
from auditor.profile import load_profile

PROFILE = load_profile()


def cluster_of(tmp_path: Path, accounts: list[str]) -> list:
    mgmts = mgmt_specs(len(accounts))
    specs = [NodeSpec(name=m.name, ip=m.ip, roles=["management"], mgmt_guid=m.guid, spoc_guid=f"spoc-{i}",
                      ims_account=accounts[i]) for i, m in enumerate(mgmts)]
    write_cluster(tmp_path / "c", "accounts", "accounts", mgmts, specs)
    return load_cluster_folder(tmp_path / "c")[1]


def plan(tmp_path: Path, accounts: list[str], declared: str | None = None, **opts) -> FixPlan:
    decl = Declarations(source="cluster.yaml", ims_service_account=declared,
                        lines={"ims_service_account": 3}) if declared else None
    cluster = Cluster.build(cluster_of(tmp_path, accounts), PROFILE, decl)
    return build_plan(cluster, run_checks(cluster, only={"IMS-SERVICE-ACCOUNT"}), FixOptions(**opts))


def targets(p: FixPlan) -> dict[str, str]:
    return {n.node: a.account for n in p.nodes for a in n.actions if a.kind == SET_ACCOUNT}


def test_a_virtual_account_is_replaced_by_the_one_that_can_work(tmp_path):
    assert targets(plan(tmp_path, ["CORP\\svc", "NT SERVICE\\YSoftIms"])) == {"MGMT2": "CORP\\svc"}


def test_the_majority_account_is_written_on_the_odd_node(tmp_path):
    assert targets(plan(tmp_path, ["CORP\\svc", "CORP\\other", "CORP\\svc"])) == {"MGMT2": "CORP\\svc"}


def test_a_tie_is_blocked_with_what_to_declare(tmp_path):
    p = plan(tmp_path, ["CORP\\svc", "CORP\\other"])
    assert (targets(p), "(key ims_service_account)" in p.blocked[0].reason) == ({}, True)


def test_the_declared_account_breaks_the_tie(tmp_path):
    assert targets(plan(tmp_path, ["CORP\\svc", "CORP\\other"], declared="CORP\\other")) == {"MGMT1": "CORP\\other"}


def test_the_declared_account_is_written_as_declared(tmp_path):
    p = plan(tmp_path, ["corp\\OTHER", "NT SERVICE\\YSoftIms"], declared="CORP\\other")
    assert targets(p) == {"MGMT2": "CORP\\other"}


def test_a_declared_account_that_cannot_work_is_blocked(tmp_path):
    p = plan(tmp_path, [".\\svc", "CORP\\svc"], declared=".\\svc")
    assert (targets(p), "local account" in p.blocked[0].reason) == ({}, True)


@pytest.mark.parametrize("account", [".\\svc", "NT SERVICE\\YSoftIms", "LocalSystem", "svc"])
def test_service_account_option_of_a_kind_that_cannot_work_is_blocked(tmp_path, account):
    p = plan(tmp_path, ["CORP\\svc", "LocalSystem"], service_account=account)
    assert (targets(p), p.blocked[0].reason.startswith("--service-account")) == ({}, True)


def test_a_gmsa_needs_no_password(tmp_path):
    p = plan(tmp_path, ["LocalSystem", "LocalSystem"], service_account="CORP\\gmsa$")
    assert [a.password_ref for n in p.nodes for a in n.actions if a.kind == SET_ACCOUNT] == [None, None]


def test_a_domain_account_names_where_its_password_comes_from(tmp_path):
    p = plan(tmp_path, ["CORP\\svc", "LocalSystem"])
    assert [a.password_ref for n in p.nodes for a in n.actions if a.kind == SET_ACCOUNT] == [
        "a hidden prompt when applying"]
