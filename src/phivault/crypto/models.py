"""Wrapped keys. The plaintext of a data key never reaches the database."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class TenantKey(Base):
    """One version of a tenant key. purpose 'data' encrypts PHI; 'index' keys blind indexes."""

    __tablename__ = "tenant_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(12), default="active")  # active|retiring|retired
    created_at: Mapped[datetime]


class SystemKey(Base):
    """Platform keys such as the audit chain's HMAC key, wrapped by the master key."""

    __tablename__ = "system_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class KeyRotation(Base):
    """Progress of a data-key rotation, so an interrupted run resumes where it stopped."""

    __tablename__ = "key_rotations"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    from_version: Mapped[int]
    to_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="running")
    table_name: Mapped[str] = mapped_column(String(32), default="")
    cursor_id: Mapped[str] = mapped_column(String(36), default="")
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
