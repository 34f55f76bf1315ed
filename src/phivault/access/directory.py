"""The office role directory (ACC-1): positions -> role categories -> data access category.

The WELD preset reproduces the customer's directory: Direct Health Care Providers and Direct
Support Staff, both with Full access limited to treatment, payment and operations, plus the
Summary, Minimum and Emergency-only categories the policy defines for other roles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.models import Position, RoleCategory
from phivault.access.policy import AccessCategory, Permission
from phivault.access.unit import Unit
from phivault.errors import InvalidInput

WELD_PRESET: dict[str, tuple[AccessCategory, str, tuple[str, ...]]] = {
    "Direct Health Care Provider": (
        AccessCategory.FULL,
        "A licensed or certified health care professional who provides direct or indirect "
        "patient care or consulting services.",
        (
            "Director",
            "Medical Operations Manager",
            "Medical Operations Supervisor",
            "Emergency Medical Technician Paramedic",
            "Emergency Medical Technician Intermediate",
            "Emergency Medical Technician Basic",
        ),
    ),
    "Direct Support Staff": (
        AccessCategory.FULL,
        "Office staff providing professional and administrative support that involves the "
        "delivery of patient care or billing operations.",
        ("Office Manager", "Office Technician"),
    ),
    "Billing and Coding Staff": (
        AccessCategory.SUMMARY,
        "Summary data with treatment or diagnostic codes, as needed to function.",
        ("Billing Specialist", "Medical Coder"),
    ),
    "Scheduling and Payroll Staff": (
        AccessCategory.MINIMUM,
        "Demographics with a minimal treatment reference.",
        ("Scheduler", "Payroll Clerk", "Credentialing Coordinator"),
    ),
    "Emergency Access Only": (
        AccessCategory.EMERGENCY_ONLY,
        "No access to individually identifiable health information except in emergencies.",
        ("IT Support Technician", "Facilities Staff"),
    ),
}


@dataclass(frozen=True)
class DirectoryEntry:
    position_id: uuid.UUID
    title: str
    role_category_id: uuid.UUID
    role_category: str
    access_category: AccessCategory


def install_preset(session: Session, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """Create the WELD directory in a tenant. Returns position title -> position id."""
    positions: dict[str, uuid.UUID] = {}
    for name, (category, description, titles) in WELD_PRESET.items():
        role = RoleCategory(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            name=name,
            access_category=category.value,
            description=description,
        )
        session.add(role)
        session.flush()
        for title in titles:
            position = Position(
                tenant_id=tenant_id, id=uuid.uuid4(), title=title, role_category_id=role.id
            )
            session.add(position)
            positions[title] = position.id
    session.flush()
    return positions


def list_directory(session: Session, tenant_id: uuid.UUID) -> list[DirectoryEntry]:
    rows = session.execute(
        select(Position, RoleCategory)
        .join(
            RoleCategory,
            (RoleCategory.tenant_id == Position.tenant_id)
            & (RoleCategory.id == Position.role_category_id),
        )
        .where(Position.tenant_id == tenant_id)
        .order_by(RoleCategory.name, Position.title)
    ).all()
    return [
        DirectoryEntry(p.id, p.title, r.id, r.name, AccessCategory(r.access_category))
        for p, r in rows
    ]


def read_directory(unit: Unit) -> list[DirectoryEntry]:
    unit.guard.allow(Permission.DIRECTORY_READ, action="directory.read", resource_type="directory")
    return list_directory(unit.session, unit.tenant_id)


def do_add_role_category(
    unit: Unit, *, name: str, access_category: str, mfa_required: bool | None = None
) -> uuid.UUID:
    """Add a role category. ``mfa_required`` overrides the tenant's MFA setting for it
    (None: the tenant's setting applies)."""
    try:
        category = AccessCategory(access_category)
    except ValueError as exc:
        raise InvalidInput("'access_category' must be full, summary, minimum or emergency") from exc
    if not name.strip() or len(name) > 120:
        raise InvalidInput("'name' must be 1 to 120 characters")
    role_id = uuid.uuid4()
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action="directory.role_category.add",
        resource_type="role_category",
        resource_id=role_id,
        fields=("name", "access_category", "mfa_required"),
        named=False,
    )
    unit.session.add(
        RoleCategory(
            tenant_id=unit.tenant_id,
            id=role_id,
            name=name.strip(),
            access_category=category.value,
            mfa_required=mfa_required,
        )
    )
    unit.session.flush()
    return role_id


def do_add_position(unit: Unit, *, title: str, role_category_id: uuid.UUID) -> uuid.UUID:
    if not title.strip() or len(title) > 120:
        raise InvalidInput("'title' must be 1 to 120 characters")
    if unit.session.get(RoleCategory, (unit.tenant_id, role_category_id)) is None:
        raise unit.guard.not_found(
            Permission.DIRECTORY_MANAGE,
            action="directory.position.add",
            resource_type="role_category",
            resource_id=role_category_id,
        )
    position_id = uuid.uuid4()
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action="directory.position.add",
        resource_type="position",
        resource_id=position_id,
        fields=("title", "role_category_id"),
        named=False,
    )
    unit.session.add(
        Position(
            tenant_id=unit.tenant_id,
            id=position_id,
            title=title.strip(),
            role_category_id=role_category_id,
        )
    )
    unit.session.flush()
    return position_id


@dataclass(frozen=True)
class RoleCategoryView:
    """A role category with its settings and positions, as its managers see it."""

    id: uuid.UUID
    name: str
    access_category: AccessCategory
    description: str
    mfa_required: bool | None  # None: the tenant's MFA setting applies
    positions: tuple[tuple[uuid.UUID, str], ...]  # (position id, title), by title


def read_role_directory(unit: Unit) -> list[RoleCategoryView]:
    """Every role category (also those without positions yet) with its data access category,
    MFA override and positions. Guarded by ``directory:manage``: this is the administration
    view; everyone else reads the positions with :func:`read_directory`."""
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action="directory.read",
        resource_type="directory",
        fields=("name", "access_category", "description", "mfa_required", "positions"),
    )
    roles = unit.session.scalars(
        select(RoleCategory)
        .where(RoleCategory.tenant_id == unit.tenant_id)
        .order_by(RoleCategory.name)
    ).all()
    positions: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for position in unit.session.scalars(
        select(Position).where(Position.tenant_id == unit.tenant_id).order_by(Position.title)
    ):
        positions.setdefault(position.role_category_id, []).append((position.id, position.title))
    return [
        RoleCategoryView(
            id=role.id,
            name=role.name,
            access_category=AccessCategory(role.access_category),
            description=role.description,
            mfa_required=role.mfa_required,
            positions=tuple(positions.get(role.id, ())),
        )
        for role in roles
    ]
