"""ACC-12: one agency's administrator can do nothing to an account that also serves another
agency, and cannot pull another agency's member in. The attack found against the vault is
replayed step by step; every step fails, visibly, and the other agency's chain hears of it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from phivault.access.models import Position
from phivault.db.engine import Scope
from phivault.identity.models import Member
from phivault.identity.service import create_member, grant_access, issue_token
from tests.support.audit import events
from tests.support.signin import AUTH, complete, new_member


def _valley_admin(client, env, world) -> dict[str, str]:
    """An administrator of agency A only (not a privacy officer), with an API token."""
    with env.vault.db.transaction(Scope.tenant(world.tenant_a)) as db:
        member = create_member(
            db, username="valley.admin", display_name="Valley Admin", now=env.clock()
        )
        grant_access(
            db,
            tenant_id=world.tenant_a,
            member_id=member.id,
            position_id=world.positions_a["Office Manager"],
            now=env.clock(),
            administrator=True,
        )
        secret = issue_token(db, member_id=member.id, label="admin", now=env.clock())
    return {"Authorization": f"Bearer {secret}"}


def _members(world) -> str:
    return f"/api/v1/tenants/{world.tenant_a}/members"


def test_the_takeover_chain_fails_at_every_step(client, env, world) -> None:
    admin = _valley_admin(client, env, world)
    shared = world["officer"].member_id  # privacy officer of both agencies
    sunrise_only = world["other_staff"].member_id
    position = str(world.positions_a["Scheduler"])

    # Pull a member of the other agency in: only an invitation results, with no standing.
    pulled = client.put(
        f"{_members(world)}/{sunrise_only}/grant", headers=admin, json={"position_id": position}
    )
    assert pulled.status_code == 200 and pulled.json()["status"] == "invited"
    assert (
        client.get(
            f"/api/v1/tenants/{world.tenant_a}/people", headers=world["other_staff"].headers
        ).status_code
        == 404
    )
    # Nothing can be done to the invited account from here.
    for method, path, body in (
        ("PUT", "manager", {"manager_id": None}),
        ("POST", "mfa-reset", None),
        ("DELETE", "sessions", None),
    ):
        answer = client.request(
            method, f"{_members(world)}/{sunrise_only}/{path}", headers=admin, json=body
        )
        assert answer.status_code == 404, (path, answer.text)

    # The shared privacy officer: make oneself their manager, reset their second factor, end
    # their sessions. Each needs authority in the other agency too, which this admin lacks.
    for method, path, body in (
        ("PUT", "manager", {"manager_id": str(uuid.uuid4())}),
        ("POST", "mfa-reset", None),
        ("DELETE", "sessions", None),
    ):
        answer = client.request(
            method, f"{_members(world)}/{shared}/{path}", headers=admin, json=body
        )
        assert answer.status_code == 403, (path, answer.text)
        assert "also serves another agency" in answer.json()["detail"]
    # The other agency's own chain records every attempt on its staff.
    seen = events(env.vault, world.tenant_b, outcome="refused", reason="authority-elsewhere")
    assert {e.action for e in seen} == {
        "workforce.manager.set",
        "workforce.mfa.reset",
        "workforce.sessions.revoke",
    }
    assert {e.resource_id for e in seen} == {str(shared)}


def test_a_reset_of_a_shared_account_needs_standing_in_every_agency(client, env, world) -> None:
    """Even a manager in the line cannot hand out a password that opens another agency's
    charts, unless they also stand in that agency."""
    admin = _valley_admin(client, env, world)
    shared = world["officer"].member_id
    with env.vault.db.transaction(Scope.everything()) as db:
        admin_id = db.scalars(select(Member.id).where(Member.username == "valley.admin")).one()
        db.get(Member, shared).manager_id = admin_id  # as if set before this rule existed
        username = db.get(Member, shared).username
    client.post(f"{AUTH}/reset-requests", json={"username": username})
    pending = client.get(f"/api/v1/tenants/{world.tenant_a}/reset-requests", headers=admin)
    assert pending.status_code == 200
    request_id = pending.json()[0]["id"]
    refused = client.post(
        f"/api/v1/tenants/{world.tenant_a}/reset-requests/{request_id}/authorize", headers=admin
    )
    assert refused.status_code == 403
    seen = events(env.vault, world.tenant_b, action="workforce.reset.authorize")
    assert [e.reason for e in seen] == ["authority-elsewhere"]


def test_within_one_agency_the_administrator_still_acts(client, env, world) -> None:
    admin = _valley_admin(client, env, world)
    staff = complete(client, env, new_member(client, world))
    client.cookies.clear()
    reset = client.post(f"{_members(world)}/{staff.member_id}/mfa-reset", headers=admin)
    assert reset.status_code == 204
    assert [e.outcome for e in events(env.vault, world.tenant_a, action="workforce.mfa.reset")] == [
        "allowed"
    ]
    assert events(env.vault, world.tenant_b, action="workforce.mfa.reset") == []


def test_a_revoked_grant_gives_no_hold_on_the_account(client, env, world) -> None:
    admin = _valley_admin(client, env, world)
    staff = new_member(client, world)
    gone = client.delete(
        f"{_members(world)}/{staff.member_id}/grant", headers=world["officer"].headers
    )
    assert gone.status_code == 204
    answer = client.post(f"{_members(world)}/{staff.member_id}/mfa-reset", headers=admin)
    assert answer.status_code == 404


def test_an_invited_account_gets_standing_only_when_its_owner_accepts(client, env, world) -> None:
    staff = complete(client, env, new_member(client, world))
    # Agency B invites the account (the officer administers B too).
    with env.vault.db.transaction(Scope.tenant(world.tenant_b)) as db:
        position = db.scalars(
            select(Position.id).where(
                Position.tenant_id == world.tenant_b, Position.title == "Scheduler"
            )
        ).one()
    invited = client.put(
        f"/api/v1/tenants/{world.tenant_b}/members/{staff.member_id}/grant",
        headers=world["officer"].headers,
        json={"position_id": str(position)},
    )
    assert invited.json()["status"] == "invited"
    listed = client.get(f"{AUTH}/invitations", headers=staff.headers(None))
    assert [i["tenant_id"] for i in listed.json()] == [str(world.tenant_b)]
    people_b = f"/api/v1/tenants/{world.tenant_b}/people"
    assert client.get(people_b, headers=staff.headers()).status_code == 404
    accepted = client.post(
        f"{AUTH}/invitations/{world.tenant_b}/accept", headers=staff.headers(None)
    )
    assert accepted.status_code == 204
    assert client.get(people_b, headers=staff.headers()).status_code == 200
    consent = events(env.vault, world.tenant_b, action="workforce.invite.accept")
    assert [e.actor_id for e in consent] == [str(staff.member_id)]
    # Accepting twice, or an invitation that was never made, is a 404.
    again = client.post(f"{AUTH}/invitations/{world.tenant_b}/accept", headers=staff.headers(None))
    assert again.status_code == 404


def test_an_administrator_without_privacy_officer_duty_mints_no_officer(client, env, world) -> None:
    admin = _valley_admin(client, env, world)
    position = str(world.positions_a["Office Manager"])
    minted = client.post(
        _members(world),
        headers=admin,
        json={
            "username": "minted.po",
            "display_name": "Minted",
            "position_id": position,
            "privacy_officer": True,
        },
    )
    assert minted.status_code == 403
    assert "only a privacy officer" in minted.json()["detail"]
    promoted = client.put(
        f"{_members(world)}/{world['scheduler'].member_id}/grant",
        headers=admin,
        json={"position_id": position, "administrator": True},
    )
    assert promoted.status_code == 403
    # Plain staff may still be added by the administrator, and each addition is reviewed.
    added = client.post(
        _members(world),
        headers=admin,
        json={"username": "plain.staff", "display_name": "Plain", "position_id": position},
    )
    assert added.status_code == 201
    reviews = client.get(
        f"/api/v1/tenants/{world.tenant_a}/access-reviews", headers=world["officer"].headers
    ).json()
    assert added.json()["id"] in {r["member_id"] for r in reviews}


def test_revoking_standing_here_cuts_off_nothing_another_agency_relies_on(
    client, env, world
) -> None:
    admin = _valley_admin(client, env, world)
    sunrise_only, shared = world["other_staff"], world["officer"]
    people_b = f"/api/v1/tenants/{world.tenant_b}/people"
    # Invite a member of the other agency, then withdraw the invitation: nothing of theirs ends.
    client.put(
        f"{_members(world)}/{sunrise_only.member_id}/grant",
        headers=admin,
        json={"position_id": str(world.positions_a["Scheduler"])},
    )
    gone = client.delete(f"{_members(world)}/{sunrise_only.member_id}/grant", headers=admin)
    assert gone.status_code == 204
    assert client.get(people_b, headers=sunrise_only.headers).status_code == 200
    # Revoke the shared officer's standing here: their token still works in the other agency,
    # and no longer here.
    revoked = client.delete(f"{_members(world)}/{shared.member_id}/grant", headers=admin)
    assert revoked.status_code == 204
    assert client.get(people_b, headers=shared.headers).status_code == 200
    people_a = f"/api/v1/tenants/{world.tenant_a}/people"
    assert client.get(people_a, headers=shared.headers).status_code == 404


def test_revoking_someones_only_standing_still_ends_their_sessions_and_tokens(
    client, env, world
) -> None:
    admin = _valley_admin(client, env, world)
    staff = world["scheduler"]  # serves agency A only
    assert (
        client.delete(f"{_members(world)}/{staff.member_id}/grant", headers=admin).status_code
        == 204
    )
    people_a = f"/api/v1/tenants/{world.tenant_a}/people"
    assert client.get(people_a, headers=staff.headers).status_code == 401  # token revoked
