"""Browser-side sign-in for tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.signin import NEW_PASSWORD, Account, totp_now

# The PostgreSQL smoke set of the browser tests: the flows that cross most of the data layer.
both_backends = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


def sign_in_first_time(page: Any, env: Any, account: Account) -> Account:
    """Initial password -> own password -> TOTP enrolment -> home, in the browser."""
    page.goto("/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/password")
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/mfa/enrol")
    account.password = NEW_PASSWORD
    account.totp_secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your app").fill(totp_now(account.totp_secret, env))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    return account
