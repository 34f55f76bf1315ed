"""Account security pages: the member's second factors (authenticator app, passkeys, recovery
codes), removing a passkey and issuing new recovery codes.

Adding a passkey and using one are WebAuthn ceremonies run by ``static/webauthn.js`` against
the JSON API (``/api/v1/auth/passkeys/...``); these pages only render the buttons for it. The
changes made here call the same services as the API (``identity.factors``), which audit them,
and need a complete sign-in confirmed in the last minutes (fresh re-authentication).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from phivault.api.deps import client_of, declare
from phivault.errors import Conflict, NotFound, ReauthRequired
from phivault.identity import auth, factors, sessions
from phivault.vault import Vault
from phivault.web.common import (
    CompleteDep,
    VaultDep,
    csrf_ok,
    is_fresh,
    local_path,
    path_for,
    reauth_redirect,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
SELF = declare("self")
HOME = "/account"
FORM_EXPIRED = "The form expired; please try again."


def _account(
    request: Request,
    vault: Vault,
    resolved: sessions.Resolved,
    view: auth.SessionView,
    error: str | None = None,
    status: int = 200,
) -> Response:
    with auth.identity_transaction(vault) as db:
        mine = factors.overview(db, resolved.member.id)
    return render(
        request,
        "account_security.html",
        status,
        who=view.display_name,
        csrf=view.csrf_token,
        idle_seconds=view.idle_seconds,
        section="account",
        totp_enrolled=mine.authenticator_app,
        passkeys=mine.passkeys,
        recovery_left=mine.recovery_codes_left,
        error=error,
    )


@router.get("/account", openapi_extra=SELF)
def account_page(request: Request, state: CompleteDep, vault: VaultDep) -> Response:
    """The member's second factors, with the buttons that manage them."""
    return _account(request, vault, state.resolved, state.view)


@router.post(
    "/account/passkeys/{passkey_id}/remove", name="remove_passkey_submit", openapi_extra=SELF
)
def remove_passkey(
    request: Request,
    state: CompleteDep,
    passkey_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    """Remove one of the member's passkeys (after a fresh proof of identity)."""
    resolved = state.resolved
    view = state.view
    if not csrf_ok(resolved, csrf_token):
        return _account(request, vault, resolved, view, FORM_EXPIRED, 403)
    if not is_fresh(vault, resolved):
        return reauth_redirect(request, path_for(request, "account_page"))
    try:
        factors.remove_passkey(vault, resolved, view.assurance, passkey_id, client_of(request))
    except ReauthRequired:
        return reauth_redirect(request, path_for(request, "account_page"))
    except NotFound:
        return _account(request, vault, resolved, view, "That passkey is not on your account.", 404)
    except Conflict:
        message = "This is your only second factor: add another passkey before removing this one."
        return _account(request, vault, resolved, view, message, 409)
    return redirect(path_for(request, "account_page"))


@router.post("/account/recovery-codes", openapi_extra=SELF)
def new_recovery_codes(
    request: Request,
    state: CompleteDep,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    """New recovery codes, shown this once; every earlier code stops working.

    Also the last step of enrolling a passkey as the first second factor (``next`` is then the
    home page): that enrolment has just proved the member's identity, so the session is fresh.
    """
    resolved = state.resolved
    view = state.view
    if not csrf_ok(resolved, csrf_token):
        return _account(request, vault, resolved, view, FORM_EXPIRED, 403)
    if not is_fresh(vault, resolved):
        return reauth_redirect(request, path_for(request, "account_page"))
    try:
        codes = factors.regenerate_recovery_codes(
            vault, resolved, view.assurance, client_of(request)
        )
    except ReauthRequired:
        return reauth_redirect(request, path_for(request, "account_page"))
    except Conflict:
        message = "Recovery codes need a second factor: add a passkey first."
        return _account(request, vault, resolved, view, message, 409)
    return render(
        request,
        "account_recovery_codes.html",
        who=view.display_name,
        csrf=view.csrf_token,
        idle_seconds=view.idle_seconds,
        section="account",
        codes=codes,
        next=local_path(next, HOME),
    )
