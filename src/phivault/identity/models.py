"""Workforce members (one login per person, AUTH-1), their tenant grants and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class Member(Base):
    """A person of the workforce. Not tenant-owned: back-office staff serve several tenants."""

    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # invited -> active -> suspended -> terminated (AUTH-1, AUTH-8)
    status: Mapped[str] = mapped_column(String(16), default="active")
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # The reporting line: who may authorize this member's password reset (AUTH-4).
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    status_changed_at: Mapped[datetime | None]


class TenantGrant(Base):
    """A member's standing in one tenant: position (hence access category) and duties."""

    __tablename__ = "tenant_grants"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "position_id"], ["positions.tenant_id", "positions.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    position_id: Mapped[uuid.UUID]
    is_privacy_officer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_administrator: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    granted_at: Mapped[datetime]


class ApiToken(Base):
    """An integration credential. Only a SHA-256 of the (high-entropy) secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Scope: one tenant and a set of permissions ("*" = all the member's own). A token never
    # carries more than its member's current standing.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    scopes: Mapped[str] = mapped_column(String(2000), default="*")
    last_used_at: Mapped[datetime | None]


class AccessReview(Base):
    """Opened when a member's position or duties change (ACC-9): the privacy officer confirms
    the new access is what the job needs."""

    __tablename__ = "access_reviews"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    from_position_id: Mapped[uuid.UUID | None]
    to_position_id: Mapped[uuid.UUID | None]
    opened_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | confirmed | revoked
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    closed_at: Mapped[datetime | None]
    # The reviewer's note, encrypted like every free text (it may say why access was revoked).
    note_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
