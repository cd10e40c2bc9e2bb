"""SPOC-MGMT-LIST and SPOC-IMS-ADDRESSES on small clusters with nasty inputs."""

from __future__ import annotations

import codecs

from auditor.findings import Status
from auditor.lab.scenario_builder import MgmtSpec
from tests.checks.checklab import (
    SITE2_SPOC_CONF,
    SPOC_CONF,
    SPOC_IMS,
    Lab,
    failing,
    rewrite,
    set_file,
    statuses,
)

G1 = "6f1c2a01-3b7e-4c1d-9a55-000000000001"
G2 = "6f1c2a02-3b7e-4c1d-9a55-000000000002"


def test_healthy_all_spocs_pass():
    found = Lab().run("SPOC-MGMT-LIST")
    assert statuses(found) == {"MGMT1": "pass", "MGMT2": "pass", "SITE1": "pass", "SITE2": "pass"}
    assert found["SITE2"].file == SITE2_SPOC_CONF  # D:\SafeQ6 found from the service ImagePath


def test_missing_server_fails_and_is_fixable():
    lab = Lab()
    lab.spec("SITE1").spoc_lists = ["MGMT1"]
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "missing Management server MGMT2" in f.message
    assert f.fixable
    assert {e["node"] for e in f.expected} == {"MGMT1", "MGMT2"}


def test_stale_entry_fails_with_its_line():
    lab = Lab()
    lab.spec("SITE1").spoc_stale = [MgmtSpec("OLD", "10.0.10.99", "old-guid")]
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "stale" in f.message
    assert f.line == 12
    # the report's copy-paste fix command must include the opt-in for removing entries
    assert f.details["fix_args"] == ["--remove-stale"]
    assert "fix_args" not in Lab().run("SPOC-MGMT-LIST")["SITE1"].details


def test_guid_case_and_braces_pass_with_note():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF,
                                       lambda t: t.replace(f"serverGUID={G1}", "serverGUID={" + G1.upper() + "}")))
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.PASS
    assert "case/braces differ" in f.message
    assert f.details["notes"]


def test_host_name_instead_of_ip_resolves_against_model():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF, lambda t: t.replace(
        "serverIP=10.0.10.11", "serverIP=MGMT1.corp.example").replace("serverIP2=10.0.10.12", "serverIP2=mgmt2")))
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.PASS
    assert "host name" in f.message


def test_wrong_ip_for_guid_fails():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF,
                                       lambda t: t.replace("serverIP2=10.0.10.12", "serverIP2=10.0.10.77")))
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "10.0.10.77 is not an address of MGMT2 (expected 10.0.10.12)" in f.message
    assert f.line == 10


def test_swapped_guid_for_ip_fails():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF,
                                       lambda t: t.replace(f"serverGUID2={G2}", "serverGUID2=someone-else")))
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "GUID someone-else for MGMT2 (10.0.10.12), expected " in f.message


def test_wrong_port_fails():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF,
                                       lambda t: t.replace("serverPORT2=6010", "serverPORT2=6011")))
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "port 6011" in f.message
    assert f.line == 11


def test_duplicate_entry_and_gap_fail():
    dup = Lab()
    dup.spec("SITE1").spoc_stale = [MgmtSpec("MGMT1", "10.0.10.11", G1)]
    f = dup.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "duplicates entry 1" in f.message
    gap = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF, lambda t: t.replace("serverGUID2=", "serverGUID3=")
                                       .replace("serverIP2=", "serverIP3=").replace("serverPORT2=", "serverPORT3=")))
    f = gap.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.FAIL
    assert "gap in numbering" in f.message


def test_utf16_bom_crlf_with_comments_and_spaces_passes():
    def nasty(t: str) -> str:
        t = t.replace("=", " = ")
        return "; written by hand\r\n! another comment style\r\n" + t
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF, nasty, encoding="utf-16-le",
                                       bom=codecs.BOM_UTF16_LE))
    assert Lab().run("SPOC-MGMT-LIST")["SITE1"].status == Status.PASS
    assert lab.run("SPOC-MGMT-LIST")["SITE1"].status == Status.PASS


def test_unparseable_and_missing_file_are_errors_not_passes():
    bad = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_CONF, lambda t: t + "garbage line without separator\r\n"))
    f = bad.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.ERROR
    assert f.line == 16
    assert f.file == SPOC_CONF
    gone = Lab().edit(lambda s: set_file(s["SITE1"], SPOC_CONF, None, exists=False))
    f = gone.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.ERROR
    assert "does not exist" in f.message


def test_unreachable_nodes_skip_and_unknown_guid_matched_by_ip():
    def down(s):
        s["MGMT2"].status, s["MGMT2"].reason = "timeout", "no answer in 30 s"
        s["SITE2"].status, s["SITE2"].reason = "refused", "connection refused"
    found = Lab().edit(down).run("SPOC-MGMT-LIST")
    assert statuses(found) == {"MGMT1": "error", "MGMT2": "skip", "SITE1": "error", "SITE2": "skip"}
    assert "MGMT2 was not collected (no answer in 30 s)" in found["SITE1"].message
    assert "connection refused" in found["SITE2"].message


def test_site_without_spoc_service_uses_collected_file_or_errors():
    lab = Lab().edit(lambda s: s["SITE1"].services.__setitem__(
        slice(None), [x for x in s["SITE1"].services if x.name != "YSoftSQ-SPOC"]))
    f = lab.run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.PASS
    assert f.file == SPOC_CONF

    def strip(s):
        s["SITE1"].services = [x for x in s["SITE1"].services if x.name != "YSoftSQ-SPOC"]
        s["SITE1"].files.clear()
    f = Lab().edit(strip).run("SPOC-MGMT-LIST")["SITE1"]
    assert f.status == Status.ERROR


# ---- SPOC-IMS-ADDRESSES ----------------------------------------------------------------

def test_ims_addresses_healthy_and_missing():
    assert failing(Lab().run("SPOC-IMS-ADDRESSES")) == set()
    lab = Lab()
    lab.spec("SITE2").ims_lists = ["MGMT1"]
    f = lab.run("SPOC-IMS-ADDRESSES")["SITE2"]
    assert f.status == Status.FAIL
    assert "MGMT2" in f.message
    assert f.fixable
    assert f.line == 2


def test_ims_addresses_forms_hosts_urls_separators():
    lab = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_IMS, lambda t: t.replace(
        "10.0.10.11:8443,10.0.10.12:8443", "https://MGMT1.corp.example:8443/ims ;  mgmt2")))
    assert lab.run("SPOC-IMS-ADDRESSES")["SITE1"].status == Status.PASS


def test_ims_addresses_stale_duplicate_and_absent_key():
    stale = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_IMS, lambda t: t.replace(
        "10.0.10.12:8443", "10.0.10.12:8443,10.0.10.10:8443")))
    f = stale.run("SPOC-IMS-ADDRESSES")["SITE1"]
    assert f.status == Status.FAIL
    assert "stale" in f.message
    dup = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_IMS, lambda t: t.replace(
        "10.0.10.12:8443", "10.0.10.12:8443,mgmt2.corp.example:8443")))
    assert "duplicates" in dup.run("SPOC-IMS-ADDRESSES")["SITE1"].message
    absent = Lab().edit(lambda s: rewrite(s["SITE1"], SPOC_IMS, lambda t: t.replace(
        "infrastructureServiceAddresses", "# infrastructureServiceAddresses")))
    f = absent.run("SPOC-IMS-ADDRESSES")["SITE1"]
    assert f.status == Status.FAIL
    assert "not set" in f.message


def test_ims_addresses_file_missing_is_error():
    lab = Lab().edit(lambda s: set_file(s["SITE1"], SPOC_IMS, None, exists=False))
    assert lab.run("SPOC-IMS-ADDRESSES")["SITE1"].status == Status.ERROR


def test_no_management_server_in_the_inventory_skips_both_spoc_checks():
    """Without a Management server there is no expected list: skip (never pass) on every SPOC."""
    def sites_only(s):
        for st in s.values():
            st.roles = ["site"]
    for check_id in ("SPOC-MGMT-LIST", "SPOC-IMS-ADDRESSES"):
        found = Lab().edit(sites_only).run(check_id)
        assert set(statuses(found).values()) == {"skip"}, check_id
        assert all("names no Management server" in f.message for f in found.values())
