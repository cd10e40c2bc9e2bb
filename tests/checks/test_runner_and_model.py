"""run_checks isolation/filters and the cluster model's discovery and name resolution."""

from __future__ import annotations

import sys
import types

import pytest

import auditor.checks as checks_pkg
from auditor.addresses import split_host_port
from auditor.checks import run_checks
from auditor.cluster import Cluster, normalize_guid
from auditor.errors import InputError
from auditor.findings import CheckMeta, Severity, Status
from auditor.nodestate import NodeState
from auditor.winpath import image_executable, install_dir
from tests.checks.checklab import PROFILE, Lab


def test_only_and_nodes_filters():
    cluster = Lab().cluster()
    found = run_checks(cluster, only={"spoc-mgmt-list"}, nodes={"site1"})
    assert [(f.check_id, f.node) for f in found] == [("SPOC-MGMT-LIST", "SITE1")]
    with pytest.raises(InputError, match="NOPE"):
        run_checks(cluster, only={"NOPE"})


def test_crashing_check_becomes_error_finding(monkeypatch):
    mod = types.ModuleType("auditor.checks.zz_crash")
    mod.META = CheckMeta(id="ZZ-CRASH", title="t", severity=Severity.LOW, rationale="r", remediation="m")

    def run(cluster):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    mod.run = run
    real = checks_pkg.all_checks
    monkeypatch.setattr(checks_pkg, "all_checks", lambda: real() + [mod])
    monkeypatch.setitem(sys.modules, "auditor.checks.zz_crash", mod)
    found = run_checks(Lab().cluster())
    crash = [f for f in found if f.check_id == "ZZ-CRASH"]
    assert len(crash) == 1
    assert crash[0].status == Status.ERROR
    assert "boom" in crash[0].message
    assert any(f.check_id == "SPOC-MGMT-LIST" for f in found)  # the rest still ran


def test_image_path_parsing():
    assert image_executable('"C:\\A B\\SPOC\\bin\\wrapper.exe" -s "x.conf"') == "C:\\A B\\SPOC\\bin\\wrapper.exe"
    assert image_executable("C:\\SafeQ6\\SPOC\\bin\\wrapper.exe -s C:\\x") == "C:\\SafeQ6\\SPOC\\bin\\wrapper.exe"
    assert install_dir('"D:\\SafeQ6\\Management\\tomcat\\bin\\tomcat9.exe" //RS//x',
                                  ["\\tomcat\\bin", "\\bin"]) == "D:\\SafeQ6\\Management"
    assert install_dir("E:\\DP\\SPOC\\BIN\\wrapper.exe", ["\\bin"]) == "E:\\DP\\SPOC"


def test_helpers():
    assert normalize_guid("{ABC-def}") == "abc-def" == normalize_guid(" abc-DEF ")
    assert split_host_port("https://h.example:8443/ims") == ("h.example", 8443)
    assert split_host_port("10.0.0.1") == ("10.0.0.1", None)
    assert split_host_port("[fe80::1]:99") == ("fe80::1", 99)


def test_model_views():
    c = Lab().cluster()
    m1 = c.node("mgmt1")
    assert m1.is_management
    assert m1.management.guid.endswith("01")
    assert m1.management.cml_port == "6010"
    assert m1.management.db.host == "sql01.corp.example"
    assert m1.management.ims_account == "CORP\\svc-paragon"
    assert m1.spoc.install_dir == "C:\\DispatcherParagon\\SPOC"
    assert m1.version == "6.0.112.4"
    s2 = c.node("SITE2")
    assert s2.spoc.install_dir == "D:\\SafeQ6\\SPOC"
    assert s2.management is None
    assert [s.index for s in s2.spoc.servers] == [1, 2]
    assert [a.port for a in s2.spoc.ims_addresses] == [8443, 8443]
    assert [n.name for n in c.management_nodes] == ["MGMT1", "MGMT2"]
    assert [n.name for n in c.site_nodes] == ["SITE1", "SITE2"]


def test_resolution_ip_names_fqdn_short_and_localhost():
    c = Lab().cluster()
    m1, m2 = c.node("MGMT1"), c.node("MGMT2")
    assert c.resolve("10.0.10.12") is m2
    assert c.resolve("MGMT1") is m1
    assert c.resolve("mgmt1.CORP.example.") is m1
    assert c.resolve("mgmt1.other.example") is None  # a different domain is a different host
    assert c.resolve("localhost") is None
    assert c.resolve("localhost", from_node=m2) is m2
    assert c.resolve("127.0.0.1", from_node=m1) is m1
    assert c.resolve("10.0.20.10") is None  # a site server is not a management server
    assert c.resolve("10.0.20.10", candidates=c.nodes).name == "SITE1"


def test_unreachable_node_and_parse_errors_in_model():
    lab = Lab()

    def edit(s):
        s["SITE1"].status, s["SITE1"].reason = "timeout", "t"
        path = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
        s["MGMT2"].file(path).content = b"nonsense\n"
    c = lab.edit(edit).cluster()
    s1 = c.node("SITE1")
    assert not s1.reachable
    assert s1.spoc is None
    assert s1.management is None
    bad = c.node("MGMT2")
    assert bad.spoc.conf.status == "parse_error"
    assert bad.spoc.conf.line == 1
    assert bad.file_problems
    assert bad.file_problems[0].path.endswith("spoc.conf")


def test_empty_node_builds():
    c = Cluster.build([NodeState(name="X", roles=["site"])], PROFILE)
    assert c.node("x").spoc is None
    found = run_checks(c)
    assert {f.status.value for f in found if f.check_id == "SPOC-MGMT-LIST"} == {"error"}
