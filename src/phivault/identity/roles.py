"""Joining a tenant grant to its role: one query shape shared by the guard, the member policy
and token scoping."""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Select

from phivault.access.models import Position, RoleCategory
from phivault.identity.models import TenantGrant

_Ts = TypeVarTuple("_Ts")


def join_role(query: Select[*_Ts]) -> Select[*_Ts]:
    """Join a query that selects from TenantGrant to the grant's position and role category
    (which carries the data access category and the role's MFA override)."""
    return query.join(
        Position,
        (Position.tenant_id == TenantGrant.tenant_id) & (Position.id == TenantGrant.position_id),
    ).join(
        RoleCategory,
        (RoleCategory.tenant_id == Position.tenant_id)
        & (RoleCategory.id == Position.role_category_id),
    )
