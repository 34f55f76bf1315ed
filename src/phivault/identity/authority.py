"""Authority over an account (ACC-12): each agency owns its data, and an account may serve
several agencies (a shared privacy officer, a contractor). An act on the account itself —
resetting its second factor, ending its sessions, naming its manager, authorizing its password
reset — reaches every agency it serves, so it needs authority in every one of them:

- the member must hold an **active** grant in the acting agency (a revoked grant gives the
  acting agency nothing over the account any more);
- for every other agency the member actively serves, the actor must hold an active grant there
  carrying the same permission; the operator (CLI) is the way round for everything else;
- the act, allowed or refused, is audited in every agency the account serves, each in its own
  chain, so the other agencies see what was done to (or tried on) their staff.

The other agencies' grants are read from a snapshot (a read-only transaction outside the
unit's), because the unit's own transaction sees only its tenant's rows under PostgreSQL's
row-level security.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from phivault.access.models import RoleCategory
from phivault.access.policy import AccessCategory, Permission, grant_permissions
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, REFUSED
from phivault.db.engine import Scope
from phivault.errors import Conflict, Forbidden
from phivault.identity.models import Member, TenantGrant
from phivault.identity.roles import join_role
from phivault.identity.sessions import cut_off

ELSEWHERE = (
    "this member also serves another agency: an act on their account needs the same "
    "authority there too, or the operator"
)


@dataclass(frozen=True)
class AccountAct:
    """An authorised act on a member's account: the member, and the other agencies whose
    chains must hear of it."""

    member: Member
    elsewhere: tuple[uuid.UUID, ...]


def _grants(unit: Unit, member_id: uuid.UUID) -> list[tuple[uuid.UUID, bool, bool, str]]:
    """(tenant, privacy officer, administrator, access category) of each active grant."""
    query = join_role(
        select(
            TenantGrant.tenant_id,
            TenantGrant.is_privacy_officer,
            TenantGrant.is_administrator,
            RoleCategory.access_category,
        )
    ).where(TenantGrant.member_id == member_id, TenantGrant.status == "active")
    with unit.vault.db.snapshot(Scope.everything()) as session:
        return [(t, bool(po), bool(admin), str(c)) for t, po, admin, c in session.execute(query)]


def served_tenants(unit: Unit, member_id: uuid.UUID) -> set[uuid.UUID]:
    """Every agency where the member has an active grant."""
    return {tenant for tenant, *_ in _grants(unit, member_id)}


def _holds(
    grants: list[tuple[uuid.UUID, bool, bool, str]], tenant: uuid.UUID, permission: Permission
) -> bool:
    return any(
        t == tenant
        and permission in grant_permissions(AccessCategory(c), privacy_officer=po, administrator=a)
        for t, po, a, c in grants
    )


def act_on_account(
    unit: Unit,
    member_id: uuid.UUID,
    permission: Permission,
    action: AuditAction,
    fields: tuple[str, ...] = (),
    *,
    extra_check: Callable[[], None] | None = None,
) -> AccountAct:
    """Decide an act on ``member_id``'s account from this agency; record it here and in every
    other agency the account serves. Raises an audited refusal (here and there) otherwise.

    ``extra_check`` runs after the guard allowed the act here and before anything is written
    (e.g. "the manager must be in this agency"), so its refusals reveal nothing to others.
    """
    decision = unit.guard.check(
        permission, action=action, resource_type="member", resource_id=member_id
    )
    grant = unit.session.get(TenantGrant, (unit.tenant_id, member_id))
    member = unit.session.get(Member, member_id)
    if grant is None or grant.status != "active" or member is None:
        # Only an active grant counts: absent, revoked or never here look alike.
        raise unit.guard.not_found(
            permission, action=action, resource_type="member", resource_id=member_id
        )
    if member_id == unit.actor.member_id:
        raise Conflict("nobody changes their own account this way; ask another administrator")
    elsewhere = tuple(sorted(served_tenants(unit, member_id) - {unit.tenant_id}, key=str))
    if elsewhere:
        mine = _grants(unit, unit.actor.member_id)
        lacking = [t for t in elsewhere if not _holds(mine, t, permission)]
        if lacking:
            unit.guard.echo(
                elsewhere,
                action,
                REFUSED,
                resource_type="member",
                resource_id=member_id,
                reason="authority-elsewhere",
                fields=(str(permission),),
            )
            raise unit.guard.refuse(
                permission,
                action=action,
                resource_type="member",
                resource_id=member_id,
                person_id=None,
                reason="authority-elsewhere",
                error=Forbidden(ELSEWHERE),
            )
    if extra_check is not None:
        extra_check()
    unit.guard.record(decision, fields)
    unit.guard.echo(
        elsewhere, action, ALLOWED, resource_type="member", resource_id=member_id, fields=fields
    )
    return AccountAct(member, elsewhere)


def end_standing_here(unit: Unit, grant: TenantGrant, reason: str) -> None:
    """Revoke a member's standing in this agency. Losing one's only standing ends every
    session, device and token at once (AUTH-8); for an account that still serves other
    agencies those belong to them too, so only the standing here ends (the guard re-reads it
    on every request, so it is gone from the next one). An invitation never accepted has
    nothing to cut off."""
    was_active = grant.status == "active"
    grant.status = "revoked"
    if was_active and not served_tenants(unit, grant.member_id) - {unit.tenant_id}:
        cut_off(unit.session, grant.member_id, unit.now, reason)
