"""Tenants, the role directory, workforce grants, break-glass and the audit trail."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from phivault.access import breakglass
from phivault.access import directory as directory_service
from phivault.access.policy import Permission
from phivault.api.deps import Ctx, FreshCtx, declare
from phivault.api.paging import OffsetQuery
from phivault.api.schemas import (
    BreakGlassIn,
    BreakGlassOut,
    ChainOut,
    CreatedMember,
    DirectoryEntryOut,
    GrantIn,
    GrantOut,
    IdOut,
    MemberIn,
    NoticeOut,
    PositionChangeIn,
    PositionIn,
    ReviewIn,
    RoleCategoryChangeIn,
    RoleCategoryIn,
    TenantIn,
    TenantOut,
)
from phivault.audit import service as audit_service
from phivault.db.engine import Scope
from phivault.identity import lifecycle
from phivault.identity import service as identity
from phivault.notifications import service as notifications
from phivault.tenancy.service import do_create_tenant

router = APIRouter(prefix="/api/v1", tags=["administration"])
T = "/tenants/{tenant_id}"


@router.post(
    "/tenants",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.TENANTS_CREATE),
)
def create_tenant(body: TenantIn, ctx: FreshCtx) -> TenantOut:
    ctx.require_platform_admin()
    tenant = do_create_tenant(
        ctx.vault, name=body.name, slug=body.slug, actor=ctx.actor, administer=True
    )
    return TenantOut(id=tenant.id, name=tenant.name, slug=tenant.slug)


@router.get(T + "/directory", openapi_extra=declare(Permission.DIRECTORY_READ))
def read_directory(tenant_id: uuid.UUID, ctx: Ctx) -> list[DirectoryEntryOut]:
    with ctx.unit(tenant_id) as unit:
        return [DirectoryEntryOut(**asdict(e)) for e in directory_service.read_directory(unit)]


@router.post(
    T + "/directory/role-categories",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.DIRECTORY_MANAGE),
)
def add_role_category(tenant_id: uuid.UUID, body: RoleCategoryIn, ctx: Ctx) -> IdOut:
    with ctx.unit(tenant_id) as unit:
        return IdOut(
            id=directory_service.do_add_role_category(
                unit,
                name=body.name,
                access_category=body.access_category,
                mfa_required=body.mfa_required,
            )
        )


@router.post(
    T + "/directory/positions",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.DIRECTORY_MANAGE),
)
def add_position(tenant_id: uuid.UUID, body: PositionIn, ctx: Ctx) -> IdOut:
    with ctx.unit(tenant_id) as unit:
        return IdOut(
            id=directory_service.do_add_position(
                unit, title=body.title, role_category_id=body.role_category_id
            )
        )


@router.patch(
    T + "/directory/role-categories/{role_category_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.DIRECTORY_MANAGE),
)
def change_role_category(
    tenant_id: uuid.UUID, role_category_id: uuid.UUID, body: RoleCategoryChangeIn, ctx: Ctx
) -> None:
    with ctx.unit(tenant_id) as unit:
        directory_service.do_change_role_category(
            unit, role_category_id, name=body.name, retired=body.retired
        )


@router.patch(
    T + "/directory/positions/{position_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.DIRECTORY_MANAGE),
)
def change_position(
    tenant_id: uuid.UUID, position_id: uuid.UUID, body: PositionChangeIn, ctx: Ctx
) -> None:
    with ctx.unit(tenant_id) as unit:
        directory_service.do_change_position(
            unit, position_id, title=body.title, retired=body.retired
        )


@router.post(
    T + "/members",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.WORKFORCE_MANAGE),
)
def add_member(tenant_id: uuid.UUID, body: MemberIn, ctx: FreshCtx) -> CreatedMember:
    """Create a workforce member with standing in this tenant and an initial password, shown
    once; they change it and enrol a second factor at first sign-in."""
    with ctx.unit(tenant_id) as unit:
        member, initial = identity.do_add_member(
            unit,
            username=body.username,
            display_name=body.display_name,
            position_id=body.position_id,
            privacy_officer=body.privacy_officer,
            administrator=body.administrator,
        )
        if body.manager_id is not None:
            lifecycle.do_set_manager(unit, member.id, body.manager_id)
        return CreatedMember(id=member.id, username=member.username, initial_password=initial)


@router.put(T + "/members/{member_id}/grant", openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def grant(tenant_id: uuid.UUID, member_id: uuid.UUID, body: GrantIn, ctx: FreshCtx) -> GrantOut:
    """Change a member's position and duties here. An account without active standing here
    is invited instead (``status: invited``) and gets standing when its owner accepts."""
    with ctx.unit(tenant_id) as unit:
        outcome = identity.do_grant(
            unit,
            member_id=member_id,
            position_id=body.position_id,
            privacy_officer=body.privacy_officer,
            administrator=body.administrator,
        )
    return GrantOut(id=member_id, status=outcome)


@router.delete(
    T + "/members/{member_id}/grant",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.WORKFORCE_MANAGE),
)
def revoke(tenant_id: uuid.UUID, member_id: uuid.UUID, ctx: FreshCtx) -> None:
    with ctx.unit(tenant_id) as unit:
        identity.do_revoke_grant(unit, member_id=member_id)


@router.post(
    T + "/break-glass",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.BREAK_GLASS_INVOKE),
)
def start_break_glass(tenant_id: uuid.UUID, body: BreakGlassIn, ctx: FreshCtx) -> BreakGlassOut:
    with ctx.unit(tenant_id) as unit:
        view = breakglass.do_break_glass(
            unit, person_id=body.person_id, reason=body.reason, minutes=body.minutes
        )
    return BreakGlassOut(**asdict(view))


@router.post(
    T + "/break-glass/{grant_id}/end", openapi_extra=declare(Permission.BREAK_GLASS_INVOKE)
)
def end_break_glass(tenant_id: uuid.UUID, grant_id: uuid.UUID, ctx: Ctx) -> BreakGlassOut:
    with ctx.unit(tenant_id) as unit:
        return BreakGlassOut(**asdict(breakglass.do_end_break_glass(unit, grant_id)))


@router.get(T + "/break-glass", openapi_extra=declare(Permission.BREAK_GLASS_REVIEW))
def list_break_glass(
    tenant_id: uuid.UUID, ctx: Ctx, review_status: str | None = "pending"
) -> list[BreakGlassOut]:
    with ctx.unit(tenant_id) as unit:
        views = breakglass.list_break_glass(unit, status=review_status or None)
        return [BreakGlassOut(**asdict(v)) for v in views]


@router.post(
    T + "/break-glass/{grant_id}/review", openapi_extra=declare(Permission.BREAK_GLASS_REVIEW)
)
def review_break_glass(
    tenant_id: uuid.UUID, grant_id: uuid.UUID, body: ReviewIn, ctx: Ctx
) -> BreakGlassOut:
    with ctx.unit(tenant_id) as unit:
        view = breakglass.do_review_break_glass(
            unit, grant_id, disposition=body.disposition, note=body.note
        )
        return BreakGlassOut(**asdict(view))


@router.get(T + "/notifications", openapi_extra=declare(Permission.BREAK_GLASS_REVIEW))
def unread_notifications(tenant_id: uuid.UUID, ctx: Ctx) -> list[NoticeOut]:
    """The caller's unread notices (IDs only: what happened and what it is about)."""
    with ctx.unit(tenant_id) as unit:
        return [NoticeOut(**asdict(n)) for n in notifications.unread_notices(unit)]


@router.post(
    T + "/notifications/{notice_id}/read", openapi_extra=declare(Permission.BREAK_GLASS_REVIEW)
)
def mark_notification_read(tenant_id: uuid.UUID, notice_id: uuid.UUID, ctx: Ctx) -> NoticeOut:
    with ctx.unit(tenant_id) as unit:
        return NoticeOut(**asdict(notifications.do_mark_read(unit, notice_id)))


@router.get(T + "/audit/events", openapi_extra=declare(Permission.AUDIT_READ))
def audit_events(
    tenant_id: uuid.UUID,
    ctx: Ctx,
    person_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    break_glass: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: OffsetQuery = 0,
) -> list[dict[str, object]]:
    flt = audit_service.EventFilter(
        person_id, actor_id, action, outcome, since, until, break_glass, limit, offset
    )
    with ctx.unit(tenant_id) as unit:
        return audit_service.query_events(unit, flt)


@router.get(T + "/audit/verify", openapi_extra=declare(Permission.AUDIT_VERIFY))
def audit_verify(tenant_id: uuid.UUID, ctx: Ctx) -> ChainOut:
    report = audit_service.verify_tenant_chain(lambda: ctx.unit(tenant_id))
    problem = report.problem
    return ChainOut(
        tenant_id=report.tenant_id,
        intact=report.ok,
        events=report.events,
        last_seq=report.last_seq,
        first_bad_event=problem.seq if problem else None,
        problem=problem.detail if problem else None,
    )


@router.get("/me", openapi_extra=declare("public"))
def me(ctx: Ctx) -> dict[str, object]:
    """Who the token belongs to and which tenants it has standing in (no PHI)."""
    from sqlalchemy import select

    from phivault.identity.models import Member, TenantGrant
    from phivault.tenancy.models import Tenant

    with ctx.vault.db.transaction(Scope.everything()) as session:
        member = session.get(Member, ctx.identity.member_id)
        rows = session.execute(
            select(Tenant.id, Tenant.name, TenantGrant.is_privacy_officer)
            .join(TenantGrant, TenantGrant.tenant_id == Tenant.id)
            .where(TenantGrant.member_id == ctx.identity.member_id, TenantGrant.status == "active")
        ).all()
    assert member is not None
    return {
        "id": str(member.id),
        "username": member.username,
        "display_name": member.display_name,
        "tenants": [{"id": str(r[0]), "name": r[1], "privacy_officer": r[2]} for r in rows],
    }
