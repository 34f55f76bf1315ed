"""The account security pages and the factor services they share with the API, over HTTP:
who may reach them, CSRF and fresh re-authentication on their changes, the only second factor
kept, and the second-factor page offering a passkey with the member's own remember period."""

from __future__ import annotations

import json
import re

from phivault.db.engine import SYSTEM_TENANT
from tests.support.audit import events
from tests.support.authenticator import SoftwareAuthenticator
from tests.support.signin import AUTH, NEW_PASSWORD, complete, login, new_member, totp_now

ORIGIN = "http://testserver"  # the TestClient's origin: the relying party is "testserver"


def _register(client, account, device: SoftwareAuthenticator, label: str = "key") -> str:
    options = client.post(f"{AUTH}/passkeys/register/options", headers=account.headers(None))
    assert options.status_code == 200, options.text
    registered = client.post(
        f"{AUTH}/passkeys/register/verify",
        headers=account.headers(None),
        json={"credential": json.loads(device.create(options.json())), "label": label},
    )
    assert registered.status_code == 201, registered.text
    listed = client.get(f"{AUTH}/passkeys").json()
    return str(next(p["id"] for p in listed if p["label"] == label))


def _passkey_only(client, world):
    """A member whose only second factor is a passkey registered at the enrolment stage."""
    account = new_member(client, world)
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    changed = client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert changed.json()["stage"] == "mfa-enrolment-required"
    account.password = NEW_PASSWORD
    return account


def test_the_only_second_factor_is_kept(client, env, world) -> None:
    account = _passkey_only(client, world)
    passkey = _register(client, account, SoftwareAuthenticator(ORIGIN))
    refused = client.delete(f"{AUTH}/passkeys/{passkey}", headers=account.headers(None))
    assert refused.status_code == 409
    assert "only second factor" in refused.json()["detail"]
    assert [p["id"] for p in client.get(f"{AUTH}/passkeys").json()] == [passkey]
    removals = events(env.vault, SYSTEM_TENANT, action="auth.mfa.passkey.remove")
    assert [(e.outcome, e.reason) for e in removals] == [("refused", "last-factor")]

    # With an authenticator app as well, the passkey may go.
    secret = client.post(f"{AUTH}/mfa/totp/enrol", headers=account.headers(None)).json()["secret"]
    confirmed = client.post(
        f"{AUTH}/mfa/totp/confirm",
        headers=account.headers(None),
        json={"code": totp_now(secret, env)},
    )
    assert confirmed.status_code == 200, confirmed.text
    removed = client.delete(f"{AUTH}/passkeys/{passkey}", headers=account.headers(None))
    assert removed.status_code == 204
    assert client.get(f"{AUTH}/passkeys").json() == []


def test_account_page_needs_a_complete_sign_in(client, env, world) -> None:
    assert client.get("/account", follow_redirects=False).headers["location"] == "/login"
    account = new_member(client, world)
    login(client, account.username, account.password)
    halfway = client.get("/account", follow_redirects=False)
    assert halfway.status_code == 303 and halfway.headers["location"] == "/password"

    complete(client, env, new_member(client, world))
    page = client.get("/account")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/web/webauthn.js" defer></script>' in page.text
    assert 'aria-current="page">Your account' in page.text
    assert "10 unused recovery codes left" in page.text


def test_removing_a_passkey_needs_the_csrf_token_and_a_fresh_proof(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    passkey = _register(client, account, SoftwareAuthenticator(ORIGIN))
    action = f"/account/passkeys/{passkey}/remove"

    forged = client.post(action, data={"csrf_token": "not-the-token"}, follow_redirects=False)
    assert forged.status_code == 403
    env.clock.advance(minutes=6)
    stale = client.post(action, data={"csrf_token": account.csrf}, follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"] == "/reauth?next=/account"
    assert len(client.get(f"{AUTH}/passkeys").json()) == 1

    reauth = client.post(
        f"{AUTH}/reauth", headers=account.headers(None), json={"password": account.password}
    )
    assert reauth.status_code == 200
    done = client.post(action, data={"csrf_token": account.csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert client.get(f"{AUTH}/passkeys").json() == []
    again = client.post(action, data={"csrf_token": account.csrf})
    assert again.status_code == 404
    assert "That passkey is not on your account." in again.text


def test_new_recovery_codes_page(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    shown = client.post("/account/recovery-codes", data={"csrf_token": account.csrf})
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([^<]+)</code></li>", shown.text)
    assert len(codes) == 10 and not set(codes) & set(account.recovery_codes)
    assert shown.headers["cache-control"] == "no-store"
    assert 'href="/account"' in shown.text
    regenerated = events(env.vault, SYSTEM_TENANT, action="auth.mfa.recovery.regenerate")
    assert [e.resource_id for e in regenerated] == [str(account.member_id)]

    # ``next`` only ever leads to a page of this site.
    elsewhere = client.post(
        "/account/recovery-codes",
        data={"csrf_token": account.csrf, "next": "//evil.example/"},
    )
    assert 'href="/account"' in elsewhere.text and "evil.example" not in elsewhere.text
    env.clock.advance(minutes=6)
    stale = client.post(
        "/account/recovery-codes", data={"csrf_token": account.csrf}, follow_redirects=False
    )
    assert stale.headers["location"] == "/reauth?next=/account"


def test_second_factor_page_offers_a_passkey_and_the_members_remember_period(
    client, env, world
) -> None:
    client.patch(
        f"/api/v1/tenants/{world.tenant_a}/settings",
        headers=world["officer"].headers,
        json={"mfa_reverify_days": 7},
    )
    account = complete(client, env, new_member(client, world))
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    page = client.get("/mfa/verify")
    assert "Remember this device for 7 days" in page.text
    assert "Use a passkey" not in page.text  # no passkey registered

    wrong = client.post("/mfa/verify", data={"csrf_token": account.csrf, "code": "000000"})
    assert wrong.status_code == 422
    assert "Remember this device for 7 days" in wrong.text  # the member's policy, not 30

    env.clock.advance(seconds=30)
    client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env)},
    )
    _register(client, account, SoftwareAuthenticator(ORIGIN))
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    offered = client.get("/mfa/verify")
    assert 'data-webauthn="authenticate"' in offered.text
    assert f'data-csrf="{account.csrf}"' in offered.text


def test_the_enrolment_page_starts_totp_through_the_same_service_as_the_api(
    client, env, world
) -> None:
    """The page offers one secret, audited once when it is made; a reload shows the same
    secret (no new scan) and makes no second one."""
    account = new_member(client, world)
    first = login(client, account.username, account.password)
    account.csrf = first.json()["csrf_token"]
    changed = client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert changed.json()["stage"] == "mfa-enrolment-required"
    pages = [client.get("/mfa/enrol") for _ in range(2)]
    assert all(p.status_code == 200 for p in pages)
    secrets = [re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', p.text) for p in pages]
    assert secrets[0] and secrets[1] and secrets[0].group(1) == secrets[1].group(1)
    begun = events(
        env.vault, SYSTEM_TENANT, action="auth.mfa.totp.begin", actor_id=account.member_id
    )
    assert [e.outcome for e in begun] == ["allowed"]


def test_a_sign_in_step_form_needs_its_stage_and_its_token(client, env, world) -> None:
    """At the second-factor check: the enrolment form sends the member to the check, and a
    check without this session's token goes back to its page without counting an attempt."""
    account = complete(client, env, new_member(client, world))
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    code = totp_now(account.totp_secret, env, 30)
    enrol = client.post(
        "/mfa/enrol", data={"csrf_token": account.csrf, "code": code}, follow_redirects=False
    )
    assert (enrol.status_code, enrol.headers["location"]) == (303, "/mfa/verify")
    forged = client.post(
        "/mfa/verify", data={"csrf_token": "not-this-one", "code": code}, follow_redirects=False
    )
    assert (forged.status_code, forged.headers["location"]) == (303, "/mfa/verify")
    tried = events(env.vault, SYSTEM_TENANT, action="auth.mfa.verify", actor_id=account.member_id)
    assert [e.outcome for e in tried if e.outcome == "refused"] == []
    still = client.get("/", follow_redirects=False)  # not signed in by either form
    assert (still.status_code, still.headers["location"]) == (303, "/mfa/verify")
