"""Break-glass in the browser (a deliberate dialog: reason, duration, password again) and the
privacy officer's audit viewer with its break-glass review queue."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from phivault.access import breakglass
from phivault.access.policy import Permission, PurposeOfUse
from phivault.api.deps import client_of, declare, declared_permissions
from phivault.audit import service as audit_service
from phivault.errors import InvalidInput, PhivaultError
from phivault.identity import recovery
from phivault.web.common import (
    VaultDep,
    csrf_ok,
    not_found,
    problem_page,
    redirect,
    render,
    tenant_context,
)

router = APIRouter(include_in_schema=False)
DURATIONS = (15, 30, 60, 120)
ACTIONS = (
    "record.read",
    "record.list",
    "person.read",
    "person.search",
    "document.download",
    "break_glass.start",
    "record.create",
    "record.update",
)


@router.get(
    "/t/{tenant_id}/people/{person_id}/emergency",
    openapi_extra=declare(Permission.BREAK_GLASS_INVOKE),
)
def emergency_form(
    request: Request, tenant_id: uuid.UUID, person_id: uuid.UUID, vault: VaultDep
) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    return render(
        request, "emergency.html", person_id=person_id, durations=DURATIONS, **page.vars()
    )


@router.post(
    "/t/{tenant_id}/people/{person_id}/emergency",
    openapi_extra=declare(Permission.BREAK_GLASS_INVOKE),
)
def emergency_submit(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=1000)],
    minutes: Annotated[int, Form()],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Re-authenticate, then open emergency access; it is flagged for review at once."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(f"/t/{tenant_id}/people/{person_id}/emergency")
    try:
        recovery.reauthenticate(
            vault, page.resolved, password=password, code=None, client=client_of(request)
        )
        with vault.unit(
            tenant_id, page.actor, PurposeOfUse.TREATMENT, declared=declared_permissions(request)
        ) as unit:
            breakglass.do_break_glass(unit, person_id=person_id, reason=reason, minutes=minutes)
    except InvalidInput as exc:
        return render(
            request,
            "emergency.html",
            422,
            person_id=person_id,
            durations=DURATIONS,
            error=exc.detail,
            **page.vars(),
        )
    except PhivaultError:
        return not_found(request, page)
    return redirect(f"/t/{tenant_id}/people/{person_id}?purpose=treatment")


def _when(raw: str | None, *, end: bool = False) -> datetime | None:
    if not raw:
        return None
    day = datetime.fromisoformat(raw).replace(tzinfo=datetime.now().astimezone().tzinfo)
    return day + timedelta(days=1) if end else day


@router.get(
    "/t/{tenant_id}/audit",
    openapi_extra=declare(Permission.AUDIT_READ, Permission.BREAK_GLASS_REVIEW),
)
def audit_viewer(
    request: Request,
    tenant_id: uuid.UUID,
    vault: VaultDep,
    person_id: str = "",
    actor_id: str = "",
    action: str = "",
    outcome: str = "",
    since: str = "",
    until: str = "",
    break_glass: str = "",
) -> Response:
    """Audit entries (IDs and field names only) and the break-glass review queue."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    try:
        flt = audit_service.EventFilter(
            person_id=uuid.UUID(person_id) if person_id else None,
            actor_id=uuid.UUID(actor_id) if actor_id else None,
            action=action or None,
            outcome=outcome or None,
            since=_when(since),
            until=_when(until, end=True),
            break_glass=True if break_glass else None,
            limit=200,
        )
    except ValueError:
        return problem_page(request, page, 422, "A filter is not valid.")
    try:
        with vault.unit(tenant_id, page.actor, declared=declared_permissions(request)) as unit:
            entries = audit_service.query_events(unit, flt)
            pending = breakglass.list_break_glass(unit)
    except PhivaultError as exc:
        return problem_page(request, page, exc.status, exc.detail)
    return render(
        request,
        "audit.html",
        entries=entries,
        pending=pending,
        actions=ACTIONS,
        filters=request.query_params,
        **page.vars(),
    )


@router.post(
    "/t/{tenant_id}/break-glass/{grant_id}/review",
    openapi_extra=declare(Permission.BREAK_GLASS_REVIEW),
)
def review(
    request: Request,
    tenant_id: uuid.UUID,
    grant_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    disposition: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    if csrf_ok(page.resolved, csrf_token):
        try:
            with vault.unit(tenant_id, page.actor, declared=declared_permissions(request)) as unit:
                breakglass.do_review_break_glass(unit, grant_id, disposition=disposition, note=note)
        except PhivaultError as exc:
            return problem_page(request, page, exc.status, exc.detail)
    return redirect(f"/t/{tenant_id}/audit")
