"""Break-glass in the browser: a deliberate dialog (reason, duration, password again); the
banner and countdown are on the chart, the review queue in the audit viewer (web/audit.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from phivault.access import breakglass
from phivault.access.policy import Permission, PurposeOfUse
from phivault.access.reasons import SENTENCE_RULE
from phivault.api.deps import client_of, declare
from phivault.errors import NotFound, PhivaultError
from phivault.identity import recovery
from phivault.web.common import (
    AgencyFormDep,
    AgencyPageDep,
    TenantPage,
    not_found,
    path_for,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
DURATIONS = (15, 30, 60, 120, 240)


def _durations(page: TenantPage) -> tuple[int, ...]:
    """The choices the agency's bound allows (the service enforces the bound itself)."""
    with page.unit() as unit:
        _, longest = breakglass.limits(unit)
    return tuple(m for m in DURATIONS if m <= longest) or (longest,)


def _form(
    request: Request,
    page: TenantPage,
    person_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    reason: str = "",
    minutes: int | None = None,
) -> Response:
    """The dialog, again with what was typed (never the password) after any refusal."""
    durations = _durations(page)
    chosen = minutes if minutes in durations else min(60, durations[-1])
    return render(
        request,
        "emergency.html",
        status,
        person_id=person_id,
        durations=durations,
        chosen=chosen,
        reason=reason,
        error=error,
        rule=SENTENCE_RULE,
        **page.vars(),
    )


@router.get(
    "/t/{tenant_id}/people/{person_id}/emergency",
    openapi_extra=declare(Permission.BREAK_GLASS_INVOKE),
)
def emergency_form(
    request: Request, tenant_id: uuid.UUID, person_id: uuid.UUID, page: AgencyPageDep
) -> Response:
    return _form(request, page, person_id)


@router.post(
    "/t/{tenant_id}/people/{person_id}/emergency",
    openapi_extra=declare(Permission.BREAK_GLASS_INVOKE),
)
def emergency_submit(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    page: AgencyFormDep,
    # Generous transport bounds: the service's own rules answer on the form, never raw JSON.
    reason: Annotated[str, Form(max_length=10_000)],
    minutes: Annotated[str, Form(max_length=10)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Re-authenticate, then open emergency access; it is flagged for review at once.
    Any refusal but a hidden person shows the form again with the reason as typed."""
    chosen = int(minutes) if minutes.isascii() and minutes.isdigit() else None
    if chosen is None:
        return _form(request, page, person_id, status=422, error="Choose how long.", reason=reason)
    try:
        recovery.reauthenticate(
            page.vault, page.resolved, password=password, code=None, client=client_of(request)
        )
        with page.unit(PurposeOfUse.TREATMENT) as unit:
            breakglass.do_break_glass(unit, person_id=person_id, reason=reason, minutes=chosen)
    except NotFound:
        return not_found(request, page)
    except PhivaultError as exc:
        message = "That password did not match." if exc.detail == "that did not match" else None
        return _form(
            request,
            page,
            person_id,
            status=exc.status,
            error=message or exc.detail,
            reason=reason,
            minutes=chosen,
        )
    chart = path_for(request, "chart", tenant_id=tenant_id, person_id=person_id)
    return redirect(f"{chart}?purpose={PurposeOfUse.TREATMENT.value}")
