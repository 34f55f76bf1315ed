"""Break-glass in the browser: a deliberate dialog (reason, duration, password again); the
banner and countdown are on the chart, the review queue in the audit viewer (web/audit.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from phivault.access import breakglass
from phivault.access.policy import Permission, PurposeOfUse
from phivault.api.deps import client_of, declare
from phivault.errors import InvalidInput, PhivaultError
from phivault.identity import recovery
from phivault.web.common import (
    VaultDep,
    form_page,
    not_found,
    redirect,
    render,
    tenant_context,
)

router = APIRouter(include_in_schema=False)
DURATIONS = (15, 30, 60, 120)


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
    back = f"/t/{tenant_id}/people/{person_id}/emergency"
    page = form_page(request, vault, tenant_id, csrf_token, back)
    if isinstance(page, Response):
        return page
    try:
        recovery.reauthenticate(
            vault, page.resolved, password=password, code=None, client=client_of(request)
        )
        with page.unit(PurposeOfUse.TREATMENT) as unit:
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
