"""The office role directory (ACC-1): positions -> role categories -> data access category.

The WELD preset reproduces the customer's directory: Direct Health Care Providers and Direct
Support Staff, both with Full access limited to treatment, payment and operations, plus the
Summary, Minimum and Emergency-only categories the policy defines for other roles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phivault.access.models import Position, RoleCategory
from phivault.access.policy import AccessCategory, Permission
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.errors import Conflict, InvalidInput

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
    """The positions that can be granted (retired ones are left out)."""
    rows = session.execute(
        select(Position, RoleCategory)
        .join(
            RoleCategory,
            (RoleCategory.tenant_id == Position.tenant_id)
            & (RoleCategory.id == Position.role_category_id),
        )
        .where(Position.tenant_id == tenant_id, Position.retired_at.is_(None))
        .order_by(RoleCategory.name, Position.title)
    ).all()
    return [
        DirectoryEntry(p.id, p.title, r.id, r.name, AccessCategory(r.access_category))
        for p, r in rows
    ]


def read_directory(unit: Unit) -> list[DirectoryEntry]:
    unit.guard.allow(
        Permission.DIRECTORY_READ, action=AuditAction.DIRECTORY_READ, resource_type="directory"
    )
    return list_directory(unit.session, unit.tenant_id)


NAME_RULE = "1 to 120 characters, without spaces at either end"


def _name_problem(value: str) -> str | None:
    # Stored exactly as typed, or refused: a name is never trimmed behind the user's back.
    if not value.strip() or len(value) > 120 or value != value.strip():
        return f"Must be {NAME_RULE}."
    return None


def _clash(unit: Unit, column: Any, value: str, exclude: uuid.UUID | None) -> bool:
    """Whether another row of this agency already uses ``value`` (ignoring case)."""
    model = column.class_
    query = select(model.id).where(
        model.tenant_id == unit.tenant_id, func.lower(column) == value.lower()
    )
    if exclude is not None:
        query = query.where(model.id != exclude)
    return unit.session.scalar(query.limit(1)) is not None


def _check_role_name(unit: Unit, name: str, exclude: uuid.UUID | None = None) -> None:
    if problem := _name_problem(name):
        raise DirectoryProblem("name", problem)
    if _clash(unit, RoleCategory.name, name, exclude):
        raise DirectoryProblem("name", "Another role category of this agency has that name.")


def _check_title(unit: Unit, title: str, exclude: uuid.UUID | None = None) -> None:
    if problem := _name_problem(title):
        raise DirectoryProblem("title", problem)
    if _clash(unit, Position.title, title, exclude):
        raise DirectoryProblem("title", "Another position of this agency has that title.")


class DirectoryProblem(InvalidInput):
    """A directory value refused, naming its field (pages show it there)."""

    def __init__(self, field: str, message: str) -> None:
        # The API's detail names the field; a page shows ``message`` at the field itself.
        super().__init__(f"'{field}': {message}")
        self.field, self.message = field, message


def do_add_role_category(
    unit: Unit, *, name: str, access_category: str, mfa_required: bool | None = None
) -> uuid.UUID:
    """Add a role category. ``mfa_required`` overrides the tenant's MFA setting for it
    (None: the tenant's setting applies). There is no default data access category: the
    administrator chooses one."""
    role_id = uuid.uuid4()
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action=AuditAction.DIRECTORY_ROLE_CATEGORY_ADD,
        resource_type="role_category",
        resource_id=role_id,
        fields=("name", "access_category", "mfa_required"),
        named=False,
    )
    try:
        category = AccessCategory(access_category)
    except ValueError as exc:
        raise DirectoryProblem(
            "access_category", "Choose full, summary, minimum or emergency."
        ) from exc
    _check_role_name(unit, name)
    unit.session.add(
        RoleCategory(
            tenant_id=unit.tenant_id,
            id=role_id,
            name=name,
            access_category=category.value,
            mfa_required=mfa_required,
        )
    )
    unit.session.flush()
    return role_id


def _load(unit: Unit, model: type[Any], object_id: uuid.UUID, action: AuditAction) -> Any:
    """Load a directory object once the guard has allowed the act (so a member without the
    permission learns nothing about it); absent is an audited not-found."""
    resource = "role_category" if model is RoleCategory else "position"
    found = unit.session.get(model, (unit.tenant_id, object_id))
    if found is None:
        raise unit.guard.not_found(
            Permission.DIRECTORY_MANAGE,
            action=action,
            resource_type=resource,
            resource_id=object_id,
        )
    return found


def do_add_position(unit: Unit, *, title: str, role_category_id: uuid.UUID) -> uuid.UUID:
    position_id = uuid.uuid4()
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action=AuditAction.DIRECTORY_POSITION_ADD,
        resource_type="position",
        resource_id=position_id,
        fields=("title", "role_category_id"),
        named=False,
    )
    role = _load(unit, RoleCategory, role_category_id, AuditAction.DIRECTORY_POSITION_ADD)
    if role.retired_at is not None:
        raise DirectoryProblem("role_category_id", "That role category is retired.")
    _check_title(unit, title)
    unit.session.add(
        Position(
            tenant_id=unit.tenant_id,
            id=position_id,
            title=title,
            role_category_id=role_category_id,
        )
    )
    unit.session.flush()
    return position_id


def do_change_role_category(
    unit: Unit, role_id: uuid.UUID, *, name: str | None = None, retired: bool | None = None
) -> None:
    """Rename a role category, or retire it (offered to nobody any more; kept for history)
    or bring it back. A category with current positions cannot be retired: retire or move
    them first, so no member is left holding a position of a retired category unknowingly."""
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action=AuditAction.DIRECTORY_ROLE_CATEGORY_CHANGE,
        resource_type="role_category",
        resource_id=role_id,
        fields=tuple(f for f, v in (("name", name), ("retired", retired)) if v is not None),
    )
    role = _load(unit, RoleCategory, role_id, AuditAction.DIRECTORY_ROLE_CATEGORY_CHANGE)
    if name is not None:
        _check_role_name(unit, name, exclude=role_id)
        role.name = name
    if retired is not None:
        current = unit.session.scalar(
            select(func.count())
            .select_from(Position)
            .where(
                Position.tenant_id == unit.tenant_id,
                Position.role_category_id == role_id,
                Position.retired_at.is_(None),
            )
        )
        if retired and current:
            raise Conflict("retire this role category's positions first")
        role.retired_at = (role.retired_at or unit.now) if retired else None
    unit.session.flush()


def do_change_position(
    unit: Unit, position_id: uuid.UUID, *, title: str | None = None, retired: bool | None = None
) -> None:
    """Rename a position, or retire it (no one is newly given it; those who hold it keep it
    until an administrator changes their grant) or bring it back."""
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action=AuditAction.DIRECTORY_POSITION_CHANGE,
        resource_type="position",
        resource_id=position_id,
        fields=tuple(f for f, v in (("title", title), ("retired", retired)) if v is not None),
    )
    position = _load(unit, Position, position_id, AuditAction.DIRECTORY_POSITION_CHANGE)
    if title is not None:
        _check_title(unit, title, exclude=position_id)
        position.title = title
    if retired is not None:
        role = unit.session.get(RoleCategory, (unit.tenant_id, position.role_category_id))
        if not retired and role is not None and role.retired_at is not None:
            raise Conflict("bring its role category back first")
        position.retired_at = (position.retired_at or unit.now) if retired else None
    unit.session.flush()


def refuse_retired_position(unit: Unit, position_id: uuid.UUID) -> None:
    """Raise when a position may not be newly granted (retired). Call after the guard."""
    position = unit.session.get(Position, (unit.tenant_id, position_id))
    if position is not None and position.retired_at is not None:
        raise InvalidInput("that position is retired; choose a current one")


@dataclass(frozen=True)
class RoleCategoryView:
    """A role category with its settings and positions, as its managers see it."""

    id: uuid.UUID
    name: str
    access_category: AccessCategory
    description: str
    mfa_required: bool | None  # None: the tenant's MFA setting applies
    positions: tuple[tuple[uuid.UUID, str], ...]  # current (position id, title), by title
    retired: bool = False
    retired_positions: tuple[tuple[uuid.UUID, str], ...] = ()


def read_role_directory(unit: Unit) -> list[RoleCategoryView]:
    """Every role category (also those without positions yet) with its data access category,
    MFA override and positions. Guarded by ``directory:manage``: this is the administration
    view; everyone else reads the positions with :func:`read_directory`."""
    unit.guard.allow(
        Permission.DIRECTORY_MANAGE,
        action=AuditAction.DIRECTORY_READ,
        resource_type="directory",
        fields=("name", "access_category", "description", "mfa_required", "positions"),
    )
    roles = unit.session.scalars(
        select(RoleCategory)
        .where(RoleCategory.tenant_id == unit.tenant_id)
        .order_by(RoleCategory.name)
    ).all()
    positions: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    retired: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for position in unit.session.scalars(
        select(Position).where(Position.tenant_id == unit.tenant_id).order_by(Position.title)
    ):
        bucket = retired if position.retired_at is not None else positions
        bucket.setdefault(position.role_category_id, []).append((position.id, position.title))
    return [
        RoleCategoryView(
            id=role.id,
            name=role.name,
            access_category=AccessCategory(role.access_category),
            description=role.description,
            mfa_required=role.mfa_required,
            positions=tuple(positions.get(role.id, ())),
            retired=role.retired_at is not None,
            retired_positions=tuple(retired.get(role.id, ())),
        )
        for role in roles
    ]
