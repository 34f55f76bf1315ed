"""Bodies of the sign-in API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from phivault.api.schemas import Strict


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    session_id: uuid.UUID
    member_id: uuid.UUID
    username: str
    display_name: str
    stage: str = Field(
        description="password-change-required | mfa-enrolment-required | mfa-required | complete"
    )
    csrf_token: str
    idle_timeout_seconds: int
    expires_at: datetime
    password_expires_in_days: int | None
    mfa_enrolled: bool


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=64)
    remember_device: bool = False


class EnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="single-use; shown this once")
    session: SessionOut


class CredentialIn(Strict):
    credential: dict[str, Any]
    label: str = Field(default="passkey", max_length=120)
    remember_device: bool = False


class ReauthIn(Strict):
    password: str | None = Field(default=None, max_length=1024)
    code: str | None = Field(default=None, max_length=64)


class SessionRow(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    source: str
    user_agent: str
    mfa_verified: bool


class TokenIn(Strict):
    tenant_id: uuid.UUID
    scopes: list[str] = Field(min_length=1, max_length=30)
    days: int = Field(default=90, ge=1, le=365)
    label: str = Field(min_length=1, max_length=120)


class TokenOut(BaseModel):
    id: uuid.UUID
    token: str = Field(description="shown this once")


class TokenRow(BaseModel):
    id: uuid.UUID
    label: str
    tenant_id: uuid.UUID | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ResetRequestIn(Strict):
    username: str = Field(min_length=1, max_length=120)


class ResetIn(Strict):
    code: str = Field(min_length=1, max_length=100)
    new_password: str = Field(min_length=1, max_length=1024)


class SelfResetIn(Strict):
    username: str = Field(min_length=1, max_length=120)
    code: str = Field(min_length=1, max_length=64)
    new_password: str = Field(min_length=1, max_length=1024)


class InvitationOut(BaseModel):
    """An agency waiting for this account's consent (ACC-12)."""

    tenant_id: uuid.UUID
    tenant_name: str
    position: str
    privacy_officer: bool
    administrator: bool
