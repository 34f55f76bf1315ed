"""Credential tables: passwords and their history, TOTP, recovery codes, passkeys.

Secrets are stored so that a database copy cannot log anyone in: passwords as argon2id hashes,
recovery codes (high-entropy) as HMAC-SHA256 under the platform identity key, the TOTP seed
encrypted with that key (it must be recoverable to compute codes), passkeys as public keys only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class PasswordCredential(Base):
    __tablename__ = "passwords"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime]
    # Set for initial and administrator-issued passwords: change before any PHI (AUTH-3).
    must_change: Mapped[bool] = mapped_column(default=True)


class PasswordHistory(Base):
    """Earlier password hashes, for profiles that forbid reuse (ACS 4.8)."""

    __tablename__ = "password_history"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    hash: Mapped[str] = mapped_column(String(200))
    retired_at: Mapped[datetime]


class TotpCredential(Base):
    __tablename__ = "totp_credentials"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    secret_ct: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    # The last accepted time step: a code is never accepted twice (replay, RFC 6238 5.2).
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebAuthnCredential(Base):
    """A passkey: only its public key and signature counter are kept."""

    __tablename__ = "webauthn_credentials"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    label: Mapped[str] = mapped_column(String(120), default="passkey")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
