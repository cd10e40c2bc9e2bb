"""Fixtures for the report tests (data lives in report_fixtures.py)."""

from __future__ import annotations

import pytest

from auditor.reports.model import AuditReport
from tests.reports.report_fixtures import SINCE, TREND, make_product_model, make_report


@pytest.fixture
def report() -> AuditReport:
    return make_report()


@pytest.fixture
def full_report() -> AuditReport:
    """Hostile values, an unreachable node, since-last-run, trend and product model: every section shown."""
    return make_report(hostile=True, unreachable=True, since_last_run=SINCE, trend=TREND,
                       product_model=make_product_model(hostile=True))
