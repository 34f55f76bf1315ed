"""API tokens: hashed at rest, expiring, and useless once the member or grant is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from phivault.db.engine import Scope
from phivault.errors import InvalidInput, Unauthenticated
from phivault.identity.models import ApiToken, Member
from phivault.identity.service import authenticate_token, create_member, hash_token, issue_token


def test_token_is_stored_only_as_a_hash(env) -> None:
    token = env.world["clinician"].token
    with env.vault.db.transaction(Scope.platform()) as session:
        hashes = session.scalars(select(ApiToken.secret_hash)).all()
    assert hash_token(token) in hashes
    assert all(token.encode() not in h for h in hashes)


def test_expired_token_is_refused(env) -> None:
    with env.vault.db.transaction(Scope.platform()) as session:
        token = issue_token(
            session,
            member_id=env.world["clinician"].member_id,
            label="short",
            now=env.clock(),
            lifetime=timedelta(hours=1),
        )
    with env.vault.db.transaction(Scope.platform()) as session:
        assert (
            authenticate_token(session, token, env.clock()).member_id
            == env.world["clinician"].member_id
        )
        with pytest.raises(Unauthenticated):
            authenticate_token(session, token, env.clock() + timedelta(hours=2))


def test_suspended_member_fails_on_the_very_next_request(client, env) -> None:
    world = env.world
    url = f"/api/v1/tenants/{world.tenant_a}/records/{world.records['note']}"
    assert client.get(url, headers=world["clinician"].headers).status_code == 200
    with env.vault.db.transaction(Scope.platform()) as session:
        session.execute(
            update(Member)
            .where(Member.id == world["clinician"].member_id)
            .values(status="suspended")
        )
    assert client.get(url, headers=world["clinician"].headers).status_code == 401


def test_revoked_grant_fails_on_the_very_next_request(client, env) -> None:
    world = env.world
    url = f"/api/v1/tenants/{world.tenant_a}/records/{world.records['care_plan']}"
    assert client.get(url, headers=world["coder"].headers).status_code == 200
    revoked = client.delete(
        f"/api/v1/tenants/{world.tenant_a}/members/{world['coder'].member_id}/grant",
        headers=world["officer"].headers,
    )
    assert revoked.status_code == 204
    assert client.get(url, headers=world["coder"].headers).status_code == 401  # token revoked too


def test_usernames_are_unique_and_validated(env) -> None:
    from phivault.errors import Conflict

    with pytest.raises(Conflict), env.vault.db.transaction(Scope.platform()) as session:
        create_member(session, username="CLINICIAN", display_name="Dup", now=env.clock())
    with pytest.raises(InvalidInput), env.vault.db.transaction(Scope.platform()) as session:
        create_member(session, username="no spaces allowed", display_name="X", now=env.clock())
