"""ETCD-MEMBERS (etcd answers on every Management server and lists exactly the Management servers) and
DB-SETTINGS-CONSISTENT (every Management server reports the same database)."""

from __future__ import annotations

from auditor.declared import DatabaseDeclaration, Declarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.lab.scenario_builder import MgmtSpec
from auditor.nodestate import EtcdMember
from auditor.vocab import NodeStatus
from tests.checks.checklab import Lab, failing, statuses

STALE = MgmtSpec(name="MGMT0", ip="10.0.10.10", guid="old")


def test_healthy_members_pass_and_site_servers_are_skipped():
    found = Lab().run("ETCD-MEMBERS")
    assert statuses(found) == {"MGMT1": "pass", "MGMT2": "pass", "SITE1": "skip", "SITE2": "skip"}
    assert "2 member(s), one per Management server" in found["MGMT1"].message


def test_etcd_not_answering_fails_with_the_reason():
    lab = Lab().edit(lambda s: setattr(s["MGMT2"].etcd, "error", "GET http://127.0.0.1:2379/v2/members: "
                                                                  "Unable to connect to the remote server"))
    found = lab.run("ETCD-MEMBERS")
    assert failing(found) == {"MGMT2"}
    assert found["MGMT2"].status == Status.FAIL
    assert "etcd does not answer at http://127.0.0.1:2379: GET" in found["MGMT2"].message


def test_stale_member_is_named():
    lab = Lab()
    for name in ("MGMT1", "MGMT2"):
        lab.spec(name).etcd_stale_members = [STALE]
    found = lab.run("ETCD-MEMBERS")
    assert failing(found) == {"MGMT1", "MGMT2"}
    assert "member MGMT0 (http://10.0.10.10:2380) is no Management server of the inventory (stale member)" \
        in found["MGMT1"].message


def test_management_server_missing_from_the_members():
    lab = Lab(managements=3)
    for name in ("MGMT1", "MGMT2", "MGMT3"):
        lab.spec(name).etcd_members = ["MGMT1", "MGMT2"]
    found = lab.run("ETCD-MEMBERS")
    assert failing(found) == {"MGMT1", "MGMT2", "MGMT3"}
    assert found["MGMT1"].message == "Management server MGMT3 is not a member"
    assert found["MGMT1"].expected == ["MGMT1", "MGMT2", "MGMT3"]
    assert found["MGMT1"].actual == ["MGMT1", "MGMT2"]


def test_members_matched_by_name_when_urls_use_another_address():
    def renumber(states):
        etcd = states["MGMT1"].etcd
        etcd.members = [EtcdMember(name=m.name, peer_urls=(f"http://192.168.77.{i}:2380",), client_urls=())
                        for i, m in enumerate(etcd.members)]
    found = Lab().edit(renumber).run("ETCD-MEMBERS")
    assert found["MGMT1"].status == Status.PASS


def test_unhealthy_etcd_fails():
    found = Lab().edit(lambda s: setattr(s["MGMT1"].etcd, "healthy", False)).run("ETCD-MEMBERS")
    assert failing(found) == {"MGMT1"}
    assert "unhealthy" in found["MGMT1"].message


def test_an_uncollected_management_server_is_never_blamed():
    def down(states):
        states["MGMT2"].status = NodeStatus.AUTH
        states["MGMT2"].reason = "wrong password"
    found = Lab().edit(down).run("ETCD-MEMBERS")
    assert found["MGMT1"].status == Status.PASS  # member 10.0.10.12 is MGMT2's inventory address
    assert found["MGMT2"].status == Status.SKIP

    def down_and_unmatchable(states):
        down(states)
        states["MGMT2"].address = "mgmt2-alias.corp.example"
        states["MGMT1"].etcd.members = [m if m.name != "MGMT2" else EtcdMember("WIN-7Q2", ("http://10.0.10.99:2380",))
                                        for m in states["MGMT1"].etcd.members]
    found = Lab().edit(down_and_unmatchable).run("ETCD-MEMBERS")
    assert found["MGMT1"].status == Status.ERROR
    assert "member WIN-7Q2 (http://10.0.10.99:2380) matches no collected Management server; it may be MGMT2 " \
           "(not collected)" in found["MGMT1"].message


def test_uncollected_server_without_any_candidate_member_is_not_verifiable():
    def down(states):
        states["MGMT2"].status = NodeStatus.TIMEOUT
        states["MGMT2"].address = "mgmt2-alias.corp.example"
        states["MGMT1"].etcd.members = [m for m in states["MGMT1"].etcd.members if m.name == "MGMT1"]
    found = Lab().edit(down).run("ETCD-MEMBERS")
    assert found["MGMT1"].status == Status.ERROR
    assert "MGMT2 was not collected and no member matches its address or name" in found["MGMT1"].message


def test_missing_service_fails_and_missing_facts_are_an_error():
    def no_service(states):
        states["MGMT1"].services = [s for s in states["MGMT1"].services if s.name != "YSoftEtcd"]
        states["MGMT1"].etcd = None
        states["MGMT2"].etcd = None
    found = Lab().edit(no_service).run("ETCD-MEMBERS")
    assert found["MGMT1"].status == Status.FAIL
    assert "no etcd service" in found["MGMT1"].message
    assert found["MGMT2"].status == Status.ERROR


# ---- DB-SETTINGS-CONSISTENT ------------------------------------------------------------------

SQL02 = {"dbClass": "MSSQL", "dbHost": "sql02.corp.example", "dbPort": "1433", "embeddedDb": "0"}
DECLARED = Declarations(source="cluster.yaml", database=DatabaseDeclaration("MSSQL", "sql01.corp.example", 1433),
                        lines={"database": 4})


def test_same_database_everywhere_passes_and_says_where_it_was_read():
    found = Lab().run("DB-SETTINGS-CONSISTENT")
    assert statuses(found) == {"MGMT1": "pass", "MGMT2": "pass", "SITE1": "skip", "SITE2": "skip"}
    assert found["MGMT1"].message == "same database as MGMT2: MSSQL sql01.corp.example:1433 SQDB6, user sqdb6user " \
                                     "(read from its etcd)"
    assert found["MGMT1"].expected_sources["database host"].source == ExpectationSource.CONSENSUS


def test_the_node_whose_etcd_disagrees_is_named():
    lab = Lab(managements=3)
    lab.spec("MGMT2").etcd_db = SQL02
    found = lab.run("DB-SETTINGS-CONSISTENT")
    assert failing(found) == {"MGMT2"}
    assert found["MGMT2"].message.startswith("database host sql02.corp.example differs from sql01.corp.example, "
                                             "the value of MGMT1, MGMT3 (2 of 3)")
    assert found["MGMT2"].actual == {"host": "sql02.corp.example"}
    assert "MGMT2 differs, see its finding" in found["MGMT1"].message


def test_two_servers_that_disagree_without_a_declaration_are_a_tie():
    lab = Lab()
    lab.spec("MGMT2").etcd_db = SQL02
    found = lab.run("DB-SETTINGS-CONSISTENT")
    assert failing(found) == {"MGMT1", "MGMT2"}
    assert "tie:" in found["MGMT1"].message
    assert "(key database)" in found["MGMT1"].message


def test_the_declared_database_decides():
    lab = Lab()
    lab.spec("MGMT2").etcd_db = SQL02
    found = lab.run("DB-SETTINGS-CONSISTENT", declared=DECLARED)
    assert failing(found) == {"MGMT2"}
    assert "differs from the declared sql01.corp.example (cluster.yaml line 4)" in found["MGMT2"].message
    assert found["MGMT2"].expected_sources["database host"].source == ExpectationSource.DECLARED


def test_localhost_on_the_database_server_is_that_server():
    lab = Lab(managements=3)
    lab.spec("MGMT1").db = {"dbClass": "PGSQL", "dbHost": "localhost", "dbPort": "5433", "embeddedDb": "0"}
    lab.spec("MGMT2").db = {"dbClass": "PGSQL", "dbHost": "10.0.10.11", "dbPort": "5433", "embeddedDb": "0"}
    lab.spec("MGMT3").db = {"dbClass": "pgsql", "dbHost": "MGMT1.corp.example", "dbPort": "5433", "embeddedDb": "0"}
    assert failing(lab.run("DB-SETTINGS-CONSISTENT")) == set()


def test_a_server_not_collected_never_votes_and_is_never_blamed():
    lab = Lab(managements=3)
    lab.spec("MGMT2").etcd_db = SQL02  # what MGMT2 holds, but it is not collected

    def down(states):
        states["MGMT2"].status = NodeStatus.REFUSED
    found = lab.edit(down).run("DB-SETTINGS-CONSISTENT")
    assert found["MGMT2"].status == Status.SKIP
    assert failing(found) == set()
    assert found["MGMT1"].message.startswith("same database as MGMT3: MSSQL sql01.corp.example:1433 SQDB6")
    assert "MGMT2" in found["MGMT1"].message.split("(read from its etcd)")[1]  # named as not voting


def test_etcd_not_answering_falls_back_to_the_properties_and_says_so():
    lab = Lab(managements=3).edit(lambda s: setattr(s["MGMT3"].etcd, "error", "GET x: refused"))
    found = lab.run("DB-SETTINGS-CONSISTENT")
    assert failing(found) == set()
    assert "read from C:\\DispatcherParagon\\Management\\conf\\management.properties (assumed location: etcd " \
           "did not answer: GET x: refused)" in found["MGMT3"].message
    assert found["MGMT3"].details["source"] == "properties"


def test_no_settings_anywhere_is_an_error_and_one_server_alone_is_skipped():
    lab = Lab()
    lab.spec("MGMT1").db_in_properties = False
    found = lab.edit(lambda s: setattr(s["MGMT1"].etcd, "error", "GET x: refused")).run("DB-SETTINGS-CONSISTENT")
    assert found["MGMT1"].status == Status.ERROR
    assert found["MGMT2"].status == Status.SKIP
    single = Lab(managements=1)
    assert single.run("DB-SETTINGS-CONSISTENT")["MGMT1"].status == Status.SKIP
    single.spec("MGMT1").etcd_db = SQL02
    assert single.run("DB-SETTINGS-CONSISTENT", declared=DECLARED)["MGMT1"].status == Status.FAIL
