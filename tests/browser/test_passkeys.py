"""Passkeys and account security in a real browser, with Chromium's virtual authenticator
(CDP WebAuthn domain): add a passkey on the account page, use it as the second factor, remove
it after re-authenticating, a failed ceremony, a passkey as the first second factor, and new
recovery codes.

WebAuthn refuses IP addresses as relying-party ids, so these pages are opened as
``http://localhost:<port>`` (the server listens on 127.0.0.1, which localhost reaches).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from phivault.db.engine import SYSTEM_TENANT
from phivault.identity import sessions
from tests.browser.conftest import screenshot
from tests.browser.helpers import sign_in_first_time
from tests.conftest import app_for
from tests.support.audit import events
from tests.support.signin import AUTH, NEW_PASSWORD, Account, new_member, totp_now

pytestmark = pytest.mark.browser

CODE_LABEL = "Code from your authenticator app, or a recovery code"


@pytest.fixture
def local_page(chromium, live_server):  # type: ignore[no-untyped-def]
    """A page whose base URL names the test server ``localhost`` (a valid WebAuthn RP id)."""
    context = chromium.new_context(
        base_url=live_server.replace("//127.0.0.1:", "//localhost:"),
        viewport={"width": 1280, "height": 800},
    )
    page = context.new_page()
    yield page
    context.close()


def _member(env: Any) -> Account:
    with TestClient(app_for(env.vault)) as client:
        return new_member(client, env.world)


def _authenticator(page: Any) -> tuple[Any, str]:
    """A virtual platform authenticator that says yes at once (presence and verification)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _stored(cdp: Any, authenticator_id: str) -> list[dict[str, Any]]:
    return list(
        cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    )


def _add_passkey(page: Any, name: str) -> None:
    page.goto("/account")
    page.get_by_label("Name for a new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkeys")).to_contain_text(name)


def _sign_in_with_password(page: Any, account: Account) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/mfa/verify")


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def _audit(env: Any, account: Account, action: str) -> list[Any]:
    """The member's sign-in events of one kind (system chain), oldest first."""
    return events(env.vault, SYSTEM_TENANT, action=action, resource_id=account.member_id)


def _home(url: str) -> bool:
    return url.endswith("/")


def test_add_a_passkey_on_the_account_page(local_page, env) -> None:
    page = local_page
    account = sign_in_first_time(page, env, _member(env))
    cdp, authenticator = _authenticator(page)
    page.get_by_role("link", name="Your account").click()
    page.wait_for_url("**/account")
    assert page.get_by_role("link", name="Your account").get_attribute("aria-current") == "page"
    assert "Set up" in page.locator("#totp-status").inner_text()
    assert page.locator("#no-passkeys").is_visible()
    assert page.get_by_role("link", name="Where you are signed in").get_attribute("href") == (
        "/account/sessions"
    )
    assert page.get_by_role("link", name="API tokens").get_attribute("href") == "/account/tokens"

    # Adding a factor needs a fresh proof of identity: the button leads there first.
    env.clock.advance(minutes=6)
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/reauth?next=/account")
    page.get_by_label("Your password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")
    _add_passkey(page, "work laptop")
    row = page.locator("#passkeys tbody tr")
    assert row.count() == 1
    assert "never" in row.inner_text()  # not used yet
    assert row.get_by_role("button", name="Remove").is_visible()
    credentials = _stored(cdp, authenticator)
    assert len(credentials) == 1 and credentials[0]["rpId"] == "localhost"
    added = _audit(env, account, "auth.mfa.passkey.enrol")
    assert [e.outcome for e in added] == ["allowed"]
    screenshot(page, "account-security")


def test_sign_in_with_a_passkey_as_the_second_factor(local_page, env) -> None:
    page = local_page
    account = sign_in_first_time(page, env, _member(env))
    _authenticator(page)
    _add_passkey(page, "phone")
    _sign_out(page)
    env.clock.advance(minutes=1)

    _sign_in_with_password(page, account)
    assert page.get_by_label(CODE_LABEL).input_value() == ""
    page.get_by_label("Remember this device for 30 days").check()
    # From the keyboard: Tab moves from the checkbox on to the passkey button, Enter presses it.
    page.get_by_label("Remember this device for 30 days").focus()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "use-passkey":
            break
    assert page.evaluate("document.activeElement.textContent") == "Use a passkey"
    page.keyboard.press("Enter")
    page.wait_for_url(_home)
    assert sessions.DEVICE_COOKIE in {c["name"] for c in page.context.cookies()}

    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=treatment")
    assert env.world.secrets["plan"] in page.locator("#phi").inner_text()
    verified = _audit(env, account, "auth.mfa.verify")[-1]
    assert verified.outcome == "allowed"
    assert "passkey" in verified.fields and "remember-device" in verified.fields
    assert "totp" not in verified.fields  # no code was typed

    page.goto("/account")
    assert "never" not in page.locator("#passkeys tbody tr").inner_text()  # last used shown


def test_remove_a_passkey_after_reauthentication(local_page, env) -> None:
    page = local_page
    account = sign_in_first_time(page, env, _member(env))
    cdp, authenticator = _authenticator(page)
    _add_passkey(page, "old key")
    env.clock.advance(minutes=6)  # the proof of identity is no longer fresh

    page.goto("/account")
    page.get_by_role("button", name="Remove").click()
    page.wait_for_url("**/reauth?next=/account")
    page.get_by_label("Your password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")
    assert page.locator("#passkeys tbody tr").count() == 1  # nothing removed without asking
    page.get_by_role("button", name="Remove").click()
    page.wait_for_url("**/account")
    assert page.locator("#no-passkeys").is_visible()
    assert page.locator("#passkeys").count() == 0
    assert [e.outcome for e in _audit(env, account, "auth.mfa.passkey.remove")] == ["allowed"]

    # The authenticator still holds the key, but the vault no longer accepts it.
    assert len(_stored(cdp, authenticator)) == 1
    _sign_out(page)
    _sign_in_with_password(page, account)
    assert page.get_by_role("button", name="Use a passkey").count() == 0
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(
        f"{AUTH}/passkeys/authenticate/options", headers={"X-CSRF-Token": csrf}
    )
    assert refused.status == 409
    page.goto("/")
    assert page.url.endswith("/mfa/verify")


def test_a_failed_passkey_ceremony_is_explained_and_does_not_sign_in(local_page, env) -> None:
    page = local_page
    account = sign_in_first_time(page, env, _member(env))
    cdp, authenticator = _authenticator(page)
    _add_passkey(page, "laptop")
    _sign_out(page)
    _sign_in_with_password(page, account)

    # The authenticator answers with a bad signature: the server refuses it.
    cdp.send(
        "WebAuthn.setResponseOverrideBits",
        {"authenticatorId": authenticator, "isBogusSignature": True},
    )
    page.get_by_role("button", name="Use a passkey").click()
    alert = page.locator("#passkey-error")
    expect(alert).to_have_text(
        "Your passkey could not be verified. Try again, or use a code instead."
    )
    assert page.url.endswith("/mfa/verify")
    assert _audit(env, account, "auth.mfa.verify")[-1].outcome == "refused"

    # The person cancels (here: the authenticator no longer has the key, so nothing answers).
    cdp.send(
        "WebAuthn.setResponseOverrideBits",
        {"authenticatorId": authenticator, "isBogusSignature": False},
    )
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    page.get_by_role("button", name="Use a passkey").click()
    expect(alert).to_contain_text("cancelled or timed out")
    assert "Error" not in alert.inner_text() and "at " not in alert.inner_text()
    page.goto("/")
    assert page.url.endswith("/mfa/verify")  # still not past the second factor

    # A browser without WebAuthn gets a sentence, not an exception.
    page.add_init_script("delete window.PublicKeyCredential;")
    page.reload()
    page.get_by_role("button", name="Use a passkey").click()
    expect(alert).to_have_text(
        "This browser cannot use passkeys. Use a code from your authenticator app instead."
    )
    page.goto("/")
    assert page.url.endswith("/mfa/verify")


def test_a_passkey_instead_of_an_authenticator_app(local_page, env) -> None:
    page = local_page
    account = _member(env)
    page.goto("/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/password")
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/mfa/enrol")
    _authenticator(page)
    page.get_by_label("Name for this passkey").fill("desk computer")
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(_home)
    assert "Alpha Home Care" in page.locator("#tenants").inner_text()

    page.goto("/account")
    assert "Not set up" in page.locator("#totp-status").inner_text()
    assert "desk computer" in page.locator("#passkeys").inner_text()
    # The only second factor stays: without it the password alone could enrol a new one.
    page.get_by_role("button", name="Remove").click()
    assert "only second factor" in page.get_by_role("alert").inner_text()
    assert page.locator("#passkeys tbody tr").count() == 1
    assert [e.outcome for e in _audit(env, account, "auth.mfa.passkey.remove")] == ["refused"]


def _first_sign_in_keeping_codes(page: Any, env: Any, account: Account) -> list[str]:
    page.goto("/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/mfa/enrol")
    account.password = NEW_PASSWORD
    account.totp_secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your app").fill(totp_now(account.totp_secret, env))
    page.get_by_role("button", name="Confirm").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(_home)
    return codes


def test_new_recovery_codes_are_shown_once_and_replace_the_old(local_page, env) -> None:
    page = local_page
    account = _member(env)
    old = _first_sign_in_keeping_codes(page, env, account)
    assert len(old) == 10
    env.clock.advance(minutes=6)

    page.goto("/account")
    assert "10 unused recovery codes left" in page.locator("#codes-left").inner_text()
    page.get_by_role("button", name="New recovery codes").click()
    page.wait_for_url("**/reauth?next=/account")
    page.get_by_label("Or a code from your authenticator app").fill(
        totp_now(account.totp_secret, env)
    )
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")
    page.get_by_role("button", name="New recovery codes").click()
    new = page.locator("#recovery-codes li").all_inner_texts()
    assert len(new) == 10 and not set(new) & set(old)
    assert [e.outcome for e in _audit(env, account, "auth.mfa.recovery.regenerate")] == ["allowed"]
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/account")
    assert page.locator("#recovery-codes").count() == 0  # shown once, never again
    assert not any(code in page.content() for code in new)

    _sign_out(page)
    _sign_in_with_password(page, account)
    page.get_by_label(CODE_LABEL).fill(old[0])
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("alert").is_visible()
    assert page.url.endswith("/mfa/verify")
    page.get_by_label(CODE_LABEL).fill(new[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(_home)
