"""The profile held against a cluster model, node by node: what each kind of fact shows when the
cluster agrees, when it shows something else, and when nothing seen decides it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, ListeningPort, NodeState
from auditor.profile import load_profile
from auditor.profile.observations import Observe
from auditor.profile.observers import OBSERVERS
from auditor.profile.survey import Observer
from auditor.profile.verification import FactOutcome, Outcome, Scope, Verification
from auditor.profile.verify import exit_code_for, relied_on_by, verify_states
from auditor.vocab import ExitStatus, NodeStatus
from auditor.winpath import path_key

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
PROFILE = load_profile()
MGMT_CONF = "C:\\DispatcherParagon\\Management\\conf\\management.properties"
SPOC_IMS = "C:\\DispatcherParagon\\SPOC\\ims\\application.properties"
DP_KEY = "HKLM\\SOFTWARE\\WOW6432Node\\Konica Minolta\\Dispatcher Paragon"
SAFEQ_KEY = "HKLM\\SOFTWARE\\WOW6432Node\\Y Soft Corporation\\YSoft SafeQ 6"


def healthy() -> dict[str, NodeState]:
    _, states = load_cluster_folder(SCENARIOS / "healthy")
    return {s.name: s for s in states}


def verify(states: dict[str, NodeState], *facts: str, scope: Scope = Scope.ALL) -> Verification:
    return verify_states(list(states.values()), PROFILE, scope=scope, facts=facts)


def fact(v: Verification, key: str):
    return next(f for f in v.facts if f.fact == key)


def seen(v: Verification, key: str, node: str) -> tuple[Outcome, str]:
    """(outcome, what was seen) of ``node`` for fact ``key``."""
    g = next(g for g in fact(v, key).groups if node in g.nodes)
    return g.outcome, g.seen


def rewrite(state: NodeState, path: str, old: bytes, new: bytes) -> None:
    entry = state.file(path)
    state.files[path_key(path)] = dataclasses.replace(entry, content=entry.content.replace(old, new))


DISPLAY = "subsystems.management.services[YSoftSQ-Management].display_names"


def test_a_display_name_the_profile_lists_is_confirmed():
    assert seen(verify(healthy(), DISPLAY), DISPLAY, "MGMT1") == (
        Outcome.CONFIRMED, "display name 'Dispatcher Paragon Management Service'")


def test_another_display_name_contradicts_and_says_which():
    states = healthy()
    states["MGMT2"].service("YSoftSQ-Management").display_name = "Dispatcher Paragon Management Server"
    assert seen(verify(states, DISPLAY), DISPLAY, "MGMT2") == (
        Outcome.CONTRADICTED, "display name is 'Dispatcher Paragon Management Server'")


def test_a_service_under_another_name_contradicts_the_name_and_confirms_the_display_name():
    states = healthy()
    states["MGMT1"].service("YSoftSQ-Management").name = "DPManagement"
    v = verify(states, "subsystems.management.services")
    name = "subsystems.management.services[YSoftSQ-Management].name"
    assert (seen(v, name, "MGMT1"), seen(v, DISPLAY, "MGMT1")[0]) == (
        (Outcome.CONTRADICTED, "no service YSoftSQ-Management; 'Dispatcher Paragon Management Service' runs as "
                               "service DPManagement"), Outcome.CONFIRMED)


def test_a_key_absent_from_a_file_that_was_read_contradicts_and_names_the_keys_there():
    states = healthy()
    rewrite(states["MGMT1"], MGMT_CONF, b"localGUID=", b"serverGuid=")
    outcome, text = seen(verify(states, "management_conf.guid_key"), "management_conf.guid_key", "MGMT1")
    assert (outcome, text.split(" (keys there: ")[0]) == (Outcome.CONTRADICTED,
                                                         "no key localGUID in management.properties")
    assert "serverGuid" in text


def test_nodes_that_disagree_are_named_and_noted():
    states = healthy()
    rewrite(states["MGMT1"], MGMT_CONF, b"localGUID=", b"serverGuid=")
    f = fact(verify(states, "management_conf.guid_key"), "management_conf.guid_key")
    assert (f.outcome, f.nodes(Outcome.CONTRADICTED), f.nodes(Outcome.CONFIRMED), "disagree" in f.note) == (
        FactOutcome.CONTRADICTED, ["MGMT1"], ["MGMT2"], True)


def test_spoc_conf_server_keys_may_carry_a_number():
    states = healthy()
    rewrite(states["SITE1"], "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf", b"serverGUID=", b"serverGUID7=")
    assert seen(verify(states, "spoc_conf.guid_key"), "spoc_conf.guid_key", "SITE1") == (
        Outcome.CONFIRMED, "serverGUID7 in spoc.conf line 6")


def test_a_file_absent_from_its_folder_contradicts_and_its_keys_cannot_be_told():
    states = healthy()
    states["SITE1"].files[path_key(SPOC_IMS)] = FileEntry(path=SPOC_IMS, content=None, exists=False)
    v = verify(states, "spoc_ims")
    assert (seen(v, "spoc_ims.file", "SITE1"), seen(v, "spoc_ims.addresses_key", "SITE1")[0]) == (
        (Outcome.CONTRADICTED, f"{SPOC_IMS} does not exist"), Outcome.COULD_NOT_TELL)


def test_a_file_not_matched_by_the_collected_pattern_is_absent():
    states = healthy()
    spoc_conf = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
    del states["SITE1"].files[path_key(spoc_conf)]
    assert seen(verify(states, "spoc_conf.file"), "spoc_conf.file", "SITE1")[0] is Outcome.CONTRADICTED


def test_a_subsystem_whose_folder_is_unknown_cannot_tell():
    states = healthy()
    states["SITE1"].services = [s for s in states["SITE1"].services if s.name != "YSoftSQ-SPOC"]
    states["SITE1"].files = {}
    outcome, text = seen(verify(states, "spoc_ims.file"), "spoc_ims.file", "SITE1")
    assert (outcome, text.startswith("the Spooler Controller folder is unknown")) == (Outcome.COULD_NOT_TELL, True)


def test_a_node_not_collected_cannot_tell_and_makes_the_exit_code_3():
    states = healthy()
    states["SITE2"] = NodeState(name="SITE2", roles=["site"], status=NodeStatus.AUTH, reason="bad password")
    v = verify(states, "spoc_conf.guid_key")
    assert (seen(v, "spoc_conf.guid_key", "SITE2"), v.not_collected, exit_code_for(v)) == (
        (Outcome.COULD_NOT_TELL, "node not collected (auth)"), ("SITE2",), ExitStatus.UNREACHABLE)


def test_a_fact_a_node_does_not_concern_has_no_row_for_it():
    v = verify(healthy(), "management_conf.guid_key")
    assert sorted(n for g in fact(v, "management_conf.guid_key").groups for n in g.nodes) == ["MGMT1", "MGMT2"]


def test_nodes_that_showed_the_same_thing_are_one_group():
    f = fact(verify(healthy(), "spoc_conf.guid_key"), "spoc_conf.guid_key")
    assert [(g.outcome, g.nodes) for g in f.groups] == [(Outcome.CONFIRMED, ("MGMT1", "MGMT2", "SITE1", "SITE2"))]


def test_a_registry_value_under_another_name_contradicts_and_lists_the_values():
    states = healthy()
    states["MGMT1"].registry = {DP_KEY: {"ProductVersion": "6.0.112.4"}}
    v = verify(states, "version.registry")
    assert (seen(v, f"version.registry[{DP_KEY}].key", "MGMT1")[0],
            seen(v, f"version.registry[{DP_KEY}].value", "MGMT1")) == (
        Outcome.CONFIRMED, (Outcome.CONTRADICTED, "no value Version (values there: ProductVersion)"))


def test_the_other_branding_key_cannot_tell_but_no_version_key_at_all_contradicts():
    states = healthy()
    states["SITE2"].registry = {}
    v = verify(states, f"version.registry[{DP_KEY}].key")
    key = f"version.registry[{DP_KEY}].key"
    assert (seen(v, key, "SITE1")[0], seen(v, key, "SITE2")[0]) == (Outcome.COULD_NOT_TELL, Outcome.CONTRADICTED)


def test_an_install_log_the_pattern_does_not_match_contradicts():
    states = healthy()
    log = "C:\\DispatcherParagon\\Management\\management-server-install.log"
    rewrite(states["MGMT1"], log, b"version 6.0.112.4", b"release 6.0.112.4")
    v = verify(states, "version.install_log.pattern")
    assert (seen(v, "version.install_log.pattern", "MGMT1")[0], seen(v, "version.install_log.pattern", "MGMT2")) == (
        Outcome.CONTRADICTED, (Outcome.CONFIRMED, "version 6.0.112.4 in management-server-install.log"))


def test_the_management_port_is_confirmed_by_a_listener_and_unknown_when_another_is_configured():
    states = healthy()
    states["MGMT1"].listening_ports.append(ListeningPort(address="0.0.0.0", port=6010))
    rewrite(states["MGMT2"], MGMT_CONF, b"cmlPort=6010", b"cmlPort=6011")
    v = verify(states, "spoc_conf.default_port")
    assert (seen(v, "spoc_conf.default_port", "MGMT1")[0], seen(v, "spoc_conf.default_port", "MGMT2")) == (
        Outcome.CONFIRMED, (Outcome.COULD_NOT_TELL, "this server is configured for port 6011"))


def test_an_observer_that_fails_on_a_node_cannot_tell_and_the_rest_goes_on(monkeypatch):
    real = OBSERVERS[Observe.CONF_KEY]

    def broken(ask, node):
        if node.name == "SITE1":
            raise ValueError("odd data")
        return real.observe(ask, node)

    monkeypatch.setitem(OBSERVERS, Observe.CONF_KEY, Observer(real.concerns, broken))
    v = verify(healthy(), "spoc_conf.guid_key")
    assert (seen(v, "spoc_conf.guid_key", "SITE1"), seen(v, "spoc_conf.guid_key", "SITE2")[0]) == (
        (Outcome.COULD_NOT_TELL, "could not be observed: ValueError: odd data"), Outcome.CONFIRMED)


def test_by_default_only_assumed_and_inferred_facts_are_held_against_the_cluster():
    v = verify(healthy(), scope=Scope.UNCERTAIN)
    assert {f.certainty.value for f in v.facts} == {"assumed", "inferred"}


def test_all_holds_confirmed_facts_too():
    v = verify(healthy(), "embedded_db.port", "subsystems.spooler_controller.services")
    assert [f.certainty.value for f in v.facts] == ["confirmed", "confirmed", "confirmed"]


def test_a_fact_pattern_that_names_nothing_is_an_input_error():
    with pytest.raises(InputError, match="--fact spoc_conf.guid_kye: no product fact"):
        verify(healthy(), "spoc_conf.guid_kye")


def test_settings_of_the_auditor_are_never_verified():
    with pytest.raises(InputError, match="--fact max_file_bytes: a setting of the auditor"):
        verify(healthy(), "max_file_bytes")


def test_a_fact_knows_the_checks_relying_on_it():
    assert "SPOC-MGMT-LIST" in relied_on_by("spoc_conf.guid_key")


def test_nothing_contradicted_exits_0_and_a_contradiction_exits_1():
    states = healthy()
    clean = exit_code_for(verify(states, "spoc_conf.guid_key"))
    states["MGMT2"].service("YSoftSQ-Management").display_name = "Something else"
    assert (clean, exit_code_for(verify(states, DISPLAY))) == (ExitStatus.OK, ExitStatus.FINDINGS)


def test_the_result_round_trips_through_json():
    states = healthy()
    states["SITE2"] = NodeState(name="SITE2", roles=["site"], status=NodeStatus.TIMEOUT)
    v = verify(states, scope=Scope.UNCERTAIN)
    assert Verification.from_dict(v.to_dict()) == v


# ---- the Management etcd ---------------------------------------------------------------------
def test_database_keys_only_in_etcd_contradict_the_properties_keys_and_say_where_they_are():
    states = healthy()
    rewrite(states["MGMT1"], MGMT_CONF, b"dbClass=", b"x-dbClass=")
    outcome, text = seen(verify(states, "management_conf.db.class_key"), "management_conf.db.class_key", "MGMT1")
    assert (outcome, text.endswith("; the node's etcd holds a key of that name")) == (Outcome.CONTRADICTED, True)


def test_an_etcd_key_the_node_holds_is_confirmed():
    assert seen(verify(healthy(), "etcd.db.class_key"), "etcd.db.class_key", "MGMT1") == (
        Outcome.CONFIRMED, "dbClass in etcd")


def test_an_etcd_key_absent_from_the_listed_names_contradicts_and_lists_them():
    states = healthy()
    etcd = states["MGMT2"].etcd
    etcd.values.pop("dbDbName")
    etcd.key_names = [k for k in etcd.key_names if k != "dbDbName"]
    outcome, text = seen(verify(states, "etcd.db.name_key"), "etcd.db.name_key", "MGMT2")
    assert (outcome, text.startswith("no key dbDbName in etcd (keys there: dbClass, ")) == (Outcome.CONTRADICTED, True)


def test_etcd_that_did_not_answer_while_its_service_runs_contradicts_the_endpoint():
    states = healthy()
    states["MGMT1"].etcd.error = "connection refused"
    assert seen(verify(states, "etcd.endpoint"), "etcd.endpoint", "MGMT1") == (
        Outcome.CONTRADICTED, "service YSoftEtcd runs, but did not answer at http://127.0.0.1:2379: connection refused")


def test_etcd_not_asked_cannot_tell_its_keys():
    states = healthy()
    states["MGMT1"].etcd = None
    assert seen(verify(states, "etcd.keys"), "etcd.keys", "MGMT1")[0] is Outcome.COULD_NOT_TELL


def test_members_that_are_the_management_servers_confirm_and_foreign_ones_contradict():
    states = healthy()
    states["MGMT2"].etcd.members = [
        dataclasses.replace(m, name=m.name.replace("MGMT", "ETCDHOST"),
                            peer_urls=tuple(u.replace("10.0.10.", "10.9.9.") for u in m.peer_urls),
                            client_urls=tuple(u.replace("10.0.10.", "10.9.9.") for u in m.client_urls))
        for m in states["MGMT2"].etcd.members]
    v = verify(states, "etcd.members_are_management_servers")
    key = "etcd.members_are_management_servers"
    assert (seen(v, key, "MGMT1")[0], seen(v, key, "MGMT2")[0]) == (Outcome.CONFIRMED, Outcome.CONTRADICTED)


def test_a_shared_configuration_file_is_looked_for_in_the_folder_of_the_subsystem_its_entry_names():
    key = "shared_config.infrastructure_service.path"
    assert seen(verify(healthy(), key), key, "MGMT1") == (
        Outcome.CONFIRMED, "C:\\DispatcherParagon\\Management\\ims\\application.properties")
