"""A notice to one member: what happened (a kind) and the id of the thing it is about."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class Notification(Base):
    """One notice to one recipient. It carries IDs only (no names, no reasons: PHI-free), so it
    may later travel through any outbound channel; the recipient opens the referenced item
    through the guard."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "tenant_id", "recipient_id", "read_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(40))
    ref_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
