"""Account pages: one's own sessions (list and revoke) and the password-reset pages (request,
then the one-time code a manager hands over)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from phivault.api.deps import client_of, declare
from phivault.errors import InvalidInput, TooManyAttempts
from phivault.identity import auth, recovery
from phivault.web.pages import VaultDep, _csrf_ok, _signed_in, redirect, render

router = APIRouter(include_in_schema=False)
PUBLIC = declare("public")
SELF = declare("self")


@router.get("/account/sessions", openapi_extra=SELF)
def sessions_page(request: Request, vault: VaultDep) -> Response:
    state = _signed_in(request, vault)
    if isinstance(state, Response):
        return state
    resolved, view = state
    with auth.identity_transaction(vault) as db:
        rows = recovery.list_sessions(db, resolved.member.id, vault.clock())
    return render(
        request,
        "sessions.html",
        who=view.display_name,
        csrf=view.csrf_token,
        sessions=rows,
        current=resolved.login.id,
        idle_seconds=view.idle_seconds,
    )


@router.post("/account/sessions/{session_id}/revoke", openapi_extra=SELF)
def revoke(
    request: Request,
    session_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    state = _signed_in(request, vault)
    if isinstance(state, Response):
        return state
    resolved, _ = state
    if _csrf_ok(resolved, csrf_token):
        with auth.identity_transaction(vault) as db:
            auth.revoke_sessions(
                vault,
                db,
                resolved.member.id,
                [session_id],
                actor_id=resolved.member.id,
                client=client_of(request),
                reason="revoked-by-member",
            )
    return redirect("/account/sessions")


@router.get("/reset", openapi_extra=PUBLIC)
def reset_page(request: Request) -> Response:
    return render(request, "reset.html")


@router.post("/reset", openapi_extra=PUBLIC)
def reset_request(
    request: Request, vault: VaultDep, username: Annotated[str, Form(max_length=120)]
) -> Response:
    try:
        recovery.request_reset(vault, username, client_of(request))
    except TooManyAttempts as exc:
        return render(request, "reset.html", 429, error=exc.detail)
    return render(request, "reset.html", requested=True)


@router.post("/reset/complete", openapi_extra=PUBLIC)
def reset_complete(
    request: Request,
    vault: VaultDep,
    code: Annotated[str, Form(max_length=100)],
    new_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        recovery.complete_reset(vault, code.strip(), new_password, client_of(request))
    except (InvalidInput, TooManyAttempts) as exc:
        return render(request, "reset.html", exc.status, requested=True, error=exc.detail)
    return render(request, "login.html", notice="Your password was reset. Sign in with it now.")
