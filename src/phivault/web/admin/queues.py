"""Work waiting for a manager or the privacy officer: password resets to authorize (AUTH-4)
and access reviews opened by role changes (ACC-9)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.access import directory
from phivault.access.policy import Permission
from phivault.api.deps import declare
from phivault.errors import Conflict, InvalidInput
from phivault.identity import lifecycle
from phivault.vault import Vault
from phivault.web.admin.shared import (
    BASE,
    DONE,
    page_vars,
)
from phivault.web.common import (
    AgencyForm,
    AgencyPageDep,
    TenantPage,
    fresh_or_reauth,
    is_fresh,
    path_for,
    reauth_redirect,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
# Forms of these pages: a stale token goes back to the page the form is on.
ResetsForm = Annotated[TenantPage, Depends(AgencyForm(BASE + "/resets", fresh=True))]
ReviewsForm = Annotated[TenantPage, Depends(AgencyForm(BASE + "/reviews", fresh=True))]


# -- password resets -----------------------------------------------------------------------
@router.get(BASE + "/resets", openapi_extra=declare(Permission.DIRECTORY_READ))
def resets(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    """Pending reset requests of the people in the viewer's reporting line (AUTH-4): any
    member may be someone's manager, so this page is not limited to administrators."""
    with page.unit() as unit:
        pending = lifecycle.list_reset_requests(unit)
    fresh_or_reauth(page, request, needed=bool(pending))
    return render(request, "admin_resets.html", **page_vars(page, "resets", pending=pending))


@router.post(
    BASE + "/resets/{request_id}/authorize",
    name="authorize_reset_submit",
    openapi_extra=declare(Permission.DIRECTORY_READ),
)
def authorize_reset(
    request: Request,
    tenant_id: uuid.UUID,
    request_id: uuid.UUID,
    page: ResetsForm,
) -> Response:
    """Authorize a reset: the one-time code is shown on this response only."""
    with page.unit() as unit:
        code = lifecycle.do_authorize_reset(unit, request_id)
    return render(
        request,
        "admin_reset_code.html",
        **page_vars(page, "resets", code=code, hours=lifecycle.RESET_TOKEN_HOURS),
    )


# -- access reviews ------------------------------------------------------------------------
REVIEW_PERMISSIONS = declare(
    Permission.ACCESS_REVIEW, Permission.WORKFORCE_MANAGE, Permission.DIRECTORY_READ
)


def _reviews_page(
    request: Request, vault: Vault, page: TenantPage, status: int = 200, **extra: Any
) -> Response:
    with page.unit() as unit:
        every = lifecycle.list_access_reviews(unit, status=None)
        names = {m.id: m for m in lifecycle.list_members(unit)}
        titles = {e.position_id: e.title for e in directory.read_directory(unit)}
    open_reviews = [r for r in every if r.status == "open"]
    # Decisions stay readable: who, when, what and why (latest first).
    decided = sorted(
        (r for r in every if r.status != "open"), key=lambda r: r.closed_at or r.opened_at
    )[::-1][:50]
    if open_reviews and not is_fresh(vault, page.resolved):
        return reauth_redirect(request, path_for(request, "reviews", tenant_id=page.tenant_id))
    return render(
        request,
        "admin_reviews.html",
        status,
        **page_vars(
            page,
            "reviews",
            reviews=open_reviews,
            decided=decided,
            me=page.actor.member_id,
            names=names,
            titles=titles,
            **extra,
        ),
    )


@router.get(BASE + "/reviews", openapi_extra=REVIEW_PERMISSIONS)
def reviews(
    request: Request, tenant_id: uuid.UUID, page: AgencyPageDep, done: str = ""
) -> Response:
    """Open access reviews (opened by role changes, ACC-9), to confirm or revoke."""
    return _reviews_page(request, page.vault, page, notice=DONE.get(done))


@router.post(
    BASE + "/reviews/{review_id}/close",
    name="close_review_submit",
    openapi_extra=REVIEW_PERMISSIONS,
)
def close_review(
    request: Request,
    tenant_id: uuid.UUID,
    review_id: uuid.UUID,
    page: ReviewsForm,
    outcome: Annotated[str, Form(max_length=16)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Confirm at once; revoking asks for confirmation first (a real form step)."""
    back = path_for(request, "reviews", tenant_id=tenant_id)
    if outcome == "revoked" and confirm != "yes":
        return render(
            request,
            "admin_confirm.html",
            **page_vars(
                page,
                "reviews",
                question="Revoke this access?",
                subject="",
                consequence="Their standing in this agency ends at once and they are signed "
                "out everywhere.",
                button="Yes, revoke access",
                action_url=f"{back}/{review_id}/close",
                fields={"outcome": "revoked"},
                cancel=back,
                danger=True,
            ),
        )
    try:
        with page.unit() as unit:
            lifecycle.do_close_access_review(unit, review_id, outcome)
    except (InvalidInput, Conflict) as exc:
        return _reviews_page(request, page.vault, page, exc.status, error=exc.detail)
    return redirect(f"{back}?done={outcome}")
