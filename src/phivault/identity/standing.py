"""A member's standing in a tenant, as the guard reads it: the account's status, the grant's,
the grant's duties and the role's data access category and second-factor rule.

The vault is given :func:`load_standing` at start-up (``phivault.bootstrap``); the guard
calls it without importing this package, which sits above it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, select
from sqlalchemy.orm import Session

from phivault.access.guard import StandingRow
from phivault.access.models import RoleCategory
from phivault.identity.models import Member, TenantGrant
from phivault.identity.roles import join_role
from phivault.tenancy.models import TenantSettings

# Typed explicitly: a foreign-key column takes its type from the table it points at, which
# may not be loaded yet when this module is (the bound value would then go out untyped).
_ID = Uuid()
_STANDING = (
    join_role(
        select(
            Member.status,
            TenantGrant.status,
            TenantGrant.is_privacy_officer,
            TenantGrant.is_administrator,
            RoleCategory.access_category,
            RoleCategory.mfa_required,
            TenantSettings.mfa_required,
        ).join(TenantGrant, TenantGrant.member_id == Member.id)
    )
    .join(TenantSettings, TenantSettings.tenant_id == TenantGrant.tenant_id)
    .where(
        Member.id == bindparam("member", type_=_ID),
        TenantGrant.tenant_id == bindparam("tenant", type_=_ID),
    )
)


def load_standing(
    session: Session, member_id: uuid.UUID, tenant_id: uuid.UUID
) -> StandingRow | None:
    """The member's grant in the tenant with its role, or None without one (one query)."""
    # Core on the connection: a plain row, without the ORM's execution path.
    row = (
        session.connection().execute(_STANDING, {"member": member_id, "tenant": tenant_id}).first()
    )
    return None if row is None else StandingRow(*row)
