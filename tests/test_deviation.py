"""The who-is-wrong rule (auditor/deviation.py): declared, then validity, then majority."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from auditor.deviation import Basis, Declare, Verdict, judge
from auditor.expectations import ExpectationSource, Expected

DECLARED_A = Expected("A", ExpectationSource.DECLARED, "cluster.yaml line 4")
KEY = Declare("ims_service_account")


def bad_if_x(value: str) -> str | None:
    return f"{value} cannot work" if value.startswith("x") else None


# ---- majority -------------------------------------------------------------------------------
def test_majority_blames_only_the_odd_node():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.deviating == ("MGMT2",)


def test_majority_reference_is_the_majority_value():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.reference == "A"


def test_majority_basis():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.basis is Basis.MAJORITY


def test_majority_expectation_is_consensus_naming_the_holders():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.expected == Expected("A", ExpectationSource.CONSENSUS, "2 of 3: MGMT1, MGMT3")


def test_agreeing_node_notes_the_deviating_one():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.of("MGMT1").note == "MGMT2 differs, see its finding"


def test_agreeing_node_verdict():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.of("mgmt3").verdict is Verdict.AGREES


def test_deviating_reason_names_value_and_holders():
    j = judge({"MGMT1": "A", "MGMT2": "B", "MGMT3": "A"}, what="account")
    assert j.of("MGMT2").reason == "account B differs from A, the value of MGMT1, MGMT3 (2 of 3)"


def test_two_deviating_nodes_are_named_in_the_note():
    j = judge({"M1": "A", "M2": "B", "M3": "A", "M4": "A", "M5": "C"}, what="account")
    assert j.of("M1").note == "M2, M5 differ, see their findings"


def test_all_agree_is_unanimous_without_note():
    j = judge({"M1": "A", "M2": "A"}, what="account")
    assert (j.basis, j.of("M1").note, j.disagreement) == (Basis.UNANIMOUS, "", False)


def test_comparison_key_groups_spellings():
    j = judge({"M1": "CORP\\svc", "M2": "corp\\SVC"}, what="account", key=str.lower)
    assert j.disagreement is False


def test_reference_is_written_as_its_first_holder_has_it():
    j = judge({"M2": "corp\\SVC", "M1": "CORP\\svc", "M3": "other"}, what="account", key=str.lower)
    assert j.reference == "CORP\\svc"


# ---- tie ------------------------------------------------------------------------------------
def test_tie_fails_both():
    j = judge({"MGMT1": "A", "MGMT2": "B"}, what="account", declare=KEY)
    assert [j.of(n).verdict for n in ("MGMT1", "MGMT2")] == [Verdict.TIE, Verdict.TIE]


def test_tie_has_no_reference():
    j = judge({"MGMT1": "A", "MGMT2": "B"}, what="account", declare=KEY)
    assert (j.basis, j.reference, j.expected) == (Basis.TIE, None, None)


def test_tie_message_says_which_key_to_declare_and_how():
    j = judge({"MGMT1": "A", "MGMT2": "B"}, what="account", declare=KEY)
    assert j.of("MGMT1").reason == (
        "tie: MGMT1 has A; MGMT2 has B; nothing decides which account is right: declare the intended value "
        "in the inventory (key ims_service_account): add `ims_service_account: <the intended value>` at the top "
        "level of the inventory (docs/inventory.md)")


def test_tie_is_why_a_fixer_cannot_decide():
    j = judge({"MGMT1": "A", "MGMT2": "B"}, what="account", declare=KEY)
    assert j.undecided() == j.of("MGMT2").reason


def test_three_way_tie():
    j = judge({"M1": "A", "M2": "B", "M3": "C"}, what="version")
    assert j.deviating == ("M1", "M2", "M3")


def test_custom_declare_instruction():
    d = Declare("nodes.MGMT1.guid", "set `guid:` under MGMT1")
    assert d.instruction() == ("declare the intended value in the inventory (key nodes.MGMT1.guid): "
                               "set `guid:` under MGMT1 (docs/inventory.md)")


# ---- declared -------------------------------------------------------------------------------
def test_declared_value_beats_the_majority():
    j = judge({"M1": "B", "M2": "B", "M3": "A"}, what="account", declared=DECLARED_A)
    assert j.deviating == ("M1", "M2")


def test_declared_breaks_a_tie():
    j = judge({"M1": "A", "M2": "B"}, what="account", declared=DECLARED_A)
    assert j.deviating == ("M2",)


def test_declared_expectation_is_the_declaration():
    j = judge({"M1": "A", "M2": "B"}, what="account", declared=DECLARED_A)
    assert j.expected is DECLARED_A


def test_declared_reason_says_where_it_was_declared():
    j = judge({"M1": "A", "M2": "B"}, what="account", declared=DECLARED_A)
    assert j.of("M2").reason == "account B differs from the declared A (cluster.yaml line 4)"


def test_declared_compared_through_the_key():
    j = judge({"M1": "a"}, what="account", declared=DECLARED_A, key=str.lower)
    assert j.disagreement is False


def test_declared_value_that_cannot_work_is_reported():
    j = judge({"M1": "x1"}, what="account", declared=Expected("x1", ExpectationSource.DECLARED), valid=bad_if_x)
    assert j.declared_problem == "x1 cannot work"


def test_node_matching_an_invalid_declaration_still_fails():
    j = judge({"M1": "x1"}, what="account", declared=Expected("x1", ExpectationSource.DECLARED), valid=bad_if_x)
    assert j.of("M1").verdict is Verdict.DEVIATES


# ---- validity -------------------------------------------------------------------------------
def test_invalid_value_deviates_even_when_it_is_the_majority():
    j = judge({"M1": "x1", "M2": "x1", "M3": "A"}, what="account", valid=bad_if_x)
    assert j.deviating == ("M1", "M2")


def test_validity_breaks_a_two_node_tie():
    j = judge({"M1": "x1", "M2": "A"}, what="account", valid=bad_if_x)
    assert (j.basis, j.reference) == (Basis.VALIDITY, "A")


def test_validity_reference_comes_from_the_node_that_has_it():
    j = judge({"M1": "x1", "M2": "A"}, what="account", valid=bad_if_x)
    assert j.expected.source is ExpectationSource.COLLECTED


def test_invalid_reason_is_the_problem_and_the_cluster_value():
    j = judge({"M1": "x1", "M2": "A"}, what="account", valid=bad_if_x)
    assert j.of("M1").reason == "x1 cannot work; the cluster's is A, the value of M2 (the only one that can work)"


def test_nothing_valid_gives_no_reference():
    j = judge({"M1": "x1", "M2": "x2"}, what="account", valid=bad_if_x, declare=KEY)
    assert (j.basis, j.reference) == (Basis.NONE, None)


def test_nothing_valid_undecided_says_to_declare():
    j = judge({"M1": "x1", "M2": "x2"}, what="account", valid=bad_if_x, declare=KEY)
    assert "key ims_service_account" in j.undecided()


def test_invalid_node_in_a_tie_is_deviating_not_tied():
    j = judge({"M1": "A", "M2": "B", "M3": "x"}, what="account", valid=bad_if_x)
    assert j.of("M3").verdict is Verdict.DEVIATES


# ---- nodes that did not vote ----------------------------------------------------------------
def test_absent_node_is_never_judged():
    j = judge({"M1": "A", "M2": "A"}, what="account", absent=["M3"])
    assert j.of("M3") is None


def test_absent_node_is_named_in_the_note():
    j = judge({"M1": "A", "M2": "A"}, what="account", absent=["M3"])
    assert j.of("M1").note == "M3: no value collected, did not vote"


def test_absent_node_does_not_turn_a_majority_into_a_tie():
    j = judge({"M1": "A", "M2": "A", "M3": "B"}, what="account", absent=["M4"])
    assert j.deviating == ("M3",)


def test_no_values_no_verdicts():
    j = judge({}, what="account", absent=["M1"])
    assert (j.basis, dict(j.verdicts)) == (Basis.NONE, {})


# ---- properties -----------------------------------------------------------------------------
NAMES = st.lists(st.sampled_from([f"M{i}" for i in range(1, 8)]), min_size=1, max_size=7, unique=True)
VALUES = st.sampled_from(["A", "B", "C", "x1", "x2"])
CLUSTERS = NAMES.flatmap(lambda ns: st.fixed_dictionaries({n: VALUES for n in ns}))
DECLARATIONS = st.none() | VALUES.map(lambda v: Expected(v, ExpectationSource.DECLARED, "inv line 1"))


@given(CLUSTERS, DECLARATIONS)
def test_every_voting_node_gets_exactly_one_verdict(values, declared):
    j = judge(values, what="v", declared=declared, valid=bad_if_x)
    assert set(j.verdicts) == set(values)


@given(CLUSTERS, DECLARATIONS)
def test_a_node_fails_iff_it_is_invalid_differs_from_the_reference_or_is_tied(values, declared):
    j = judge(values, what="v", declared=declared, valid=bad_if_x)
    for n, v in values.items():
        expected_fail = bad_if_x(v) is not None or j.reference is None or v != j.reference
        assert j.of(n).fails is expected_fail, (n, v, j)


@given(CLUSTERS, DECLARATIONS)
def test_the_reference_is_never_an_invalid_collected_value(values, declared):
    j = judge(values, what="v", declared=declared, valid=bad_if_x)
    if j.basis is not Basis.DECLARED and j.reference is not None:
        assert bad_if_x(j.reference) is None


@given(CLUSTERS)
def test_a_tie_happens_only_without_declaration_and_between_equal_groups(values):
    j = judge(values, what="v", valid=bad_if_x)
    valid_counts = sorted((list(values.values()).count(v) for v in set(values.values()) if not v.startswith("x")),
                          reverse=True)
    is_tie = len(valid_counts) > 1 and valid_counts[0] == valid_counts[1]
    assert (j.basis is Basis.TIE) is is_tie


@given(CLUSTERS)
def test_the_majority_value_holds_at_least_as_many_nodes_as_any_valid_value(values):
    j = judge(values, what="v", valid=bad_if_x)
    if j.reference is not None:
        held = list(values.values()).count(j.reference)
        assert all(held >= list(values.values()).count(v) for v in values.values() if not v.startswith("x"))


@given(CLUSTERS, DECLARATIONS)
def test_agreeing_nodes_name_every_failing_node(values, declared):
    j = judge(values, what="v", declared=declared, valid=bad_if_x)
    for nv in j.verdicts.values():
        if not nv.fails:
            assert all(d in nv.note for d in j.deviating)


def test_plain_is_how_the_expectation_carries_the_value():
    j = judge({"M1": ("A", 1), "M2": ("A", 2)}, what="v", key=lambda v: v[0], plain=lambda v: v[0])
    assert j.expected.value == "A"
