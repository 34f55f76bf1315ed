"""Account pages: one's own sessions (list and revoke) and the password-reset pages (request,
then the one-time code a manager hands over), and the
re-authentication page that sensitive actions send the browser to."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.api.deps import client_of, declare
from phivault.errors import InvalidInput, TooManyAttempts
from phivault.identity import auth, recovery
from phivault.web.common import (
    CheckedForm,
    CompleteDep,
    SignedIn,
    SignedInDep,
    VaultDep,
    csrf_ok,
    local_path,
    path_for,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
PUBLIC = declare("public")
SELF = declare("self")


@router.get("/account/sessions", openapi_extra=SELF)
def sessions_page(request: Request, state: CompleteDep, vault: VaultDep) -> Response:
    """One's own open sessions; only once the sign-in is complete (a password alone does not
    show where the owner is signed in, nor end their sessions)."""
    resolved = state.resolved
    view = state.view
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


@router.post(
    "/account/sessions/{session_id}/revoke", name="revoke_session_submit", openapi_extra=SELF
)
def revoke(
    request: Request,
    state: Annotated[SignedIn, Depends(CheckedForm("/account/sessions"))],
    session_id: uuid.UUID,
    vault: VaultDep,
) -> Response:
    resolved = state.resolved
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
    return redirect(path_for(request, "sessions_page"))


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


@router.get("/reauth", openapi_extra=SELF)
def reauth_page(request: Request, state: SignedInDep, vault: VaultDep, next: str = "/") -> Response:
    """Confirm one's password or a code before a sensitive action (fresh re-authentication)."""
    view = state.view
    return render(
        request,
        "reauth.html",
        who=view.display_name,
        csrf=view.csrf_token,
        idle_seconds=view.idle_seconds,
        next=local_path(next),
    )


@router.post("/reauth", openapi_extra=SELF)
def reauth_submit(
    request: Request,
    state: SignedInDep,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=500)] = "/",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    resolved = state.resolved
    view = state.view
    target = local_path(next)
    if not csrf_ok(resolved, csrf_token):
        return redirect(f"{path_for(request, 'reauth_page')}?next={quote(target, safe='/')}")
    try:
        recovery.reauthenticate(
            vault,
            resolved,
            password=password or None,
            code=None if password else (code.strip() or None),
            client=client_of(request),
        )
    except (InvalidInput, TooManyAttempts) as exc:
        return render(
            request,
            "reauth.html",
            exc.status,
            who=view.display_name,
            csrf=view.csrf_token,
            idle_seconds=view.idle_seconds,
            next=target,
            error=exc.detail if isinstance(exc, TooManyAttempts) else "That did not match.",
        )
    return redirect(target)
