"""Issuing and revoking one's own API tokens (the services behind the API routes and the web
page): complete and fresh sessions only, own permissions only, audited in the system chain."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from phivault.access.policy import Permission
from phivault.db.engine import Scope
from phivault.errors import Forbidden, InvalidInput, NotFound, ReauthRequired, Unauthenticated
from phivault.identity import auth, sessions
from phivault.identity import service as identity
from tests.support.audit import events, last_event
from tests.support.signin import complete, login, new_member

SYSTEM = "00000000-0000-0000-0000-000000000000"
CLIENT = auth.Client(source="test", user_agent="pytest", request_id="token-service")


def _resolved(env, client) -> sessions.Resolved:
    secret = client.cookies.get(sessions.SESSION_COOKIE)
    with auth.identity_transaction(env.vault) as db:
        return sessions.resolve(db, secret, env.clock())


def _issue(env, resolved, scopes=("tenant:people:read",), tenant=None):
    return identity.do_issue_token(
        env.vault,
        resolved,
        CLIENT,
        tenant_id=tenant or env.world.tenant_a,
        scopes=list(scopes),
        days=30,
        label="integration",
    )


def test_a_complete_fresh_session_issues_a_scoped_token(env, client) -> None:
    account = complete(client, env, new_member(client, env.world))
    token_id, token = _issue(env, _resolved(env, client))
    with env.vault.db.transaction(Scope.platform()) as db:
        found = identity.authenticate_token(db, token, env.clock())
    assert (found.token_id, found.tenant_id) == (token_id, env.world.tenant_a)
    assert found.scopes == frozenset({Permission.PEOPLE_READ})
    event = last_event(env.vault, SYSTEM, action="auth.token.issue")
    assert (event.outcome, event.resource_id, event.fields) == (
        "allowed",
        str(account.member_id),
        "tenant:people:read",
    )
    assert token not in event.fields
    listed = identity.my_tokens(env.vault, account.member_id)
    assert [(t.id, t.label, t.scopes) for t in listed] == [
        (token_id, "integration", ["tenant:people:read"])
    ]
    assert listed[0].expires_at == env.clock() + timedelta(days=30)


def test_a_stale_session_must_reauthenticate_first(env, client) -> None:
    account = complete(client, env, new_member(client, env.world))
    env.clock.advance(minutes=6)
    with pytest.raises(ReauthRequired):
        _issue(env, _resolved(env, client))
    assert identity.my_tokens(env.vault, account.member_id) == []


def test_an_incomplete_sign_in_cannot_issue_tokens(env, client) -> None:
    account = new_member(client, env.world)
    assert login(client, account.username, account.password).status_code == 200
    with pytest.raises(Forbidden):
        _issue(env, _resolved(env, client))


def test_only_permissions_held_in_that_tenant(env, client) -> None:
    account = complete(client, env, new_member(client, env.world, position="Scheduler"))
    resolved = _resolved(env, client)
    held = identity.held_permissions(env.vault, account.member_id, env.world.tenant_a)
    assert Permission.PEOPLE_READ in held and Permission.WORKFORCE_MANAGE not in held
    with pytest.raises(InvalidInput):
        _issue(env, resolved, scopes=("tenant:workforce:manage",))
    with pytest.raises(InvalidInput):
        _issue(env, resolved, tenant=env.world.tenant_b)
    assert (
        identity.held_permissions(env.vault, account.member_id, env.world.tenant_b) == frozenset()
    )
    assert not events(env.vault, SYSTEM, action="auth.token.issue", resource_id=account.member_id)


def test_revoke_own_tokens_only(env, client) -> None:
    account = complete(client, env, new_member(client, env.world))
    token_id, token = _issue(env, _resolved(env, client))
    with pytest.raises(NotFound):
        identity.do_revoke_token(env.vault, env.world["clinician"].member_id, token_id, CLIENT)
    with pytest.raises(NotFound):
        identity.do_revoke_token(env.vault, account.member_id, uuid.uuid4(), CLIENT)
    identity.do_revoke_token(env.vault, account.member_id, token_id, CLIENT)
    assert identity.my_tokens(env.vault, account.member_id)[0].revoked_at == env.clock()
    assert last_event(env.vault, SYSTEM, action="auth.token.revoke").resource_id == str(
        account.member_id
    )
    with env.vault.db.transaction(Scope.platform()) as db, pytest.raises(Unauthenticated):
        identity.authenticate_token(db, token, env.clock())
