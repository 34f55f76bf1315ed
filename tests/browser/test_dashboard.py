"""The dashboard: what needs attention, per what the member may do, with a server-drawn chart."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import sign_in_first_time
from tests.browser.test_emergency_and_audit import _member

pytestmark = pytest.mark.browser


def test_privacy_officer_sees_queues_chart_and_credentials(page, env) -> None:
    env.clock.advance(days=40)  # the world's CPR card (expires 2026-03-01) is now 15 days off
    sign_in_first_time(page, env, _member(env, "Office Manager", privacy_officer=True))
    page.goto(f"/t/{env.world.tenant_a}")
    tiles = page.locator("#attention").inner_text()
    assert "emergency accesses to review" in tiles
    assert "1 caregiver credential lapsed or lapsing" in tiles.replace("\n", " ")
    row = page.locator("#credentials tbody tr")
    assert row.count() == 1
    assert "cpr" in row.inner_text() and "days left" in row.inner_text()
    chart = page.locator("#activity-chart svg")
    assert chart.get_attribute("role") == "img"
    assert page.locator("#activity-chart rect.s-allowed").count() >= 1
    # The same figures are in a table for screen readers.
    assert page.locator("#activity-chart table tbody tr").count() == 14
    screenshot(page, "dashboard")


def test_emergency_only_staff_get_no_phi_panels(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "IT Support Technician"))
    page.goto(f"/t/{env.world.tenant_a}")
    assert page.locator("#credentials").count() == 0
    assert page.locator("#activity-chart").count() == 0
    assert "emergency access" not in page.locator("#attention").inner_text()


def test_another_agency_dashboard_is_not_found(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    response = page.goto(f"/t/{env.world.tenant_b}")
    assert response.status == 404
    assert "Beta Paramedics" not in page.content()
