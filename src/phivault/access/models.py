"""Office role directory (ACC-1), break-glass grants (ACC-3) and access reasons."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class RoleCategory(Base):
    """A role category (e.g. Direct Health Care Provider) carrying a data access category."""

    __tablename__ = "role_categories"
    # Exact duplicates are impossible in the database; the service also refuses names that
    # differ only in case, with a message.
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    access_category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500), default="")
    # None: the tenant's MFA setting applies; True/False overrides it for this role (AUTH-5).
    mfa_required: Mapped[bool | None] = mapped_column(Boolean)
    # Retired: kept for the history of who held what, offered to nobody any more.
    retired_at: Mapped[datetime | None]


class Position(Base):
    """A position of the office role directory, belonging to one role category."""

    __tablename__ = "positions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "role_category_id"], ["role_categories.tenant_id", "role_categories.id"]
        ),
        UniqueConstraint("tenant_id", "title"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(120))
    role_category_id: Mapped[uuid.UUID]
    retired_at: Mapped[datetime | None]


class BreakGlassGrant(Base):
    """Emergency access beyond a member's category: reasoned, time-limited, reviewed."""

    __tablename__ = "break_glass"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["people.tenant_id", "people.id"]),
        # The guard's lookup on every PHI read (access/guard.py, _BREAK_GLASS): equality on
        # the first three columns, the newest expiry first (migration 0011).
        Index("ix_break_glass_active", "tenant_id", "member_id", "person_id", "expires_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    person_id: Mapped[uuid.UUID]
    # The reason is free text and may mention clinical facts, so it is encrypted like PHI.
    reason_ct: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    reviewed_at: Mapped[datetime | None]
    review_note_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class AccessReason(Base):
    """The free-text reason given with purpose 'other'; audit events refer to it by id."""

    __tablename__ = "access_reasons"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    reason_ct: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
