"""Issue 8, sign-in hardening: no credential change before the sign-in is complete, every
password check throttled, session secrets rotated, session management only from a complete
session, reset requests that do not enumerate usernames, lockouts keyed by account and source.
Each test is an attack that used to work and now fails, visibly."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from fastapi.testclient import TestClient

from phivault.errors import TooManyAttempts, Unauthenticated
from phivault.identity import auth
from tests.conftest import app_for
from tests.support.audit import events
from tests.support.signin import AUTH, Account, complete, login, new_member, totp_now

SYSTEM = "00000000-0000-0000-0000-000000000000"
COOKIE = "phivault_session"


def _relogin(client: TestClient, account: Account) -> str:
    client.post(f"{AUTH}/logout", headers=account.headers(None))
    body = login(client, account.username, account.password).json()
    account.csrf = body["csrf_token"]
    return str(body["stage"])


def _change(client: TestClient, account: Account, current: str, new: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={"current_password": current, "new_password": new},
    )


# -- 1. no credential change before the sign-in is complete ---------------------------------


def test_password_cannot_be_changed_at_the_mfa_required_stage(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    assert _relogin(client, account) == "mfa-required"  # the attacker knows the password only
    taken = _change(client, account, account.password, "the attacker's own passphrase 2026")
    assert taken.status_code == 403
    assert taken.json()["type"].endswith("/mfa-required")
    # The owner's password still works; the attacker's does not.
    assert login(client, account.username, "the attacker's own passphrase 2026").status_code == 401
    assert login(client, account.username, account.password).status_code == 200
    refused = events(env.vault, SYSTEM, action="auth.password.change", outcome="refused")
    assert [e.reason for e in refused] == ["sign-in-incomplete"]


def test_password_page_at_the_mfa_required_stage_sends_to_the_second_factor(
    client, env, world
) -> None:
    account = complete(client, env, new_member(client, world))
    _relogin(client, account)
    page = client.get("/password", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/mfa/verify"
    posted = client.post(
        "/password",
        data={
            "csrf_token": account.csrf,
            "current_password": account.password,
            "new_password": "the attacker's own passphrase 2026",
        },
        follow_redirects=False,
    )
    assert posted.status_code == 403
    assert login(client, account.username, account.password).status_code == 200


def test_the_forced_first_change_still_works_before_the_second_factor(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))  # forced change, then MFA
    assert account.totp_secret


# -- 2. the current password goes through the sign-in throttle ------------------------------


def test_password_change_guesses_are_throttled_like_sign_in(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    for n in range(10):
        wrong = _change(client, account, f"guess number {n} wrong", "a fresh passphrase 2026!")
        assert wrong.status_code == 422
    locked = _change(client, account, account.password, "a fresh passphrase 2026!")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert [e.reason for e in events(env.vault, SYSTEM, action="auth.lockout")] == ["throttle"]
    # The same throttle: the guesser's source cannot sign in to the account either.
    assert login(client, account.username, account.password).status_code == 429


# -- 3. session secrets rotate; logout without the CSRF token changes nothing -------------


def test_the_session_secret_changes_at_the_password_change(client, env, world) -> None:
    account = new_member(client, world)
    first = login(client, account.username, account.password)
    account.csrf = first.json()["csrf_token"]
    planted = client.cookies.get(COOKIE)
    changed = _change(client, account, account.password, "correct horse battery staple 1969!")
    assert changed.status_code == 200
    renewed = client.cookies.get(COOKIE)
    assert renewed and renewed != planted
    with TestClient(app_for(env.vault)) as other:
        other.cookies.set(COOKIE, planted or "")
        assert other.get(f"{AUTH}/session").status_code == 401  # the old secret is dead
    assert client.get(f"{AUTH}/session").status_code == 200  # the new one works


def test_the_session_secret_changes_at_the_second_factor(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    _relogin(client, account)
    before = client.cookies.get(COOKIE)
    env.clock.advance(seconds=30)
    verified = client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env)},
    )
    assert verified.status_code == 200 and verified.json()["stage"] == "complete"
    after = client.cookies.get(COOKIE)
    assert after and after != before
    with TestClient(app_for(env.vault)) as other:
        other.cookies.set(COOKIE, before or "")
        assert other.get(f"{AUTH}/session").status_code == 401
    assert client.get(f"{AUTH}/session").json()["stage"] == "complete"


def test_logout_with_a_bad_csrf_token_keeps_cookie_and_session_together(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    refused = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/"
    assert COOKIE not in refused.headers.get("set-cookie", "")  # the cookie is not dropped
    assert client.get(f"{AUTH}/session").status_code == 200  # and the session is visibly live
    done = client.post("/logout", data={"csrf_token": account.csrf}, follow_redirects=False)
    assert done.headers["location"] == "/login"
    assert client.get(f"{AUTH}/session").status_code == 401


# -- 4. sessions are managed from a complete session, not with a token ----------------------


def test_an_api_token_cannot_list_or_revoke_its_owners_sessions(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    token = client.post(
        f"{AUTH}/tokens",
        headers=account.headers(None),
        json={"tenant_id": str(world.tenant_a), "scopes": ["*"], "label": "t"},
    )
    assert token.status_code == 201, token.text
    session_id = client.get(f"{AUTH}/session").json()["session_id"]
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    with TestClient(app_for(env.vault)) as integration:
        assert integration.get(f"{AUTH}/sessions", headers=bearer).status_code == 403
        gone = integration.delete(f"{AUTH}/sessions/{session_id}", headers=bearer)
        assert gone.status_code == 403
    assert client.get(f"{AUTH}/session").status_code == 200


def test_sessions_are_not_managed_with_the_password_alone(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    with TestClient(app_for(env.vault)) as owner:
        owner_account = Account(account.username, account.password, account.member_id)
        body = login(owner, account.username, account.password).json()
        owner_account.csrf = body["csrf_token"]
        owner.post(
            f"{AUTH}/mfa/totp/verify",
            headers=owner_account.headers(None),
            json={"code": totp_now(account.totp_secret, env)},
        )
        owners = owner.get(f"{AUTH}/session").json()["session_id"]
        assert _relogin(client, account) == "mfa-required"  # the attacker
        assert client.get(f"{AUTH}/sessions").status_code == 403
        ended = client.delete(f"{AUTH}/sessions/{owners}", headers=account.headers(None))
        assert ended.status_code == 403
        assert client.get("/account/sessions", follow_redirects=False).status_code == 303
        assert owner.get(f"{AUTH}/session").status_code == 200


# -- 6. reset requests do not tell known usernames from unknown ones ------------------------


def test_reset_requests_for_known_and_unknown_names_count_the_same(client, env, world) -> None:
    account = new_member(client, world)
    for _ in range(10):
        body = {"username": account.username}
        assert client.post(f"{AUTH}/reset-requests", json=body).status_code == 202
    known = client.post(f"{AUTH}/reset-requests", json={"username": account.username})
    unknown = client.post(f"{AUTH}/reset-requests", json={"username": "nobody-here"})
    assert known.status_code == unknown.status_code == 429
    assert known.json()["detail"] == unknown.json()["detail"]


def test_reset_request_answers_are_identical_for_known_and_unknown(client, env, world) -> None:
    account = new_member(client, world)
    known = client.post(f"{AUTH}/reset-requests", json={"username": account.username})
    unknown = client.post(f"{AUTH}/reset-requests", json={"username": "nobody-here"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


# -- 7. a lockout slows the guesser without locking the owner out ---------------------------


def test_a_guesser_locks_only_their_own_source_out(env, world) -> None:
    with TestClient(app_for(env.vault), client=("198.51.100.7", 40000)) as attacker:
        account = new_member(attacker, world)
        for _ in range(10):
            assert login(attacker, account.username, "guessing wrongly!!").status_code == 401
        assert login(attacker, account.username, account.password).status_code == 429
    with TestClient(app_for(env.vault), client=("203.0.113.5", 40000)) as owner:
        signed = login(owner, account.username, account.password)
        assert signed.status_code == 200  # the owner on a new device is not locked out


def test_a_guesser_spread_over_many_sources_is_slowed_account_wide(env, world) -> None:
    with TestClient(app_for(env.vault)) as admin:
        account = new_member(admin, world)
    for n in range(3):
        for _ in range(10):
            with contextlib.suppress(Unauthenticated):
                auth.sign_in(
                    env.vault,
                    username=account.username,
                    password="guessing wrongly!!",
                    client=auth.Client(source=f"192.0.2.{n}"),
                    device_secret=None,
                )
    fresh = auth.Client(source="203.0.113.99")
    with pytest.raises(TooManyAttempts) as slowed:
        auth.sign_in(
            env.vault,
            username=account.username,
            password=account.password,
            client=fresh,
            device_secret=None,
        )
    assert 0 < slowed.value.retry_after <= 15 * 60 + 1  # a short, gentle lock, never a day
    env.clock.advance(minutes=16)
    signed = auth.sign_in(
        env.vault,
        username=account.username,
        password=account.password,
        client=fresh,
        device_secret=None,
    )
    assert signed.view.stage == "password-change-required"


# -- 8. the account gates answer the same for existing and random objects -------------------


def _record_urls(world) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    base = f"/api/v1/tenants/{world.tenant_a}/records"
    return f"{base}/{world.records['note']}", f"{base}/{uuid.uuid4()}"


def _same_answer(first, second) -> None:  # type: ignore[no-untyped-def]
    assert first.status_code == second.status_code
    assert first.json()["type"] == second.json()["type"]
    assert first.json()["detail"] == second.json()["detail"]


def test_the_password_gate_answers_the_same_for_existing_and_random_records(
    client, env, world
) -> None:
    account = new_member(client, world)
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    existing, random = _record_urls(world)
    seen = client.get(existing, headers=account.headers())
    unseen = client.get(random, headers=account.headers())
    _same_answer(seen, unseen)
    assert seen.status_code == 403 and seen.json()["type"].endswith("/password-change-required")


def test_the_mfa_gate_answers_the_same_for_existing_and_random_records(client, env, world) -> None:
    account = complete(client, env, new_member(client, world))
    assert _relogin(client, account) == "mfa-required"
    existing, random = _record_urls(world)
    seen = client.get(existing, headers=account.headers())
    unseen = client.get(random, headers=account.headers())
    _same_answer(seen, unseen)
    assert seen.status_code == 403 and seen.json()["type"].endswith("/mfa-required")


def test_a_token_out_of_scope_answers_the_same_for_existing_and_random_records(
    client, env, world
) -> None:
    account = complete(client, env, new_member(client, world))
    token = client.post(
        f"{AUTH}/tokens",
        headers=account.headers(None),
        json={"tenant_id": str(world.tenant_a), "scopes": ["tenant:people:read"], "label": "t"},
    )
    assert token.status_code == 201, token.text
    bearer = {"Authorization": f"Bearer {token.json()['token']}", "X-Purpose-Of-Use": "treatment"}
    existing, random = _record_urls(world)
    with TestClient(app_for(env.vault)) as integration:
        seen = integration.get(existing, headers=bearer)
        unseen = integration.get(random, headers=bearer)
    _same_answer(seen, unseen)
    assert seen.status_code == 403


# -- 9. a lowered idle timeout applies to open sessions on their next request ---------------


def test_a_lowered_idle_timeout_applies_to_open_sessions(client, env, world) -> None:
    complete(client, env, new_member(client, world))
    assert client.get(f"{AUTH}/session").json()["idle_timeout_seconds"] == 600
    lowered = client.patch(
        f"/api/v1/tenants/{world.tenant_a}/settings",
        headers=world["officer"].headers,
        json={"idle_timeout_minutes": 5},
    )
    assert lowered.status_code == 200, lowered.text
    assert client.get(f"{AUTH}/session").json()["idle_timeout_seconds"] == 300
    env.clock.advance(minutes=6)  # within the old 10 minutes, past the new 5
    assert client.get(f"{AUTH}/session").status_code == 401
