"""Identity over HTTP (issue 3): the only way to PHI is password change, then MFA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from phivault.api.app import create_app
from tests.conftest import app_for
from tests.support.audit import events
from tests.support.signin import AUTH, NEW_PASSWORD, complete, login, new_member, totp_now

SYSTEM = "00000000-0000-0000-0000-000000000000"


def record_url(world, name="note") -> str:
    return f"/api/v1/tenants/{world.tenant_a}/records/{world.records[name]}"


def test_new_user_reaches_phi_only_after_password_change_and_mfa(client, env, world) -> None:
    account = new_member(client, world)
    first = login(client, account.username, account.password)
    assert first.json()["stage"] == "password-change-required"
    account.csrf = first.json()["csrf_token"]
    blocked = client.get(record_url(world), headers=account.headers())
    assert blocked.status_code == 403
    assert blocked.json()["type"].endswith("/password-change-required")
    client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    still = client.get(record_url(world), headers=account.headers())
    assert still.status_code == 403
    assert still.json()["type"].endswith("/mfa-required")
    account.password = NEW_PASSWORD
    enrol = client.post(f"{AUTH}/mfa/totp/enrol", headers=account.headers(None)).json()
    assert enrol["otpauth_uri"].startswith("otpauth://totp/")
    assert enrol["qr_svg"].lstrip().startswith("<?xml") or "<svg" in enrol["qr_svg"]
    client.post(
        f"{AUTH}/mfa/totp/confirm",
        headers=account.headers(None),
        json={"code": totp_now(enrol["secret"], env)},
    )
    allowed = client.get(record_url(world), headers=account.headers())
    assert allowed.status_code == 200
    refusals = [
        e.reason
        for e in events(env.vault, world.tenant_a, outcome="refused", actor_id=account.member_id)
    ]
    assert refusals == ["password-change-required", "mfa-required"]


def test_wrong_password_and_unknown_user_look_the_same(client, env, world) -> None:
    account = new_member(client, world)
    wrong = login(client, account.username, "not the password at all")
    unknown = login(client, "nobody.here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong username or password"
    assert account.username not in wrong.text
    reasons = [e.reason for e in events(env.vault, SYSTEM, action="auth.login")]
    assert reasons[-2:] == ["bad-credentials", "bad-credentials"]


def test_weak_or_blocklisted_new_password_is_refused_with_reasons(client, env, world) -> None:
    account = new_member(client, world)
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    for weak in ("password1", "qwertyuiopasdfgh", account.username + "2026!"):
        response = client.post(
            f"{AUTH}/password",
            headers=account.headers(None),
            json={"current_password": account.password, "new_password": weak},
        )
        assert response.status_code == 422, weak
        assert weak not in response.text


def test_brute_force_gets_429_and_the_lockout_survives_a_restart(env, world) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, world)
        for _ in range(10):
            assert login(client, account.username, "guessing wrongly!!").status_code == 401
        locked = login(client, account.username, account.password)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
    restarted = env.reopen()
    try:
        with TestClient(create_app(restarted)) as client:
            assert login(client, account.username, account.password).status_code == 429
            env.clock.advance(minutes=6)
            assert login(client, account.username, account.password).status_code == 200
    finally:
        restarted.db.dispose()
    assert [e.reason for e in events(env.vault, SYSTEM, action="auth.lockout")] == ["throttle"]


def test_idle_timeout_and_absolute_lifetime(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    env.clock.advance(minutes=9)
    assert client.get(record_url(world), headers=account.headers()).status_code == 200
    env.clock.advance(minutes=11)  # the default tenant idle timeout is 10 minutes
    gone = client.get(record_url(world), headers=account.headers())
    assert gone.status_code == 401
    account = complete_again(client, env, account)
    start = env.clock()
    while env.clock() - start < timedelta(hours=13):  # busy all day, never idle...
        env.clock.advance(minutes=9)
        if client.get(f"{AUTH}/session").status_code == 401:
            break
    lasted = env.clock() - start  # ...yet the session ends at its 12-hour absolute lifetime
    assert timedelta(hours=11, minutes=51) < lasted <= timedelta(hours=12, minutes=9)


def complete_again(client, env, account):
    again = login(client, account.username, account.password)
    assert again.json()["stage"] == "mfa-required"
    account.csrf = again.json()["csrf_token"]
    env.clock.advance(seconds=30)
    verified = client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env)},
    )
    assert verified.status_code == 200, verified.text
    return account


def test_totp_replay_is_refused(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    env.clock.advance(seconds=30)
    code = totp_now(account.totp_secret, env)
    assert (
        client.post(
            f"{AUTH}/mfa/totp/verify", headers=account.headers(None), json={"code": code}
        ).status_code
        == 200
    )
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    replay = client.post(
        f"{AUTH}/mfa/totp/verify", headers=account.headers(None), json={"code": code}
    )
    assert replay.status_code == 422


def test_recovery_code_works_once(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    code = account.recovery_codes[0]
    for expected in (200, 422):
        client.post(f"{AUTH}/logout", headers=account.headers(None))
        account.csrf = login(client, account.username, account.password).json()["csrf_token"]
        used = client.post(
            f"{AUTH}/mfa/recovery", headers=account.headers(None), json={"code": code}
        )
        assert used.status_code == expected


def test_csrf_token_is_required_for_cookie_requests(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    body = {"record_type": "clinical_note", "fields": {"note_date": "2026-01-05"}}
    url = f"/api/v1/tenants/{world.tenant_a}/people/{world.patient}/records"
    refused = client.post(url, json=body, headers={"X-Purpose-Of-Use": "treatment"})
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/csrf-failed")
    forged = client.post(
        url, json=body, headers={"X-Purpose-Of-Use": "treatment", "X-CSRF-Token": "x"}
    )
    assert forged.status_code == 403
    assert client.post(url, json=body, headers=account.headers()).status_code == 201


def test_session_cookie_flags(client, env, world) -> None:
    account = new_member(client, world)
    response = login(client, account.username, account.password)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http in this test; see the https test below


def test_over_https_cookies_are_secure_and_hsts_is_sent(env, world) -> None:
    with TestClient(app_for(env.vault), base_url="https://testserver") as client:
        account = new_member(client, world)
        response = login(client, account.username, account.password)
        assert "Secure" in response.headers["set-cookie"]
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_suspension_ends_sessions_and_tokens_on_the_next_request(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    assert client.get(record_url(world), headers=account.headers()).status_code == 200
    suspended = client.post(
        f"/api/v1/tenants/{world.tenant_a}/members/{account.member_id}/status",
        headers=world["officer"].headers,
        json={"status": "suspended"},
    )
    assert suspended.status_code == 200, suspended.text
    assert client.get(record_url(world), headers=account.headers()).status_code == 401
    assert login(client, account.username, account.password).status_code == 401


def test_revoking_a_grant_ends_the_members_sessions(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    revoked = client.delete(
        f"/api/v1/tenants/{world.tenant_a}/members/{account.member_id}/grant",
        headers=world["officer"].headers,
    )
    assert revoked.status_code == 204
    assert client.get(f"{AUTH}/session").status_code == 401


def test_scoped_token_needs_fresh_auth_and_stays_in_scope(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    env.clock.advance(minutes=6)
    stale = client.post(
        f"{AUTH}/tokens",
        headers=account.headers(None),
        json={
            "tenant_id": str(world.tenant_a),
            "scopes": ["tenant:records:read"],
            "label": "integration",
        },
    )
    assert stale.status_code == 403 and stale.json()["type"].endswith("/reauthentication-required")
    assert (
        client.post(
            f"{AUTH}/reauth", headers=account.headers(None), json={"password": account.password}
        ).status_code
        == 200
    )
    created = client.post(
        f"{AUTH}/tokens",
        headers=account.headers(None),
        json={
            "tenant_id": str(world.tenant_a),
            "scopes": ["tenant:records:read"],
            "label": "integration",
        },
    )
    assert created.status_code == 201, created.text
    token = {"Authorization": f"Bearer {created.json()['token']}", "X-Purpose-Of-Use": "payment"}
    plain = TestClient(app_for(env.vault))
    assert plain.get(record_url(world), headers=token).status_code == 200
    write = plain.post(
        f"/api/v1/tenants/{world.tenant_a}/people/{world.patient}/records",
        headers=token,
        json={"record_type": "clinical_note", "fields": {"note_date": "2026-01-05"}},
    )
    assert write.status_code == 403  # outside the token's scope
    other = plain.get(f"/api/v1/tenants/{world.tenant_b}/people/{world.patient_b}", headers=token)
    assert other.status_code == 404
    client.delete(f"{AUTH}/tokens/{created.json()['id']}", headers=account.headers(None))
    assert plain.get(record_url(world), headers=token).status_code == 401


def test_auth_errors_carry_no_phi(client, env, world) -> None:
    secrets = list(world.secrets.values())
    for response in (
        login(client, world.secrets["family"], world.secrets["note"]),
        client.get(record_url(world)),
        client.post(f"{AUTH}/reset", json={"code": world.secrets["mrn"], "new_password": "x"}),
    ):
        assert response.status_code in (401, 422)
        assert not any(value in response.text for value in secrets)


@pytest.mark.parametrize("minutes", [5, 10, 15])
def test_idle_timeout_follows_the_tenant_setting(client, env, world, minutes) -> None:
    changed = client.patch(
        f"/api/v1/tenants/{world.tenant_a}/settings",
        headers=world["officer"].headers,
        json={"idle_timeout_minutes": minutes},
    )
    assert changed.status_code == 200
    complete(client, env, new_member(client, world))
    assert client.get(f"{AUTH}/session").json()["idle_timeout_seconds"] == minutes * 60


def test_idle_timeout_can_never_exceed_15_minutes(client, world) -> None:
    response = client.patch(
        f"/api/v1/tenants/{world.tenant_a}/settings",
        headers=world["officer"].headers,
        json={"idle_timeout_minutes": 30},
    )
    assert response.status_code == 422
