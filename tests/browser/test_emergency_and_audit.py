"""Break-glass in the browser: the emergency-only technician opens a chart with a reason and
their password, sees the banner with its countdown, and the privacy officer finds it in the
audit viewer's review queue and disposes of it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends, sign_in_first_time
from tests.conftest import app_for
from tests.support.signin import new_member

pytestmark = pytest.mark.browser
REASON = "Patient collapsed at home, we need the allergy list."


def _member(env, position, **extra):
    with TestClient(app_for(env.vault)) as client:
        return new_member(client, env.world, position=position, **extra)


@both_backends
def test_break_glass_banner_and_review_in_the_audit_viewer(
    page, env, chromium, live_server
) -> None:
    tech = sign_in_first_time(page, env, _member(env, "IT Support Technician"))
    chart = f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=treatment"
    page.goto(chart)
    assert env.world.secrets["plan"] not in page.content()
    page.get_by_role("link", name="In an emergency, request emergency access…").click()
    page.get_by_label("Reason").fill(REASON)
    page.get_by_label("For how long").select_option("30")
    page.get_by_label("Your password, to confirm it is you").fill(tech.password)
    page.get_by_role("button", name="Open emergency access").click()
    banner = page.wait_for_selector("#break-glass-banner")
    assert banner.is_visible()
    assert "min" in page.locator("#break-glass-countdown").inner_text()
    assert env.world.secrets["plan"] in page.locator("#phi").inner_text()
    screenshot(page, "break-glass")

    officer_context = chromium.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 800}
    )
    officer_page = officer_context.new_page()
    officer = _member(env, "Office Manager", privacy_officer=True)
    sign_in_first_time(officer_page, env, officer)
    officer_page.goto(f"/t/{env.world.tenant_a}/audit?break_glass=1")
    queue = officer_page.locator("#review-queue").inner_text()
    assert REASON in queue
    entries = officer_page.locator("#entries").inner_text()
    assert "break_glass.start" in entries and "record.list" in entries
    assert env.world.secrets["plan"] not in officer_page.content()  # IDs and field names only
    screenshot(officer_page, "audit-viewer")
    officer_page.get_by_role("button", name="Inappropriate").click()
    officer_page.wait_for_selector("#review-queue >> text=Nothing to review.")
    officer_context.close()


def test_staff_cannot_open_the_audit_viewer(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    response = page.goto(f"/t/{env.world.tenant_a}/audit")
    assert response.status == 403


def test_emergency_form_keeps_the_typed_reason_after_a_wrong_password(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "IT Support Technician"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}/emergency")
    page.get_by_label("Reason").fill(REASON)
    page.get_by_label("Your password, to confirm it is you").fill("not my password")
    page.get_by_role("button", name="Open emergency access").click()
    page.wait_for_selector("#emergency-error")
    assert "did not match" in page.locator("#emergency-error").inner_text()
    assert page.get_by_label("Reason").input_value() == REASON
