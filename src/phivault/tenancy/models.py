"""Tenant table. A tenant owns every PHI row that carries its id (I-5)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime]


class TenantSettings(Base):
    """Per-tenant security settings. A member with standing in several tenants gets the
    strictest of them (shortest idle timeout, MFA if any requires it, every password rule)."""

    __tablename__ = "tenant_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    password_profile: Mapped[str] = mapped_column(String(16), default="nist")  # nist | acs-2003
    password_expiry_days: Mapped[int] = mapped_column(Integer, default=90)  # acs-2003: 30-90
    password_history: Mapped[int] = mapped_column(Integer, default=6)  # acs-2003 reuse window
    idle_timeout_minutes: Mapped[int] = mapped_column(Integer, default=10)  # 1-15
    mfa_required: Mapped[bool] = mapped_column(Boolean, default=True)
    mfa_reverify_days: Mapped[int] = mapped_column(Integer, default=30)  # 0: every login
    mfa_self_service_reset: Mapped[bool] = mapped_column(Boolean, default=False)
    # Break-glass bounds per member (ACC-3): openings per shift (12 h) and the longest one.
    break_glass_per_shift: Mapped[int] = mapped_column(Integer, default=3)
    break_glass_max_minutes: Mapped[int] = mapped_column(Integer, default=60)
    updated_at: Mapped[datetime]
