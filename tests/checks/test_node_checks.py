"""Node-level checks: subsystems, GUIDs, versions, pending restarts, OS, reachability, services."""

from __future__ import annotations

from auditor.findings import Severity, Status
from auditor.nodestate import Process, Service
from tests.checks.checklab import MGMT_CONF, SPOC_CONF, Lab, failing, rewrite, set_file, statuses

# ---- MGMT-SUBSYSTEMS --------------------------------------------------------------------------


def test_subsystems_healthy():
    assert set(statuses(Lab().run("MGMT-SUBSYSTEMS")).values()) == {"pass"}


def test_subsystems_missing_and_stopped():
    lab = Lab().edit(lambda s: setattr(s["MGMT1"], "services",
                                       [x for x in s["MGMT1"].services if x.name != "YSoftSQ-FSP"]))
    lab.spec("MGMT2").stopped_services = ["YSoftSQ-WPS"]
    lab.spec("SITE1").stopped_services = ["YSoftSQ-SPOC"]
    found = lab.run("MGMT-SUBSYSTEMS")
    assert failing(found) == {"MGMT1", "MGMT2", "SITE1"}
    assert "FlexiSpooler" in found["MGMT1"].message
    assert "not installed" in found["MGMT1"].message
    assert "Workflow Processing System" in found["MGMT2"].message
    assert "not running" in found["MGMT2"].message


def test_subsystem_found_by_display_name_when_short_name_differs():
    def rename(s):
        for x in s["MGMT1"].services:
            if x.name == "YSoftSQ-WPS":
                x.name = "YSoftSQ-WPS2"
    assert Lab().edit(rename).run("MGMT-SUBSYSTEMS")["MGMT1"].status == Status.PASS


# ---- GUID-UNIQUE ------------------------------------------------------------------------------

def test_guids_unique_healthy():
    assert set(statuses(Lab().run("GUID-UNIQUE")).values()) == {"pass"}


def test_cloned_management_guid_case_and_braces():
    lab = Lab()
    lab.spec("MGMT2").mgmt_guid = "{" + lab.spec("MGMT1").mgmt_guid.upper() + "}"
    found = lab.run("GUID-UNIQUE")
    assert failing(found) == {"MGMT1", "MGMT2"}
    assert "also used by MGMT2" in found["MGMT1"].message


def test_cloned_spoc_guid():
    lab = Lab()
    lab.spec("SITE2").spoc_guid = "spoc-site1"
    assert failing(lab.run("GUID-UNIQUE")) == {"SITE1", "SITE2"}


def test_guid_missing_is_error():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF, lambda t: t.replace("localGUID=", "#localGUID=")))
    assert lab.run("GUID-UNIQUE")["SITE1"].status == Status.ERROR


# ---- VERSION-CONSISTENT -----------------------------------------------------------------------

def test_versions_consistent():
    assert set(statuses(Lab().run("VERSION-CONSISTENT")).values()) == {"pass"}


def test_partial_update_flags_the_lagging_nodes():
    lab = Lab()
    lab.spec("MGMT1").version = "6.0.113.1"
    found = lab.run("VERSION-CONSISTENT")
    assert failing(found) == {"MGMT2", "SITE1", "SITE2"}
    assert found["MGMT2"].expected == "6.0.113.1"
    assert "behind" in found["MGMT2"].message


def test_site_ahead_of_management_and_numeric_compare():
    lab = Lab()
    lab.spec("SITE1").version = "6.0.112.10"  # 10 > 4 numerically, not as text
    found = lab.run("VERSION-CONSISTENT")
    assert failing(found) == {"SITE1"}
    assert "ahead" in found["SITE1"].message


def test_version_from_install_log_and_missing_version():
    lab = Lab().edit(lambda s: s["MGMT1"].registry.clear())
    f = lab.run("VERSION-CONSISTENT")["MGMT1"]
    assert f.status == Status.PASS
    assert "install.log" in f.details["source"]
    lab = Lab().edit(lambda s: s["SITE1"].registry.clear())
    assert lab.run("VERSION-CONSISTENT")["SITE1"].status == Status.ERROR


# ---- CONFIG-PENDING-RESTART -------------------------------------------------------------------

def test_pending_restart_healthy():
    assert set(statuses(Lab().run("CONFIG-PENDING-RESTART")).values()) == {"pass"}


def test_file_changed_after_service_start():
    lab = Lab().edit(lambda s: set_file(s["SITE1"], SPOC_CONF, s["SITE1"].file(SPOC_CONF).content,
                                        mtime="2026-11-21T09:30:00Z"))
    f = lab.run("CONFIG-PENDING-RESTART")["SITE1"]
    assert f.status == Status.FAIL
    assert "YSoftSQ-SPOC" in f.message
    assert f.file == SPOC_CONF


def test_ims_properties_map_to_ims_services_per_profile():
    ims = "C:\\DispatcherParagon\\Management\\ims\\application.properties"
    lab = Lab().edit(lambda s: set_file(s["MGMT1"], ims, s["MGMT1"].file(ims).content, mtime="2026-11-21T00:00:00Z"))
    f = lab.run("CONFIG-PENDING-RESTART")["MGMT1"]
    assert f.status == Status.FAIL
    assert f.details["pending"][0]["service"] == "YSoftIms"


def test_missing_times_skip_not_pass():
    lab = Lab().edit(lambda s: set_file(s["MGMT1"], MGMT_CONF, s["MGMT1"].file(MGMT_CONF).content, mtime=None))
    f = lab.run("CONFIG-PENDING-RESTART")["MGMT1"]
    assert f.status == Status.SKIP
    assert "file time unknown" in f.message


# ---- SERVER-OS --------------------------------------------------------------------------------

def test_server_os():
    def tweak(s):
        s["MGMT1"].os.product_type = 1
        s["MGMT2"].os.build = "9600"
        s["SITE1"].dotnet_release = 394802
        s["SITE2"].os.build = ""
    found = Lab().edit(tweak).run("SERVER-OS")
    assert statuses(found) == {"MGMT1": "fail", "MGMT2": "fail", "SITE1": "fail", "SITE2": "error"}
    assert set(statuses(Lab().run("SERVER-OS")).values()) == {"pass"}


# ---- NODE-REACHABLE / skip behaviour ----------------------------------------------------------

def test_unreachable_node_fails_reachability_and_is_skipped_elsewhere():
    def down(s):
        s["SITE1"].status, s["SITE1"].reason = "auth", "401 from WinRM (check credentials)"
    lab = Lab().edit(down)
    f = lab.run("NODE-REACHABLE")["SITE1"]
    assert f.status == Status.FAIL
    assert "401" in f.message
    from auditor.checks import run_checks
    others = [x for x in run_checks(lab.cluster()) if x.node == "SITE1" and x.check_id != "NODE-REACHABLE"]
    assert others
    assert {x.status.value for x in others} == {"skip"}


# ---- INSTALL-IN-PROGRESS ----------------------------------------------------------------------

def test_installer_running_on_one_and_two_nodes():
    inst = Process(name="ysq-management-server-install.exe", pid=4242)
    one = Lab().edit(lambda s: s["MGMT1"].processes.append(inst)).run("INSTALL-IN-PROGRESS")
    assert failing(one) == {"MGMT1"}
    assert one["MGMT1"].severity == Severity.HIGH

    def two(s):
        s["MGMT1"].processes.append(inst)
        s["SITE2"].processes.append(Process(name="SafeQ6.exe", pid=7))
    both = Lab().edit(two).run("INSTALL-IN-PROGRESS")
    assert failing(both) == {"MGMT1", "SITE2"}
    assert both["SITE2"].severity == Severity.CRITICAL


# ---- services ---------------------------------------------------------------------------------

def test_service_disabled_stopped_and_legacy():
    def tweak(s):
        s["SITE1"].services.append(Service(name="YSoftSQ-MPS", start_mode="Disabled", state="Stopped"))
        s["SITE2"].services.append(Service(name="YSoftSafeQORS", start_mode="Disabled", state="Stopped"))
    lab = Lab().edit(tweak)
    lab.spec("MGMT2").stopped_services = ["YSoftSQ-TS"]
    assert failing(lab.run("SERVICE-DISABLED")) == {"SITE1"}  # legacy services are LEGACY-SERVICES' job
    stopped = lab.run("SERVICE-STOPPED")
    assert failing(stopped) == {"MGMT2"}
    assert "YSoftSQ-TS" in stopped["MGMT2"].message
    legacy = lab.run("LEGACY-SERVICES")
    assert failing(legacy) == {"SITE2"}
    assert "YSoftSafeQORS" in legacy["SITE2"].message


def test_spocgs_stopped_is_exempt():
    def auto(s):
        for x in s["SITE1"].services:
            if x.name == "YSoftSQ-SPOCGS":
                x.start_mode = "Auto"
    assert Lab().edit(auto).run("SERVICE-STOPPED")["SITE1"].status == Status.PASS


# ---- CONFIG-PARSEABLE / CONFIG-DUPLICATE-KEYS -------------------------------------------------

def test_config_parseable_lists_broken_files_with_lines():
    xml = "C:\\DispatcherParagon\\SPOC\\conf\\remoteConfImg.xml"

    def broken(s):
        rewrite(s["SITE1"], SPOC_CONF, lambda t: t + "no separator here\r\n")
        set_file(s["SITE2"], "D:\\SafeQ6\\SPOC\\conf\\remoteConfImg.xml", b"<!DOCTYPE x><configuration/>")
        s["MGMT1"].file(xml).error = "access denied"
        s["MGMT1"].file(xml).content = None
    found = Lab().edit(broken).run("CONFIG-PARSEABLE")
    assert failing(found) == {"SITE1", "SITE2", "MGMT1"}
    assert found["SITE1"].line == 16
    assert found["SITE1"].file == SPOC_CONF
    assert "DOCTYPE" in found["SITE2"].message
    assert "access denied" in found["MGMT1"].message
    assert set(statuses(Lab().run("CONFIG-PARSEABLE")).values()) == {"pass"}


def test_duplicate_keys():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF, lambda t: t + "maxJobSizeMB=10\r\n"))
    found = lab.run("CONFIG-DUPLICATE-KEYS")
    assert failing(found) == {"SITE1"}
    assert "maxJobSizeMB written 2 times" in found["SITE1"].message
    assert found["SITE1"].line == 15
    assert failing(Lab().run("CONFIG-DUPLICATE-KEYS")) == set()
