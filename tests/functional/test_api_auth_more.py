"""More identity behaviour over HTTP: remembered devices, per-role MFA, per-source throttling,
self-service reset, session management, MFA reset by an administrator, dummy hashing."""

from __future__ import annotations

from tests.conftest import app_for
from tests.support.audit import events
from tests.support.signin import AUTH, complete, login, new_member, totp_now

SYSTEM = "00000000-0000-0000-0000-000000000000"


def _relogin(client, account):
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    body = login(client, account.username, account.password).json()
    account.csrf = body["csrf_token"]
    return body["stage"]


def test_remembered_device_skips_mfa_until_the_tenant_window_ends(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    assert _relogin(client, account) == "mfa-required"
    env.clock.advance(seconds=30)
    verified = client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env), "remember_device": True},
    )
    assert verified.status_code == 200
    assert "phivault_device" in verified.headers["set-cookie"]
    env.clock.advance(days=29)
    assert _relogin(client, account) == "complete"
    env.clock.advance(days=2)  # default re-verification every 30 days
    assert _relogin(client, account) == "mfa-required"


def test_every_login_when_the_tenant_says_so(client, env, world) -> None:
    client.patch(
        f"/api/v1/tenants/{world.tenant_a}/settings",
        headers=world["officer"].headers,
        json={"mfa_reverify_days": 0},
    )
    account = complete(client, env, new_member(client, world))
    _relogin(client, account)
    env.clock.advance(seconds=30)
    verified = client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env), "remember_device": True},
    )
    assert "phivault_device" not in verified.headers.get("set-cookie", "")
    assert _relogin(client, account) == "mfa-required"


def test_a_role_may_be_exempted_from_mfa(client, env, world) -> None:
    officer = world["officer"].headers
    base = f"/api/v1/tenants/{world.tenant_a}"
    role = client.post(
        f"{base}/directory/role-categories",
        headers=officer,
        json={"name": "Kiosk", "access_category": "minimum", "mfa_required": False},
    ).json()
    position = client.post(
        f"{base}/directory/positions",
        headers=officer,
        json={"title": "Front desk kiosk", "role_category_id": role["id"]},
    ).json()
    account = new_member(client, world, position="Scheduler")
    client.put(
        f"{base}/members/{account.member_id}/grant",
        headers=officer,
        json={"position_id": position["id"]},
    )
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    changed = client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={
            "current_password": account.password,
            "new_password": "kiosk passphrase that is long enough",
        },
    )
    assert changed.json()["stage"] == "complete"
    assert (
        client.get(
            f"{base}/records/{world.records['care_plan']}", headers=account.headers()
        ).status_code
        == 200
    )


def test_one_source_spraying_many_accounts_is_throttled(client, env, world) -> None:
    for n in range(10):
        assert login(client, f"sprayed{n}", "Summer2026!").status_code == 401
    account = new_member(client, world)
    assert login(client, account.username, account.password).status_code == 429


def test_unknown_users_are_checked_against_a_dummy_hash(client, world, monkeypatch) -> None:
    from phivault.identity import passwords

    calls = []
    real = passwords.verify_dummy
    monkeypatch.setattr(passwords, "verify_dummy", lambda pw: calls.append(1) or real(pw))
    assert login(client, "ghost.user", "whatever password").status_code == 401
    assert calls == [1]


def test_self_service_reset_only_where_allowed(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    client.cookies.clear()
    env.clock.advance(seconds=60)
    body = {
        "username": account.username,
        "code": totp_now(account.totp_secret, env),
        "new_password": "my own new passphrase 2026",
    }
    assert client.post(f"{AUTH}/reset/self", json=body).status_code == 422
    client.patch(
        f"/api/v1/tenants/{world.tenant_a}/settings",
        headers=world["officer"].headers,
        json={"mfa_self_service_reset": True},
    )
    env.clock.advance(seconds=60)
    body["code"] = totp_now(account.totp_secret, env)
    assert client.post(f"{AUTH}/reset/self", json=body).status_code == 204
    assert login(client, account.username, "my own new passphrase 2026").status_code == 200
    outcomes = [e.outcome for e in events(env.vault, SYSTEM, action="auth.reset.self")]
    assert outcomes == ["refused", "allowed"]


def test_members_list_and_revoke_their_own_sessions(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    mine = client.get(f"{AUTH}/sessions").json()
    assert len(mine) == 1 and mine[0]["mfa_verified"] is True
    gone = client.delete(f"{AUTH}/sessions/{mine[0]['id']}", headers=account.headers(None))
    assert gone.status_code == 204
    assert client.get(f"{AUTH}/session").status_code == 401


def test_administrator_resets_a_members_mfa(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    reset = client.post(
        f"/api/v1/tenants/{world.tenant_a}/members/{account.member_id}/mfa-reset",
        headers=world["officer"].headers,
    )
    assert reset.status_code == 204
    assert client.get(f"{AUTH}/session").status_code == 401  # their sessions ended
    assert (
        login(client, account.username, account.password).json()["stage"]
        == "mfa-enrolment-required"
    )
    audited = events(env.vault, world.tenant_a, action="workforce.mfa.reset")
    assert [e.resource_id for e in audited] == [str(account.member_id)]


def test_failed_second_factor_is_audited_and_counts_towards_lockout(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    _relogin(client, account)
    for _ in range(10):
        client.post(
            f"{AUTH}/mfa/totp/verify", headers=account.headers(None), json={"code": "000000"}
        )
    locked = client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env, 30)},
    )
    assert locked.status_code == 429
    refused = events(env.vault, SYSTEM, action="auth.mfa.verify", outcome="refused")
    assert len(refused) == 10


def test_recovery_codes_can_be_regenerated_after_fresh_auth(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    fresh = client.post(f"{AUTH}/mfa/recovery-codes", headers=account.headers(None))
    assert fresh.status_code == 200
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(account.recovery_codes)
    env.clock.advance(minutes=6)
    stale = client.post(f"{AUTH}/mfa/recovery-codes", headers=account.headers(None))
    assert stale.status_code == 403


def test_operator_resets_the_top_of_a_line_without_a_manager(env, world) -> None:
    from phivault.errors import InvalidInput
    from phivault.identity import operator

    initial = operator.reset_password(env.vault, "officer", None)  # no manager on record
    assert len(initial) >= 16
    operator.set_manager(env.vault, "coder", "officer")
    import pytest

    with pytest.raises(InvalidInput, match="reporting line"):
        operator.reset_password(env.vault, "coder", None)
    refused = events(env.vault, SYSTEM, action="member.password.reset", outcome="refused")
    assert len(refused) == 1


def test_lockout_refusals_are_audited(client, env, world) -> None:
    account = new_member(client, world)
    for _ in range(10):
        login(client, account.username, "wrong wrong wrong")
    assert login(client, account.username, account.password).status_code == 429
    locked = events(env.vault, SYSTEM, action="auth.login", reason="locked")
    assert [e.resource_id for e in locked] == [str(account.member_id)]


def test_idle_session_is_marked_revoked(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    env.clock.advance(minutes=11)
    assert client.get(f"{AUTH}/session").status_code == 401
    from phivault.identity import operator

    assert [s for s in operator.list_sessions(env.vault, account.username)] == []


def test_reset_revokes_api_tokens_too(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    token = client.post(
        f"{AUTH}/tokens",
        headers=account.headers(None),
        json={"tenant_id": str(world.tenant_a), "scopes": ["*"], "label": "t"},
    ).json()
    from phivault.identity import operator

    operator.reset_password(env.vault, account.username, None)
    from fastapi.testclient import TestClient

    plain = TestClient(app_for(env.vault))
    record = f"/api/v1/tenants/{world.tenant_a}/records/{world.records['note']}"
    response = plain.get(
        record,
        headers={"Authorization": f"Bearer {token['token']}", "X-Purpose-Of-Use": "treatment"},
    )
    assert response.status_code == 401


def test_platform_actions_need_a_complete_sign_in(client, env, world) -> None:
    from phivault.db.engine import Scope
    from phivault.identity import operator
    from phivault.identity.models import Member

    initial = operator.reset_password(env.vault, "officer", None)
    first = login(client, "officer", initial).json()
    assert first["stage"] == "password-change-required"
    refused = client.post(
        "/api/v1/tenants",
        headers={"X-CSRF-Token": first["csrf_token"]},
        json={"name": "Sneaky Agency", "slug": "sneaky"},
    )
    assert refused.status_code == 403
    with env.vault.db.transaction(Scope.platform()) as session:
        assert session.get(Member, world["officer"].member_id).is_platform_admin
