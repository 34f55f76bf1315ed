"""A member's standing in a tenant, as the guard reads it: the account's status, the grant's,
the grant's duties and the role's data access category and second-factor rule.

The vault is given :func:`load_standing` at start-up (``phivault.bootstrap``); the guard
calls it without importing this package, which sits above it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVarTuple

from sqlalchemy import Select, Uuid, bindparam, select
from sqlalchemy.orm import Session

from phivault.access.guard import StandingRow
from phivault.access.models import Position, RoleCategory
from phivault.identity.models import Member, TenantGrant
from phivault.tenancy.models import TenantSettings

# Typed explicitly: a foreign-key column takes its type from the table it points at, which
# may not be loaded yet when this module is (the bound value would then go out untyped).
_ID = Uuid()
_Ts = TypeVarTuple("_Ts")
# The grant-side columns of a standing, for a statement that reads the member (the guard's
# own read, and the API token check): LEFT JOINed by :func:`outerjoin_standing`, all NULL
# without a grant.
GRANT_COLUMNS = (
    TenantGrant.status,
    TenantGrant.is_privacy_officer,
    TenantGrant.is_administrator,
    RoleCategory.access_category,
    RoleCategory.mfa_required,
    # The tenant's own row, looked up by its key once (a join let SQLite scan the table).
    select(TenantSettings.mfa_required)
    .where(TenantSettings.tenant_id == bindparam("tenant", type_=_ID))
    .scalar_subquery(),
)


def outerjoin_standing(query: Select[*_Ts]) -> Select[*_Ts]:
    """Join a query that reads ``members`` to the member's grant in the tenant bound as
    ``tenant``, its position and role category: each a lookup by its key, the tenant given as
    the bound value so that no planner scans for it (the tenant's settings come with
    :data:`GRANT_COLUMNS`)."""
    tenant = bindparam("tenant", type_=_ID)
    return (
        query.outerjoin(
            TenantGrant, (TenantGrant.tenant_id == tenant) & (TenantGrant.member_id == Member.id)
        )
        .outerjoin(
            Position, (Position.tenant_id == tenant) & (Position.id == TenantGrant.position_id)
        )
        .outerjoin(
            RoleCategory,
            (RoleCategory.tenant_id == tenant) & (RoleCategory.id == Position.role_category_id),
        )
    )


# The guard's own read (a unit opened without a token check): the same columns and joins.
_STANDING = outerjoin_standing(select(Member.status, *GRANT_COLUMNS)).where(
    Member.id == bindparam("member", type_=_ID)
)


def standing_from(member_status: str, grant: Sequence[Any]) -> StandingRow | None:
    """A standing from the member's status and the :data:`GRANT_COLUMNS` of an outer join
    (None without a grant, or without the tenant's settings)."""
    if grant[0] is None or grant[-1] is None:
        return None
    return StandingRow(member_status, *grant)


def load_standing(
    session: Session, member_id: uuid.UUID, tenant_id: uuid.UUID
) -> StandingRow | None:
    """The member's grant in the tenant with its role, or None without one (one query)."""
    # Core on the connection: a plain row, without the ORM's execution path.
    row = (
        session.connection().execute(_STANDING, {"member": member_id, "tenant": tenant_id}).first()
    )
    return None if row is None else standing_from(row[0], row[1:])
