"""The dashboard: what needs attention, per what the member may do, with a server-drawn chart."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import sign_in_first_time
from tests.browser.test_emergency_and_audit import _member
from tests.support.audit import events

pytestmark = pytest.mark.browser


def test_privacy_officer_sees_queues_chart_and_credentials(page, env) -> None:
    env.clock.advance(days=40)  # the world's CPR card (expires 2026-03-01) is now 15 days off
    sign_in_first_time(page, env, _member(env, "Office Manager", privacy_officer=True))
    page.goto(f"/t/{env.world.tenant_a}")
    tiles = page.locator("#attention").inner_text()
    assert "emergency accesses to review" in tiles
    assert "1 caregiver credential lapsed or lapsing" in tiles.replace("\n", " ")
    chart = page.locator("#activity-chart svg")
    assert chart.get_attribute("role") == "img"
    assert page.locator("#activity-chart rect.s-allowed").count() >= 1
    # The same figures are in a table for screen readers.
    assert page.locator("#activity-chart table tbody tr").count() == 14
    screenshot(page, "dashboard")
    # The dashboard names nobody; the credentials page asks the purpose first.
    caregiver = page.locator("#credentials")
    assert caregiver.count() == 0
    page.get_by_role("link", name="caregiver credential").click()
    assert page.locator("#credentials").count() == 0
    assert page.get_by_label("Purpose of use").input_value() == "operations"
    page.get_by_role("button", name="Show the list").click()
    row = page.locator("#credentials tbody tr")
    assert row.count() == 1
    assert "cpr" in row.inner_text() and "15 days left" in row.inner_text()
    # Each caregiver named is an audited read of that person.
    reads = events(
        env.vault, env.world.tenant_a, action="person.read", person_id=env.world.caregiver
    )
    assert reads and reads[-1].purpose == "operations"
    assert reads[-1].fields == "family_name,given_name"


def test_clinicians_are_not_shown_credentials_unasked(page, env) -> None:
    account = sign_in_first_time(page, env, _member(env, "Emergency Medical Technician Paramedic"))
    page.goto(f"/t/{env.world.tenant_a}")
    assert "credential" not in page.locator("#attention").inner_text()
    # Nothing was read on their behalf.
    assert not events(
        env.vault, env.world.tenant_a, action="record.list", actor_id=account.member_id
    )


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
