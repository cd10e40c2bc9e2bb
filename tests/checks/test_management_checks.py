"""IMS-REPO-SHARED, DB-EXTERNAL."""

from __future__ import annotations

import codecs

from auditor.findings import Severity, Status
from auditor.nodestate import ListeningPort, PathProbe, Service, path_key
from tests.checks.checklab import MGMT_CONF, MGMT_IMS, Lab, failing, rewrite, statuses

SHARE = "\\\\fs01.corp.example\\paragon\\ims-repository"


def probe(st, path, exists=True, error=None):
    st.probes[path_key(path)] = PathProbe(path=path, exists=exists, is_dir=exists, error=error)


# ---- IMS-REPO-SHARED --------------------------------------------------------------------

def test_repo_healthy_and_site_servers_skipped():
    found = Lab().run("IMS-REPO-SHARED")
    assert statuses(found) == {"MGMT1": "pass", "MGMT2": "pass", "SITE1": "skip", "SITE2": "skip"}
    assert found["MGMT1"].line == 3
    assert found["MGMT1"].file == MGMT_IMS


def test_repo_normalisation_trailing_backslash_case_slashes():
    lab = Lab()
    variant = "//FS01.corp.example/Paragon//ims-repository/"
    lab.spec("MGMT2").repository_path = variant
    found = lab.run("IMS-REPO-SHARED")
    assert failing(found) == set(), found["MGMT2"].message


def test_repo_local_path_fails():
    lab = Lab()
    lab.spec("MGMT2").repository_path = "D:\\ims\\repository"
    found = lab.run("IMS-REPO-SHARED")
    assert failing(found) == {"MGMT2"}
    assert "local drive path" in found["MGMT2"].message
    assert found["MGMT2"].fixable


def test_repo_two_different_shares_fail_both():
    lab = Lab()
    lab.spec("MGMT2").repository_path = "\\\\fs02\\other"
    found = lab.run("IMS-REPO-SHARED")
    assert failing(found) == {"MGMT1", "MGMT2"}


def test_repo_majority_wins_with_three_nodes():
    lab = Lab(managements=3)
    lab.spec("MGMT3").repository_path = "\\\\fs02\\other"
    found = lab.run("IMS-REPO-SHARED")
    assert failing(found) == {"MGMT3"}
    assert found["MGMT3"].expected == SHARE


def test_repo_unreachable_share_fails_and_unprobed_is_error():
    lab = Lab().edit(lambda s: probe(s["MGMT1"], SHARE, exists=False, error="access denied"))
    f = lab.run("IMS-REPO-SHARED")["MGMT1"]
    assert f.status == Status.FAIL
    assert "access denied" in f.message
    lab = Lab().edit(lambda s: s["MGMT1"].probes.clear())
    assert lab.run("IMS-REPO-SHARED")["MGMT1"].status == Status.ERROR


def test_repo_key_missing_fails_file_unparseable_errors():
    lab = Lab().edit(lambda s: rewrite(s["MGMT1"], MGMT_IMS, lambda t: t.replace("repository.path", "#repository.path")))
    assert "not set" in lab.run("IMS-REPO-SHARED")["MGMT1"].message
    lab = Lab().edit(lambda s: rewrite(s["MGMT1"], MGMT_IMS, lambda t: t + "broken=\\uZZZZ\r\n"))
    f = lab.run("IMS-REPO-SHARED")["MGMT1"]
    assert f.status == Status.ERROR
    assert f.line == 5


def test_repo_utf16_file_with_bom():
    lab = Lab().edit(lambda s: rewrite(s["MGMT1"], MGMT_IMS, lambda t: t, encoding="utf-16-le",
                                       bom=codecs.BOM_UTF16_LE))
    assert Lab().cluster().node("MGMT1").management.repository_path == SHARE
    assert lab.run("IMS-REPO-SHARED")["MGMT1"].status == Status.PASS


def test_repo_single_backslashes_show_line_read_value_and_correction():
    """An admin writes the UNC path plainly; java.util.Properties reads \\fs01imsrepo."""
    lab = Lab()
    lab.spec("MGMT2").repository_path = "\\\\fs01\\imsrepo"
    lab.spec("MGMT2").repository_escaped = False
    f = lab.run("IMS-REPO-SHARED")["MGMT2"]
    assert f.status == Status.FAIL
    assert f.details["raw_line"] == "repository.path=\\\\fs01\\imsrepo"
    assert f.details["read_value"] == "\\fs01imsrepo"
    assert f.details["corrected_line"] == "repository.path=\\\\\\\\fs01\\\\imsrepo"
    assert f.details["corrected_line_slashes"] == "repository.path=//fs01/imsrepo"
    assert f.line == 3
    assert f.fixable
    assert "reads '\\\\fs01imsrepo'" in f.message


def test_repo_escaped_and_forward_slash_spellings_are_not_misread():
    lab = Lab(managements=3)
    lab.spec("MGMT2").repository_path = SHARE.replace("\\", "/")
    lab.spec("MGMT2").repository_escaped = False
    found = lab.run("IMS-REPO-SHARED")
    assert failing(found) == set()


# ---- IMS-SERVICE-ACCOUNT: tests/checks/test_ims_service_account.py ---------------------------


# ---- DB-EXTERNAL --------------------------------------------------------------------------

def embedded(lab: Lab, host_on_mgmt2: str = "10.0.10.11") -> Lab:
    lab.spec("MGMT1").embedded_db_host = True
    lab.spec("MGMT1").db = {"dbClass": "PGSQL", "dbHost": "localhost", "dbPort": "5433", "embeddedDb": "1"}
    lab.spec("MGMT2").db = {"dbClass": "PGSQL", "dbHost": host_on_mgmt2, "dbPort": "5433", "embeddedDb": "1"}
    return lab


def test_db_external_healthy_pass():
    found = Lab().run("DB-EXTERNAL")
    assert statuses(found) == {"MGMT1": "pass", "MGMT2": "pass", "SITE1": "skip", "SITE2": "skip"}


def test_db_embedded_multi_node_is_critical_with_signals():
    found = embedded(Lab()).run("DB-EXTERNAL")
    assert failing(found) == {"MGMT1", "MGMT2"}
    assert {f.severity.value for n, f in found.items() if n.startswith("MGMT")} == {"critical"}
    sig = found["MGMT1"].details["signals"]
    assert any("dbHost=localhost" in s for s in sig)
    assert any("YSoftPGSQL" in s for s in sig)
    assert any("PGSQL-data" in s for s in sig)
    assert any("listening on port 5433" in s for s in sig)
    assert found["MGMT1"].details["decided_by"] == "etcd"
    assert found["MGMT1"].message.endswith("(decided by this node's etcd, etcd key dbHost)")
    assert found["MGMT1"].file is None


def test_db_settings_only_in_etcd_are_judged():
    """On a real node the database keys are in etcd, not in conf\\*.properties."""
    lab = embedded(Lab())
    for spec in lab.specs:
        spec.db_in_properties = False
    found = lab.run("DB-EXTERNAL")
    assert failing(found) == {"MGMT1", "MGMT2"}
    assert found["MGMT2"].details["decided_by"] == "etcd"
    healthy = Lab()
    for spec in healthy.specs:
        spec.db_in_properties = False
    found = healthy.run("DB-EXTERNAL")
    assert found["MGMT1"].status == Status.PASS
    assert found["MGMT1"].message == "database on sql01.corp.example:1433, external (decided by this node's etcd, " \
                                     "etcd key dbHost)"


def test_db_etcd_decides_over_stale_properties():
    lab = Lab()
    lab.spec("MGMT1").db = {"dbClass": "PGSQL", "dbHost": "localhost", "dbPort": "5433", "embeddedDb": "1"}
    lab.spec("MGMT1").etcd_db = {"dbClass": "MSSQL", "dbHost": "sql01.corp.example", "dbPort": "1433",
                                 "embeddedDb": "0"}
    assert lab.run("DB-EXTERNAL")["MGMT1"].status == Status.PASS


def test_db_falls_back_to_properties_when_etcd_does_not_answer():
    lab = embedded(Lab()).edit(lambda s: setattr(s["MGMT1"].etcd, "error", "GET http://127.0.0.1:2379/v2/members: "
                                                                        "Unable to connect to the remote server"))
    f = lab.run("DB-EXTERNAL")["MGMT1"]
    assert f.status == Status.FAIL
    assert f.details["decided_by"] == "properties"
    assert f.line == 7
    assert f.file == MGMT_CONF
    assert "an assumed location, because etcd did not answer: GET http://127.0.0.1:2379/v2/members" in f.message


def test_db_host_name_of_other_management_node():
    found = embedded(Lab(), host_on_mgmt2="MGMT1.CORP.EXAMPLE").run("DB-EXTERNAL")
    assert "MGMT1" in found["MGMT2"].message
    assert found["MGMT2"].status == Status.FAIL


def test_db_embedded_single_node_is_medium():
    lab = Lab(managements=1)
    lab.spec("MGMT1").embedded_db_host = True
    lab.spec("MGMT1").db = {"dbClass": "PGSQL", "dbHost": "127.0.0.1", "dbPort": "5433"}
    f = lab.run("DB-EXTERNAL")["MGMT1"]
    assert f.status == Status.FAIL
    assert f.severity == Severity.MEDIUM


def test_db_embedded_flag_alone_is_not_trusted():
    lab = Lab()
    lab.spec("MGMT1").db = {"dbClass": "MSSQL", "dbHost": "sql01.corp.example", "dbPort": "1433", "embeddedDb": "1"}
    assert lab.run("DB-EXTERNAL")["MGMT1"].status == Status.PASS


def test_db_host_unknown_running_pg_fails_else_error():
    def no_host(s):
        rewrite(s["MGMT1"], MGMT_CONF, lambda t: t.replace("dbHost=", "#dbHost="))
        s["MGMT1"].etcd.values.pop("dbHost")
    f = Lab().edit(no_host).run("DB-EXTERNAL")["MGMT1"]
    assert f.status == Status.ERROR
    assert f.message.startswith("cannot evaluate: database host found neither in etcd")

    def no_host_pg(s):
        no_host(s)
        s["MGMT1"].services.append(Service(name="YSoftPGSQL", state="Running", start_time="2026-11-20T02:00:00Z"))
        s["MGMT1"].listening_ports.append(ListeningPort(address="0.0.0.0", port=5433))
    assert Lab().edit(no_host_pg).run("DB-EXTERNAL")["MGMT1"].status == Status.FAIL


# ---- MGMT-CONFIG-CONSISTENT: tests/checks/test_shared_config.py ----------------------------------


def test_db_on_sql_express_instance_of_a_management_node_fails():
    lab = Lab()
    for name in ("MGMT1", "MGMT2"):
        lab.spec(name).db = {"dbClass": "MSSQL", "dbHost": "tcp:mgmt1\\\\SQLEXPRESS,1433", "dbPort": "1433"}
    found = lab.run("DB-EXTERNAL")
    assert failing(found) == {"MGMT1", "MGMT2"}
    assert "not an external" in found["MGMT2"].message
    assert "MGMT1" in found["MGMT2"].message
    assert failing(lab.run("MGMT-CONFIG-CONSISTENT")) == set()
