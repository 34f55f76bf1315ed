"""Account pages in a real browser: sign out another session; ask for a password reset and
complete it with the code a manager in the line authorized."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.browser.helpers import sign_in_first_time
from tests.conftest import app_for
from tests.support.signin import AUTH, complete, login, new_member, totp_now

pytestmark = pytest.mark.browser


def test_sign_out_another_session(page, env) -> None:
    with TestClient(app_for(env.vault)) as api:
        account = new_member(api, env.world)
    sign_in_first_time(page, env, account)
    with TestClient(app_for(env.vault)) as other:
        env.clock.advance(seconds=30)
        csrf = login(other, account.username, account.password).json()["csrf_token"]
        other.post(
            f"{AUTH}/mfa/totp/verify",
            headers={"X-CSRF-Token": csrf},
            json={"code": totp_now(account.totp_secret, env)},
        )
        assert other.get(f"{AUTH}/session").status_code == 200
        page.goto("/account/sessions")
        assert page.locator("#sessions tbody tr").count() == 2
        page.get_by_role("button", name="Sign out there").click()
        # The form posts and comes back to the same address: wait for the row to go.
        expect(page.locator("#sessions tbody tr")).to_have_count(1)
        assert other.get(f"{AUTH}/session").status_code == 401


def test_password_reset_pages(page, env) -> None:
    with TestClient(app_for(env.vault)) as api:
        manager = complete(api, env, new_member(api, env.world, username="day.lead"))
        api.cookies.clear()
        worker = new_member(
            api, env.world, username="day.worker", manager_id=str(manager.member_id)
        )
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Username").fill("day.worker")
    page.get_by_role("button", name="Ask for a reset").click()
    assert page.locator("#reset-requested").is_visible()
    with TestClient(app_for(env.vault)) as api:
        manager.csrf = login(api, "day.lead", manager.password).json()["csrf_token"]
        env.clock.advance(seconds=30)
        api.post(
            f"{AUTH}/mfa/totp/verify",
            headers=manager.headers(None),
            json={"code": totp_now(manager.totp_secret, env)},
        )
        base = f"/api/v1/tenants/{env.world.tenant_a}"
        pending = api.get(f"{base}/reset-requests", headers=manager.headers()).json()
        code = api.post(
            f"{base}/reset-requests/{pending[0]['id']}/authorize", headers=manager.headers()
        ).json()["code"]
    page.get_by_label("One-time code from your manager").fill(code)
    page.get_by_label("New password").fill("a fresh passphrase chosen at noon 2026")
    page.get_by_role("button", name="Set new password").click()
    assert "Your password was reset" in page.get_by_role("status").inner_text()
    page.get_by_label("Username").fill("day.worker")
    page.get_by_label("Password").fill("a fresh passphrase chosen at noon 2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/mfa/enrol")
    assert worker.username == "day.worker"
