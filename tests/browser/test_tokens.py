"""One's own API tokens in a real browser: created from a fresh session for one agency and
chosen permissions, shown once, working against the API with a Bearer header within its
scope only, and useless once revoked."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.browser.helpers import sign_in_first_time
from tests.conftest import app_for
from tests.support.audit import last_event
from tests.support.signin import Account, new_member

pytestmark = pytest.mark.browser
SYSTEM = "00000000-0000-0000-0000-000000000000"


def _member(env, position: str = "Emergency Medical Technician Paramedic") -> Account:
    with TestClient(app_for(env.vault)) as client:
        return new_member(client, env.world, position=position)


def test_token_is_shown_once_works_and_stops_after_revoke(page, env, live_server) -> None:
    world = env.world
    account = sign_in_first_time(page, env, _member(env))
    page.goto("/account/tokens")
    assert "You have no API tokens." in page.locator("#tokens").inner_text()
    page.get_by_role("link", name="Create a token").click()
    page.wait_for_url("**/account/tokens/new")
    assert page.locator("#token-agency").inner_text() == "Alpha Home Care"
    assert page.get_by_label("Manage the workforce").count() == 0  # not theirs to give
    page.get_by_label("Look up people").check()
    page.get_by_label("Valid for (days)").fill("30")
    page.get_by_label("Label").fill("billing export")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("pvt_")
    assert "Shown this once" in page.locator("main").inner_text()
    event = last_event(env.vault, SYSTEM, action="auth.token.issue")
    assert (event.resource_id, event.fields) == (str(account.member_id), "tenant:people:read")

    page.get_by_role("link", name="Back to your tokens").click()
    assert token not in page.content()
    row = page.locator("#tokens tbody tr").first.inner_text()
    for expected in ("billing export", "Alpha Home Care", "Look up people", "Active"):
        assert expected in row

    api = f"{live_server}/api/v1/tenants"
    bearer = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "treatment"}
    assert (
        httpx.get(f"{api}/{world.tenant_a}/people/{world.patient}", headers=bearer).status_code
        == 200
    )
    # Outside its scope: a permission it does not carry, and the other agency.
    record = f"{api}/{world.tenant_a}/records/{world.records['note']}"
    assert httpx.get(record, headers=bearer).status_code == 403
    other = f"{api}/{world.tenant_b}/people/{world.patient_b}"
    assert httpx.get(other, headers=bearer).status_code == 404
    page.reload()
    assert "never" not in page.locator("#tokens tbody tr").first.locator("td").nth(5).inner_text()

    page.get_by_role("button", name="Revoke billing export").click()
    assert "Token revoked" in page.locator("#notice").inner_text()
    assert "Revoked" in page.locator("#tokens tbody tr").first.inner_text()
    assert (
        httpx.get(f"{api}/{world.tenant_a}/people/{world.patient}", headers=bearer).status_code
        == 401
    )
    revoked = last_event(env.vault, SYSTEM, action="auth.token.revoke")
    assert revoked.resource_id == str(account.member_id)


def test_creating_a_token_needs_a_fresh_sign_in_and_only_own_permissions(page, env) -> None:
    account = sign_in_first_time(page, env, _member(env, "Scheduler"))
    env.clock.advance(minutes=6)
    page.goto("/account/tokens/new")
    page.wait_for_url(lambda url: "/reauth?next=" in url)
    page.get_by_label("Your password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account/tokens/new")

    # A forged choice of a permission the member does not hold is refused, readably.
    page.locator("#token-form").evaluate(
        """form => { const box = document.createElement('input');
            box.type = 'checkbox'; box.name = 'scopes'; box.value = 'tenant:workforce:manage';
            box.checked = true; form.appendChild(box); }"""
    )
    page.get_by_label("Label").fill("too much")
    page.get_by_role("button", name="Create token").click()
    assert "permissions you hold" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Label").input_value() == "too much"  # values kept
    assert page.locator("#new-token").count() == 0

    # A form left open too long sends the browser to re-authenticate again.
    page.get_by_label("Look up people").check()
    env.clock.advance(minutes=6)
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url(lambda url: "/reauth?next=" in url)
    page.goto("/account/tokens")
    assert "You have no API tokens." in page.locator("#tokens").inner_text()
