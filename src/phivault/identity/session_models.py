"""Server-side sessions, remembered MFA devices, login throttling and password resets."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class LoginSession(Base):
    """A signed-in browser or API client. The cookie holds a random secret; only its SHA-256
    is stored, so a database copy cannot be replayed as a session."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # absolute lifetime
    idle_seconds: Mapped[int] = mapped_column(Integer)
    password_verified_at: Mapped[datetime]
    mfa_verified_at: Mapped[datetime | None]
    # Until when the password is settled (not an initial one, not expired); None: change it
    # first. Kept on the session so that checking a request needs no extra queries.
    password_ok_until: Mapped[datetime | None]
    # Last time the person re-proved who they are; sensitive actions require it to be recent.
    fresh_auth_at: Mapped[datetime]
    csrf_token: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    current_tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(String(32), default="")
    # The WebAuthn challenge this session was last given, until it is answered once.
    webauthn_challenge: Mapped[bytes | None] = mapped_column(LargeBinary(64))


class RememberedDevice(Base):
    """A browser that passed MFA recently: MFA is asked again after the tenant's N days."""

    __tablename__ = "remembered_devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ThrottleEntry(Base):
    """Failed sign-ins per account and per source address (AUTH-7), kept in the database so
    that a restart does not reset a lockout."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # kind:hmac(value)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    lockouts: Mapped[int] = mapped_column(Integer, default=0)


class ResetRequest(Base):
    """A password reset: requested by the member, authorized by a manager in their line (or
    by their own second factor where the tenant allows), used once (AUTH-4)."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    authorized_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    authorized_at: Mapped[datetime | None]
    token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
