"""An API token's check reads the member's standing in the unit's tenant in the same
statement; it must be the standing the guard would otherwise load on its own."""

from __future__ import annotations

from sqlalchemy import update

from phivault.access.models import RoleCategory
from phivault.db.engine import Scope
from phivault.identity import service as identity
from phivault.identity.models import TenantGrant
from phivault.identity.standing import load_standing


def _both(env, persona: str, tenant):
    member = env.world[persona]
    with env.vault.db.transaction(Scope.tenant(tenant)) as session:
        checked = identity.authenticate_token(
            session, member.token, env.clock(), tenant_id=tenant
        ).standing
        loaded = load_standing(session, member.member_id, tenant)
    return checked, loaded


def test_the_token_check_reads_the_same_standing_as_the_guard(env) -> None:
    w = env.world
    for persona in w.personas:
        for tenant in (w.tenant_a, w.tenant_b):
            checked, loaded = _both(env, persona, tenant)
            assert checked == loaded, (persona, tenant)
    # Someone with standing in A, none in B, an outsider with none anywhere: both cases seen.
    assert _both(env, "clinician", w.tenant_a)[0] is not None
    assert _both(env, "clinician", w.tenant_b)[0] is None
    assert _both(env, "outsider", w.tenant_a)[0] is None


def test_it_follows_a_suspended_grant_and_a_role_override(env) -> None:
    w = env.world
    with env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session:
        session.execute(
            update(TenantGrant)
            .where(TenantGrant.member_id == w["coder"].member_id)
            .values(status="suspended")
        )
        session.execute(
            update(RoleCategory)
            .where(RoleCategory.tenant_id == w.tenant_a)
            .values(mfa_required=True)
        )
    for persona in ("coder", "clinician"):
        checked, loaded = _both(env, persona, w.tenant_a)
        assert checked == loaded
    assert _both(env, "coder", w.tenant_a)[0].grant_status == "suspended"
    assert _both(env, "clinician", w.tenant_a)[0].role_mfa_required is True


def test_without_a_tenant_nothing_is_read_about_standing(env) -> None:
    from phivault.access.guard import UNREAD

    w = env.world
    with env.vault.db.reading(Scope.platform()) as session:
        checked = identity.authenticate_token(session, w["clinician"].token, env.clock())
    assert checked.standing is UNREAD
