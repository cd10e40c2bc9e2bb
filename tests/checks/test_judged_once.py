"""SPOC-MGMT-LIST and SPOC-IMS-ADDRESSES judge identical content once (checks._common.JudgedOnce):
every node's finding must stay exactly what judging that node alone gives."""

from __future__ import annotations

import pytest

from auditor.checks import spoc_ims_addresses, spoc_mgmt_list
from auditor.checks._common import JudgedOnce
from auditor.findings import Finding, Status
from tests.checks.checklab import SPOC_CONF, SPOC_IMS, Lab, rewrite

CHECKS = {"SPOC-MGMT-LIST": spoc_mgmt_list, "SPOC-IMS-ADDRESSES": spoc_ims_addresses}


def _lab() -> Lab:
    """SITE1 and SITE3 alike; SITE4 the same lists one line lower; SITE5 with a wrong value."""
    lab = Lab(sites=5)

    def drift(by):
        rewrite(by["SITE4"], SPOC_CONF, lambda t: "# moved down\n" + t)
        rewrite(by["SITE4"], SPOC_IMS, lambda t: "# moved down\n" + t)
        rewrite(by["SITE5"], SPOC_CONF, lambda t: t.replace("serverPORT2=", "serverPORT2=1", 1))
        rewrite(by["SITE5"], SPOC_IMS, lambda t: t.replace("10.0.10.12:", "10.9.10.12:", 1))
    return lab.edit(drift)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_finding_is_what_judging_its_node_alone_gives(check_id):
    cluster = _lab().cluster()
    module = CHECKS[check_id]
    alone = [module.evaluate(cluster, node) for node in cluster.nodes]
    assert list(module.run(cluster)) == alone


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_drifted_node_still_fails(check_id):
    found = _lab().run(check_id)
    assert found["SITE5"].status == Status.FAIL


def _judged_nodes(check_id: str, monkeypatch) -> list[str]:
    """The nodes SPOC-* really judged (evaluate called) while running on ``_lab()``."""
    module = CHECKS[check_id]
    judged: list[str] = []
    real = module.evaluate

    def counting(cluster, node):
        judged.append(node.name)
        return real(cluster, node)

    monkeypatch.setattr(module, "evaluate", counting)
    list(module.run(_lab().cluster()))
    return judged


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_identical_content_is_judged_once(check_id, monkeypatch):
    assert not {"SITE1", "SITE3"} <= set(_judged_nodes(check_id, monkeypatch))


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_content_on_other_lines_is_judged_again(check_id, monkeypatch):
    assert "SITE4" in _judged_nodes(check_id, monkeypatch)


class _Node:
    def __init__(self, name: str):
        self.name = name


def test_a_finding_about_another_subject_is_never_reused():
    def evaluate(node):
        return Finding(check_id="X", status=Status.PASS, severity=spoc_mgmt_list.META.severity, node=node.name,
                       subject=f"{node.name}:entry", message="ok")

    judged = JudgedOnce(evaluate)
    judged(_Node("A"), "same")
    assert judged(_Node("B"), "same").subject == "B:entry"
