"""Workforce administration in a tenant: account status, MFA reset, sessions, reporting
lines, password-reset authorization, security settings and access reviews."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from phivault.access.policy import Permission
from phivault.api.deps import Ctx, FreshCtx, declare
from phivault.api.schemas import Strict
from phivault.identity import lifecycle

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["workforce"])


class StatusIn(Strict):
    status: str = Field(description="active | suspended | terminated")


class ManagerIn(Strict):
    manager_id: uuid.UUID | None


class ResetCodeOut(BaseModel):
    code: str = Field(description="one-time reset code for the requester; shown this once")
    expires_in_hours: int


class PendingResetOut(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID
    username: str
    requested_at: datetime


class ReviewOut(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID
    changed_by: uuid.UUID
    from_position_id: uuid.UUID | None
    to_position_id: uuid.UUID | None
    opened_at: datetime
    status: str = Field(description="open, confirmed or revoked (kept for sanctions)")
    closed_by: uuid.UUID | None = None
    closed_at: datetime | None = None
    note: str | None = None


class ReviewCloseIn(Strict):
    outcome: str = Field(description="confirmed | revoked")
    note: str = Field(default="", description="why; kept with the decision (at most 2000)")


class MemberOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    position_id: uuid.UUID
    position: str
    role_category: str
    access_category: str
    privacy_officer: bool
    administrator: bool
    status: str = Field(description="account: invited | active | suspended | terminated")
    standing: str = Field(description="standing in this tenant: active | revoked")
    mfa_enrolled: bool
    manager_id: uuid.UUID | None = Field(description="only a manager with standing here")
    manager: str | None
    manager_outside: bool = Field(description="the manager has no standing in this tenant")


class SettingsIn(Strict):
    password_profile: str | None = None
    password_expiry_days: int | None = None
    password_history: int | None = None
    idle_timeout_minutes: int | None = None
    mfa_required: bool | None = None
    mfa_reverify_days: int | None = None
    mfa_self_service_reset: bool | None = None
    break_glass_per_shift: int | None = None
    break_glass_max_minutes: int | None = None


@router.get("/members", openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def list_members(tenant_id: uuid.UUID, ctx: Ctx) -> list[MemberOut]:
    """Everyone with (or once with) standing here: position, duties, account status, second
    factor enrolled or not, manager."""
    with ctx.unit(tenant_id) as unit:
        return [MemberOut(**asdict(m)) for m in lifecycle.list_members(unit)]


@router.get("/members/{member_id}", openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def read_member(tenant_id: uuid.UUID, member_id: uuid.UUID, ctx: Ctx) -> MemberOut:
    with ctx.unit(tenant_id) as unit:
        return MemberOut(**asdict(lifecycle.read_member(unit, member_id)))


@router.post("/members/{member_id}/status", openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def set_status(
    tenant_id: uuid.UUID, member_id: uuid.UUID, body: StatusIn, ctx: FreshCtx
) -> dict[str, str]:
    """Suspend, terminate or reinstate: a suspended or terminated member's sessions and
    tokens stop working on their very next request."""
    with ctx.unit(tenant_id) as unit:
        return {"status": lifecycle.do_set_status(unit, member_id, body.status)}


@router.post(
    "/members/{member_id}/mfa-reset",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.WORKFORCE_MANAGE),
)
def reset_mfa(tenant_id: uuid.UUID, member_id: uuid.UUID, ctx: FreshCtx) -> None:
    with ctx.unit(tenant_id) as unit:
        lifecycle.do_reset_mfa(unit, member_id)


@router.put("/members/{member_id}/manager", openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def set_manager(
    tenant_id: uuid.UUID, member_id: uuid.UUID, body: ManagerIn, ctx: FreshCtx
) -> dict[str, Any]:
    with ctx.unit(tenant_id) as unit:
        lifecycle.do_set_manager(unit, member_id, body.manager_id)
    return {"member_id": member_id, "manager_id": body.manager_id}


@router.delete("/members/{member_id}/sessions", openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def revoke_member_sessions(
    tenant_id: uuid.UUID, member_id: uuid.UUID, ctx: FreshCtx
) -> dict[str, int]:
    """End every session of a member (e.g. a lost laptop)."""
    with ctx.unit(tenant_id) as unit:
        return {"revoked": lifecycle.do_revoke_member_sessions(unit, member_id)}


@router.get("/reset-requests", openapi_extra=declare(Permission.DIRECTORY_READ))
def pending_resets(tenant_id: uuid.UUID, ctx: Ctx) -> list[PendingResetOut]:
    """Reset requests of the people in the caller's reporting line."""
    with ctx.unit(tenant_id) as unit:
        return [PendingResetOut(**asdict(r)) for r in lifecycle.list_reset_requests(unit)]


@router.post(
    "/reset-requests/{request_id}/authorize", openapi_extra=declare(Permission.DIRECTORY_READ)
)
def authorize_reset(tenant_id: uuid.UUID, request_id: uuid.UUID, ctx: FreshCtx) -> ResetCodeOut:
    with ctx.unit(tenant_id) as unit:
        code = lifecycle.do_authorize_reset(unit, request_id)
    return ResetCodeOut(code=code, expires_in_hours=lifecycle.RESET_TOKEN_HOURS)


@router.get("/settings", openapi_extra=declare(Permission.DIRECTORY_READ))
def read_settings(tenant_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    with ctx.unit(tenant_id) as unit:
        return lifecycle.read_settings(unit)


@router.patch("/settings", openapi_extra=declare(Permission.SETTINGS_MANAGE))
def update_settings(tenant_id: uuid.UUID, body: SettingsIn, ctx: FreshCtx) -> dict[str, Any]:
    with ctx.unit(tenant_id) as unit:
        return lifecycle.do_update_settings(unit, body.model_dump(exclude_none=True))


@router.get("/access-reviews", openapi_extra=declare(Permission.ACCESS_REVIEW))
def access_reviews(
    tenant_id: uuid.UUID, ctx: Ctx, review_status: str | None = "open"
) -> list[ReviewOut]:
    with ctx.unit(tenant_id) as unit:
        return [ReviewOut(**asdict(r)) for r in lifecycle.list_access_reviews(unit, review_status)]


@router.post(
    "/access-reviews/{review_id}/close",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.ACCESS_REVIEW),
)
def close_review(
    tenant_id: uuid.UUID, review_id: uuid.UUID, body: ReviewCloseIn, ctx: FreshCtx
) -> None:
    with ctx.unit(tenant_id) as unit:
        lifecycle.do_close_access_review(unit, review_id, body.outcome, body.note)
