"""Every precondition of both changes over the add-management cluster built offline: a go on
the healthy cluster, and a no-go (or the documented warning) for each thing that breaks it."""

from __future__ import annotations

from dataclasses import replace

from auditor.nodestate import ClockSample, NodeStatus, Process
from auditor.precheck.model import Change, Verdict
from auditor.precheck.needs import ACCOUNT, REPOSITORY, VERSION
from tests.precheck.precheck_support import NEW, result, verdicts


def test_the_healthy_cluster_with_a_new_server_with_nothing_installed_is_a_go():
    assert set(verdicts(after=_clocks(0)).values()) == {Verdict.GO}


def test_the_go_names_the_version_repository_and_account_the_new_server_needs():
    needs = {**result("ONE-VERSION").outcome.needs, **result("REPOSITORY-SHARED").outcome.needs,
             **result("SERVICE-ACCOUNT").outcome.needs}
    assert {k: str(v.value) for k, v in needs.items()} == {
        VERSION: "6.0.112.4", REPOSITORY: "\\\\fs01.corp.example\\paragon\\ims-repository",
        ACCOUNT: "CORP\\svc-paragon"}


# ---- add-management: one no-go per precondition ---------------------------------------------
def _unreachable(name: str):
    def after(states):
        s = states[name]
        s.status, s.reason = NodeStatus.TIMEOUT, "no answer within 60 s"
    return after


def test_a_node_not_collected_is_a_no_go():
    assert result("NODES-COLLECTED", after=_unreachable("SITE2")).verdict is Verdict.NO_GO


def test_the_new_server_not_collected_is_a_no_go_of_everything_about_it():
    v = verdicts(after=_unreachable(NEW))
    assert [k for k in ("NEW-NOT-INSTALLED", "REPOSITORY-FROM-NEW", "NEW-SERVER-OS", "NEW-CLOCK")
            if v[k] is not Verdict.NO_GO] == []


def test_product_services_already_on_the_new_server_are_a_warning():
    def tune(specs):
        specs[NEW].installed = True
        specs[NEW].mgmt_guid = "6f1c2a03-3b7e-4c1d-9a55-000000000003"

    assert result("NEW-NOT-INSTALLED", tune=tune).verdict is Verdict.WARNING


def test_an_installer_running_on_any_node_is_a_no_go():
    def after(states):
        states["SITE1"].processes.append(Process(name="ysq-management-server-install.exe", pid=4242))

    r = result("NO-INSTALLER", after=after)
    assert r.verdict is Verdict.NO_GO
    assert r.outcome.nodes == ("SITE1",)


def test_the_embedded_database_is_a_no_go():
    def tune(specs):
        specs["MGMT1"].embedded_db_host = True
        for name in ("MGMT1", "MGMT2"):
            specs[name].db = {"dbClass": "PGSQL", "dbHost": "10.0.10.11", "dbPort": "5433", "embeddedDb": "1"}

    assert result("EXTERNAL-DATABASE", tune=tune).verdict is Verdict.NO_GO


def test_a_stopped_management_service_is_a_no_go():
    def tune(specs):
        specs["MGMT2"].stopped_services = ["YSoftSQ-Management"]

    r = result("MANAGEMENT-HEALTHY", tune=tune)
    assert r.verdict is Verdict.NO_GO
    assert r.outcome.nodes == ("MGMT2",)


def test_two_versions_on_the_existing_servers_are_a_no_go():
    def tune(specs):
        specs["MGMT2"].version = "6.0.111.2"

    assert result("ONE-VERSION", tune=tune).verdict is Verdict.NO_GO


def test_a_local_repository_on_an_existing_server_is_a_no_go():
    def tune(specs):
        specs["MGMT2"].repository_path = "C:\\DispatcherParagon\\Management\\ims\\repository"

    assert result("REPOSITORY-SHARED", tune=tune).verdict is Verdict.NO_GO


def test_a_share_the_new_server_cannot_reach_is_a_no_go():
    def after(states):
        for key, probe in list(states[NEW].probes.items()):
            states[NEW].probes[key] = replace(probe, exists=False, is_dir=False, error="The network path was not found")

    r = result("REPOSITORY-FROM-NEW", after=after)
    assert r.verdict is Verdict.NO_GO
    assert "The network path was not found" in r.outcome.reason


def test_a_built_in_account_on_an_existing_server_is_a_no_go():
    def tune(specs):
        specs["MGMT1"].ims_account = "LocalSystem"

    assert result("SERVICE-ACCOUNT", tune=tune).verdict is Verdict.NO_GO


def test_a_workstation_edition_on_the_new_server_is_a_no_go():
    def after(states):
        states[NEW].os = replace(states[NEW].os, caption="Microsoft Windows 11 Enterprise", product_type=1)

    assert result("NEW-SERVER-OS", after=after).verdict is Verdict.NO_GO


def test_an_old_dotnet_on_the_new_server_is_only_a_warning():
    def after(states):
        states[NEW].dotnet_release = 394802  # 4.6.2: the installer deploys a newer one

    assert result("NEW-SERVER-OS", after=after).verdict is Verdict.WARNING


def _clocks(new_ahead: float):
    def after(states):
        for name, s in states.items():
            ahead = new_ahead if name == NEW else 0.0
            s.clock = ClockSample(node_started=_at(10 + ahead), node_finished=_at(10 + ahead),
                                  sent="2026-11-27T10:00:10.000Z", received="2026-11-27T10:00:10.200Z")
    return after


def _at(seconds: float) -> str:
    return f"2026-11-27T10:00:{int(seconds):02d}Z"


def test_a_new_server_clock_far_ahead_is_a_no_go():
    assert result("NEW-CLOCK", after=_clocks(5)).verdict is Verdict.NO_GO


def test_a_new_server_clock_in_step_is_a_go():
    assert result("NEW-CLOCK", after=_clocks(0)).verdict is Verdict.GO


# ---- update ------------------------------------------------------------------------------------
def test_one_version_before_an_update_is_a_go():
    assert set(verdicts(Change.UPDATE, target="6.0.113.1").values()) == {Verdict.GO}


def test_mixed_versions_without_a_target_are_a_no_go():
    def tune(specs):
        specs["MGMT1"].version = "6.0.113.1"

    assert result("UPDATE-VERSIONS", Change.UPDATE, tune=tune).verdict is Verdict.NO_GO


def test_only_updated_servers_differing_from_the_cluster_is_update_in_progress():
    def tune(specs):
        specs["MGMT1"].version = "6.0.113.1"

    r = result("UPDATE-VERSIONS", Change.UPDATE, tune=tune, target="6.0.113.1")
    assert r.verdict is Verdict.WARNING
    assert r.outcome.reason.startswith("update in progress: MGMT1 runs 6.0.113.1")


def test_a_third_build_during_an_update_is_a_no_go():
    def tune(specs):
        specs["MGMT1"].version = "6.0.113.1"
        specs["SITE2"].version = "6.0.100.1"

    assert result("UPDATE-VERSIONS", Change.UPDATE, tune=tune, target="6.0.113.1").verdict is Verdict.NO_GO


def test_a_target_older_than_the_cluster_is_a_no_go():
    assert result("UPDATE-VERSIONS", Change.UPDATE, target="6.0.100.1").verdict is Verdict.NO_GO


def test_a_disabled_product_service_before_an_update_is_a_no_go():
    def after(states):
        svc = states["SITE1"].service("YSoftSQ-SPOC")
        svc.start_mode, svc.state = "Disabled", "Stopped"

    assert result("SERVICES-ENABLED", Change.UPDATE, after=after).verdict is Verdict.NO_GO


def test_update_no_installer_and_external_database_are_preconditions_too():
    def after(states):
        states["MGMT2"].processes.append(Process(name="ysq-management-server-install.exe", pid=4242))

    assert verdicts(Change.UPDATE, after=after)["NO-INSTALLER"] is Verdict.NO_GO
