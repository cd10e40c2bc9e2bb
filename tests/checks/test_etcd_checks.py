"""ETCD-MEMBERS: etcd answers on every Management server and lists exactly the Management servers."""

from __future__ import annotations

from checklab import Lab, failing, statuses

from auditor.findings import Status
from auditor.lab.scenario_builder import MgmtSpec
from auditor.nodestate import EtcdMember
from auditor.vocab import NodeStatus

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
