"""Audit tables. Identifiers are stored as text and times as UTC microseconds so that the
chained hash is computed over the same bytes on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_person", "tenant_id", "person_id", "occurred_us"),
        Index("ix_audit_actor", "tenant_id", "actor_id", "occurred_us"),
        Index("ix_audit_time", "tenant_id", "occurred_us"),
        # One action's events newest first: the last verification, the viewer's action filter
        # (migration 0011).
        Index("ix_audit_action", "tenant_id", "action", "seq"),
        # Emergency-access entries only, newest first: the viewer's break-glass filter
        # (a partial index, so other appends do not pay for it; migration 0014).
        Index(
            "ix_audit_break_glass",
            "tenant_id",
            "seq",
            postgresql_where=text("break_glass = 1"),
            sqlite_where=text("break_glass = 1"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    occurred_us: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[str] = mapped_column(String(36), default="")
    session_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32), default="")
    resource_id: Mapped[str] = mapped_column(String(36), default="")
    person_id: Mapped[str] = mapped_column(String(36), default="")
    purpose: Mapped[str] = mapped_column(String(16), default="")
    outcome: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(64), default="")
    break_glass: Mapped[int] = mapped_column(SmallInteger, default=0)
    fields: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    ref: Mapped[str] = mapped_column(String(36), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHour(Base):
    """One UTC hour of a tenant's trail, counted (migration 0015, ``audit/hours.py``).

    Written by every append in the event's own transaction, so it is exact by construction:
    the dashboard's activity panel reads a few hundred of these rows instead of counting
    millions of events, and the viewer's date filter bounds its walk by ``first_seq`` and
    ``last_seq``. Derived data, not part of the chain."""

    __tablename__ = "audit_hours"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Hours since the epoch, UTC: occurred_us // 3,600,000,000.
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    allowed: Mapped[int] = mapped_column(BigInteger)
    refused: Mapped[int] = mapped_column(BigInteger)
    break_glass: Mapped[int] = mapped_column(BigInteger)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class AuditHead(Base):
    """The last event of each tenant's chain; lets verification notice a cut-off tail."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
