"""Sign in with MFA in a real browser: initial password, own password, authenticator
enrolment by QR/secret, recovery codes, then the home page; a second sign-in asks for the code."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends
from tests.conftest import app_for
from tests.support.signin import NEW_PASSWORD, new_member, totp_now

pytestmark = pytest.mark.browser


def _account(env):
    with TestClient(app_for(env.vault)) as client:
        return new_member(client, env.world)


@both_backends
def test_first_sign_in_with_password_change_and_mfa(page, env) -> None:
    account = _account(env)
    page.goto("/")
    assert page.url.endswith("/login")
    screenshot(page, "login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill("not the right one")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."

    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/password")
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password").fill("password1")
    page.get_by_role("button", name="Change password").click()
    assert page.url.endswith("/password")  # refused: a blocklisted password
    assert page.get_by_role("alert").is_visible()
    assert "password1" not in page.get_by_role("alert").inner_text()
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    page.wait_for_url("**/mfa/enrol")
    assert page.locator(".qr svg").count() == 1
    screenshot(page, "mfa-enrol")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your app").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("#totp-secret").inner_text() == secret  # same secret, no re-scan
    page.get_by_label("Code from your app").fill(totp_now(secret, env))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)  # waits for the next page
    page.get_by_role("link", name="Continue").click()
    assert "Alpha Home Care" in page.locator("#tenants").inner_text()
    screenshot(page, "home")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/mfa/verify")
    env.clock.advance(seconds=30)
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        totp_now(secret, env)
    )
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")


def test_pages_carry_a_strict_csp_and_no_store(page, live_server) -> None:
    response = page.goto("/login")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
