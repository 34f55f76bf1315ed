"""One's own API tokens for integrations: list, create (shown once), revoke.

The page uses the same services and audit events as ``/api/v1/auth/tokens``. Creating a token
needs a complete sign-in confirmed in the last few minutes: the form sends a stale session to
/reauth first, and the POST checks again. A token carries one agency and a subset of the
member's own permissions there, and never more than their standing at the time of use.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.access.policy import Permission
from phivault.api.deps import client_of, declare
from phivault.errors import Forbidden, InvalidInput, NotFound, ReauthRequired
from phivault.identity import auth, sessions
from phivault.identity import service as identity
from phivault.vault import Vault
from phivault.web.common import (
    CheckedForm,
    CompleteDep,
    SignedIn,
    VaultDep,
    csrf_ok,
    is_fresh,
    member_tenants,
    path_for,
    reauth_redirect,
    redirect,
    render,
    whole_number,
)

router = APIRouter(include_in_schema=False)
SELF = declare("self")
LIST = "/account/tokens"
NEW = "/account/tokens/new"
DEFAULT_DAYS = 90

PERMISSION_LABELS: dict[Permission, str] = {
    Permission.PEOPLE_READ: "Look up people",
    Permission.PEOPLE_WRITE: "Add and correct people",
    Permission.RECORDS_READ: "Read records",
    Permission.RECORDS_WRITE: "Write records",
    Permission.DOCUMENTS_READ: "Download documents",
    Permission.DOCUMENTS_WRITE: "Upload documents",
    Permission.BREAK_GLASS_INVOKE: "Open emergency access",
    Permission.BREAK_GLASS_REVIEW: "Review emergency access",
    Permission.AUDIT_READ: "Read the audit trail",
    Permission.AUDIT_VERIFY: "Verify the audit trail",
    Permission.DIRECTORY_READ: "Read the role directory and settings",
    Permission.DIRECTORY_MANAGE: "Manage the role directory",
    Permission.WORKFORCE_MANAGE: "Manage the workforce",
    Permission.SETTINGS_MANAGE: "Change security settings",
    Permission.ACCESS_REVIEW: "Close access reviews",
}


def _frame(view: auth.SessionView, **extra: Any) -> dict[str, Any]:
    return {
        "who": view.display_name,
        "csrf": view.csrf_token,
        "idle_seconds": view.idle_seconds,
        "section": "account",
        **extra,
    }


@router.get(LIST, openapi_extra=SELF)
def tokens_page(request: Request, state: CompleteDep, vault: VaultDep, done: str = "") -> Response:
    """The member's tokens: agency, scopes, created, expires, last used, revoked."""
    resolved = state.resolved
    view = state.view
    agencies = {t["id"]: t["name"] for t in member_tenants(vault, resolved.member.id)}
    return render(
        request,
        "tokens.html",
        **_frame(
            view,
            tokens=list(reversed(identity.my_tokens(vault, resolved.member.id))),
            agencies=agencies,
            labels=PERMISSION_LABELS,
            now=vault.clock(),
            notice="Token revoked: it no longer works." if done == "revoked" else None,
        ),
    )


def _form(
    request: Request,
    vault: Vault,
    resolved: sessions.Resolved,
    view: auth.SessionView,
    tenant: str,
    status: int = 200,
    **extra: Any,
) -> Response:
    agencies = member_tenants(vault, resolved.member.id)
    ids = [t["id"] for t in agencies]
    current = resolved.login.current_tenant_id
    chosen = tenant if tenant in ids else (str(current) if str(current) in ids else "")
    chosen = chosen or (ids[0] if ids else "")
    held = (
        identity.held_permissions(vault, resolved.member.id, uuid.UUID(chosen))
        if chosen
        else frozenset()
    )
    extra.setdefault("form", {})
    return render(
        request,
        "tokens_new.html",
        status,
        **_frame(
            view,
            agencies=agencies,
            chosen=chosen,
            choices=[(p, PERMISSION_LABELS[p]) for p in Permission if p in held],
            days_max=identity.MAX_TOKEN_DAYS,
            **extra,
        ),
    )


@router.get(NEW, openapi_extra=SELF)
def new_token_form(
    request: Request, state: CompleteDep, vault: VaultDep, tenant: str = ""
) -> Response:
    """Choose the agency, the permissions (a subset of one's own there), lifetime and label."""
    resolved = state.resolved
    view = state.view
    if not is_fresh(vault, resolved):
        form = path_for(request, "new_token_form")
        return reauth_redirect(
            request, f"{form}?{urlencode({'tenant': tenant})}" if tenant else form
        )
    return _form(request, vault, resolved, view, tenant)


@router.post(NEW, name="create_token_submit", openapi_extra=SELF)
def create_token(
    request: Request,
    state: CompleteDep,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    tenant_id: Annotated[str, Form(max_length=40)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    days: Annotated[str, Form(max_length=6)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Issue the token; its secret is on this response only."""
    resolved = state.resolved
    view = state.view
    back = f"{path_for(request, 'new_token_form')}?{urlencode({'tenant': tenant_id})}"
    if not csrf_ok(resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, resolved):
        return reauth_redirect(request, back)
    chosen = scopes or []
    form = {"scopes": chosen, "days": days, "label": label}

    def again(message: str, status: int = 422) -> Response:
        return _form(request, vault, resolved, view, tenant_id, status, form=form, error=message)

    try:
        tenant = uuid.UUID(tenant_id)
    except ValueError:
        return again("Choose an agency.")
    if not chosen:
        return again("Choose at least one permission for the token.")
    if not label.strip():
        return again("Give the token a label, so that you recognise it later.")
    lifetime = whole_number(days)
    if lifetime is None or lifetime < 1:
        return again(
            f"The lifetime must be a whole number of days, 1 to {identity.MAX_TOKEN_DAYS}."
        )
    try:
        _, token = identity.do_issue_token(
            vault,
            resolved,
            client_of(request),
            tenant_id=tenant,
            scopes=chosen[:30],
            days=lifetime,
            label=label.strip()[:120],
        )
    except ReauthRequired:
        return reauth_redirect(request, back)
    except (InvalidInput, Forbidden) as exc:
        return again(exc.detail, exc.status)
    return render(
        request,
        "tokens_created.html",
        **_frame(view, token=token, label=label.strip()[:120], days=lifetime),
    )


@router.post(LIST + "/{token_id}/revoke", openapi_extra=SELF)
def revoke_token(
    request: Request,
    state: Annotated[SignedIn, Depends(CheckedForm(LIST))],
    token_id: uuid.UUID,
    vault: VaultDep,
) -> Response:
    """Revoke one of one's own tokens; it stops working on its next request."""
    resolved = state.resolved
    try:
        identity.do_revoke_token(vault, resolved.member.id, token_id, client_of(request))
    except NotFound:
        return redirect(path_for(request, "tokens_page"))
    return redirect(path_for(request, "tokens_page") + "?done=revoked")
