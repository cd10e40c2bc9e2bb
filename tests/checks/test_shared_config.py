"""MGMT-CONFIG-CONSISTENT: every key of the configuration the profile marks as shared (Management
Service conf\\*.properties, Infrastructure Service ims\\application.properties) is compared across
the Management servers; only the deviating server fails, naming each key, its value on each
server, the file and line; secrets are compared by hash and never shown."""

from __future__ import annotations

import codecs

from auditor.declared import Declarations
from auditor.expectations import ExpectationSource
from auditor.findings import Status
from auditor.profile import load_profile
from auditor.vocab import NodeStatus
from tests.checks.checklab import MGMT_CONF, MGMT_IMS, Lab, failing, rewrite, set_file

CHECK = "MGMT-CONFIG-CONSISTENT"
PORT = "ims\\application.properties server.port"
TIMEOUT = "conf\\management.properties sessionTimeoutMinutes"


def ims(node: str, fn):
    return lambda s: rewrite(s[node], MGMT_IMS, fn)


def conf(node: str, fn):
    return lambda s: rewrite(s[node], MGMT_CONF, fn)


def port_on(node: str, port: str = "8080"):
    return ims(node, lambda t: t.replace("server.port=5111", f"server.port={port}"))


def declare(file: str, key: str, value: str) -> Declarations:
    return Declarations(source="cluster.yaml", shared_config={file: {key: value}},
                        lines={f"shared_config.{file}.{key}": 14})


# ---- healthy ----------------------------------------------------------------------------------
def test_healthy_cluster_passes():
    assert failing(Lab().run(CHECK)) == set()


def test_the_pass_counts_the_files_compared():
    f = Lab().run(CHECK)["MGMT1"]
    assert f.details["files"] == ["conf\\management.properties", "ims\\application.properties"]


def test_single_management_server_skips():
    assert Lab(managements=1).run(CHECK)["MGMT1"].status == Status.SKIP


# ---- one node deviating -----------------------------------------------------------------------
def test_one_node_deviating_in_the_infrastructure_service_file_fails_only_it():
    assert failing(Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)) == {"MGMT2"}


def test_the_deviating_node_names_key_values_and_holders():
    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"]
    assert f.message == ("1 shared key(s) differ from the other Management server(s): "
                         f"{PORT} is 8080 here (5111 on MGMT1, MGMT3)")


def test_the_finding_points_at_file_and_line():
    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"]
    assert (f.file, f.line) == (MGMT_IMS, 2)


def test_the_value_on_each_node_is_in_the_details():
    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"]
    assert f.details["differences"][0]["values"] == {"MGMT1": "5111", "MGMT2": "8080", "MGMT3": "5111"}


def test_expected_and_actual_are_keyed_by_file_and_key():
    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"]
    assert (f.expected, f.actual) == ({PORT: "5111"}, {PORT: "8080"})


def test_the_majority_is_the_expectation():
    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"]
    assert f.expected_sources[PORT].source is ExpectationSource.CONSENSUS


def test_the_agreeing_nodes_pass_naming_the_deviating_one():
    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT1"]
    assert f.message.endswith("; MGMT2 differs, see its finding")


def test_management_service_file_difference():
    lab = Lab(managements=3).edit(conf("MGMT3", lambda t: t.replace("sessionTimeoutMinutes=30",
                                                                     "sessionTimeoutMinutes=5")))
    assert lab.run(CHECK)["MGMT3"].actual == {TIMEOUT: "5"}


def test_the_deviating_node_is_fixable():
    assert Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"].fixable


# ---- keys present on some nodes only ----------------------------------------------------------
def test_a_key_missing_on_one_node_fails_that_node():
    lab = Lab(managements=3).edit(ims("MGMT1", lambda t: t.replace("repository.retentionDays=30\r\n", "")))
    assert failing(lab.run(CHECK)) == {"MGMT1"}


def test_a_missing_key_says_so():
    lab = Lab(managements=3).edit(ims("MGMT1", lambda t: t.replace("repository.retentionDays=30\r\n", "")))
    assert "ims\\application.properties repository.retentionDays missing here (30 on MGMT2, MGMT3)" in \
        lab.run(CHECK)["MGMT1"].message


def test_a_key_only_one_node_has_fails_that_node():
    lab = Lab(managements=3).edit(ims("MGMT2", lambda t: t + "cache.size=10\r\n"))
    assert "cache.size present only here (10; absent on MGMT1, MGMT3)" in lab.run(CHECK)["MGMT2"].message


def test_a_conf_file_only_one_node_has_fails_that_node():
    lab = Lab(managements=3).edit(lambda s: set_file(
        s["MGMT2"], "C:\\DispatcherParagon\\Management\\conf\\extra.properties", b"x=1\n"))
    assert failing(lab.run(CHECK)) == {"MGMT2"}


# ---- ties and declarations --------------------------------------------------------------------
def test_two_nodes_two_values_tie_and_both_fail():
    assert failing(Lab().edit(port_on("MGMT2")).run(CHECK)) == {"MGMT1", "MGMT2"}


def test_the_tie_says_how_to_declare():
    f = Lab().edit(port_on("MGMT2")).run(CHECK)["MGMT1"]
    assert ("tie (MGMT1 5111, MGMT2 8080): declare the intended value in the inventory: "
            "shared_config: {'ims\\application.properties': {server.port: '<value>'}}") in f.message


def test_a_missing_key_on_two_nodes_is_a_tie_too():
    lab = Lab().edit(ims("MGMT2", lambda t: t.replace("repository.retentionDays=30\r\n", "")))
    assert failing(lab.run(CHECK)) == {"MGMT1", "MGMT2"}


def test_a_declaration_breaks_the_tie():
    found = Lab().edit(port_on("MGMT2")).run(CHECK, declared=declare("ims\\application.properties", "server.port",
                                                                      "8080"))
    assert failing(found) == {"MGMT1"}


def test_a_declaration_matches_the_file_in_any_case_and_separator():
    found = Lab().edit(port_on("MGMT2")).run(CHECK, declared=declare("IMS/Application.properties", "server.port",
                                                                      "5111"))
    assert failing(found) == {"MGMT2"}


def test_the_declaration_is_the_expectation_with_its_line():
    f = Lab().edit(port_on("MGMT2")).run(CHECK, declared=declare("ims\\application.properties", "server.port",
                                                                  "5111"))["MGMT2"]
    assert f.expected_sources[PORT].detail == "cluster.yaml line 14"


def test_a_declaration_beats_the_majority():
    found = Lab(managements=3).edit(port_on("MGMT2")).run(
        CHECK, declared=declare("ims\\application.properties", "server.port", "8080"))
    assert failing(found) == {"MGMT1", "MGMT3"}


def test_database_settings_are_left_to_db_settings_consistent():
    """The database keys of the Management configuration (profile management_conf.db) are
    DB-SETTINGS-CONSISTENT's: one home for the rule "every server uses the same database"."""
    lab = Lab().each("db", {"MGMT2": {"dbClass": "MSSQL", "dbHost": "sql02.corp.example", "dbPort": "1433",
                                      "embeddedDb": "0"}})
    assert failing(lab.run(CHECK)) == set()


# ---- not compared -----------------------------------------------------------------------------
def test_a_node_specific_key_that_differs_is_no_finding():
    lab = Lab().edit(conf("MGMT2", lambda t: t.replace("cmlJmxServerPort=19898", "cmlJmxServerPort=29898")))
    assert failing(lab.run(CHECK)) == set()


def test_node_specific_keys_are_patterns_from_the_profile():
    lab = Lab().edit(ims("MGMT1", lambda t: t + "eureka.instance.hostname=mgmt1\r\n"))
    lab.edit(ims("MGMT2", lambda t: t + "eureka.instance.hostname=mgmt2\r\n"))
    assert failing(lab.run(CHECK)) == set()


def test_an_override_can_mark_a_key_node_specific(tmp_path):
    override = tmp_path / "p.yaml"
    override.write_text("profile_version: 1\nshared_config:\n  infrastructure_service:\n"
                        "    node_specific_keys: [server.port]\n")
    assert failing(Lab().edit(port_on("MGMT2")).run(CHECK, profile=load_profile(override))) == set()


def test_the_repository_path_is_left_to_ims_repo_shared():
    lab = Lab(managements=3).each("repository_path", {"MGMT2": "\\\\fs02\\other"})
    assert failing(lab.run(CHECK)) == set()


# ---- secrets ----------------------------------------------------------------------------------
SECRET = "S3cr3t-Value!"


def secrets_lab() -> Lab:
    lab = Lab(managements=3)
    for name, pw in (("MGMT1", "same-pw"), ("MGMT2", "same-pw"), ("MGMT3", SECRET)):
        lab.edit(ims(name, lambda t, pw=pw: t + f"ims.dbPassword={pw}\r\n"))
    return lab


def test_a_secret_that_differs_is_a_finding():
    assert failing(secrets_lab().run(CHECK)) == {"MGMT3"}


def test_a_secret_is_never_shown():
    text = repr([f.to_dict() for f in secrets_lab().run(CHECK).values()])
    assert (SECRET in text, "same-pw" in text) == (False, False)


def test_a_secret_says_it_differs_without_the_value():
    assert ("ims\\application.properties ims.dbPassword differs (a secret, compared by hash: MGMT1, MGMT2 have the "
            "same value)") in secrets_lab().run(CHECK)["MGMT3"].message


def test_a_declared_secret_is_ignored_and_said_so():
    decl = declare("ims\\application.properties", "ims.dbPassword", "x")
    f = secrets_lab().run(CHECK, declared=decl)["MGMT3"]
    assert f.details["ignored_declarations"] == ["ims\\application.properties ims.dbPassword"]


# ---- what cannot be compared ------------------------------------------------------------------
def test_unparseable_file_is_error_with_line():
    f = Lab().edit(conf("MGMT2", lambda t: "bad=\\u00\r\n" + t)).run(CHECK)["MGMT2"]
    assert (f.status, f.line) == (Status.ERROR, 1)


def test_a_node_whose_file_cannot_be_read_does_not_vote():
    lab = Lab(managements=3).edit(port_on("MGMT3")).edit(conf("MGMT1", lambda t: "bad=\\u00\r\n" + t))
    lab.edit(ims("MGMT1", lambda t: "bad=\\u00\r\n" + t))
    assert failing(lab.run(CHECK)) == {"MGMT1", "MGMT2", "MGMT3"}  # MGMT1 error, MGMT2/MGMT3 tie


def test_unreachable_node_neither_votes_nor_fails():
    def down(states):
        states["MGMT1"].status = NodeStatus.REFUSED
    found = Lab(managements=3).edit(port_on("MGMT3")).edit(down).run(CHECK)
    assert (found["MGMT1"].status, failing(found)) == (Status.SKIP, {"MGMT2", "MGMT3"})


def test_utf16_file_compares_like_utf8():
    lab = Lab().edit(lambda s: rewrite(s["MGMT1"], MGMT_IMS, lambda t: t, encoding="utf-16-le",
                                       bom=codecs.BOM_UTF16_LE))
    assert failing(lab.run(CHECK)) == set()


def test_the_finding_is_json_as_reports_write_it():
    import json

    f = Lab(managements=3).edit(port_on("MGMT2")).run(CHECK)["MGMT2"]
    assert json.loads(json.dumps(f.to_dict()))["expected_sources"][PORT]["value"] == "5111"
