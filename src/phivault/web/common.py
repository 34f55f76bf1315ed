"""What every web page shares: rendering under the page CSP, redirects, the signed-in session,
CSRF checks, fresh re-authentication, and the context of a page inside one agency (tenant).

Pages only parse input, call services and render (I-7); everything that touches PHI runs in a
guarded unit opened from :class:`TenantPage`.
"""

from __future__ import annotations

import hmac
import re
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from phivault.access.policy import AccessCategory, Permission, PurposeOfUse
from phivault.access.unit import Actor, Unit, Vault
from phivault.api.deps import client_of, declared_permissions, get_vault
from phivault.errors import NotFound, PhivaultError, ReauthRequired, Unauthenticated
from phivault.identity import auth, sessions
from phivault.identity.models import TenantGrant
from phivault.identity.service import standing_of
from phivault.identity.session_models import LoginSession
from phivault.tenancy.models import Tenant

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
NEXT_PAGE = {
    auth.PASSWORD_CHANGE: "/password",
    auth.MFA_ENROL: "/mfa/enrol",
    auth.MFA_VERIFY: "/mfa/verify",
    auth.COMPLETE: "/",
}
VaultDep = Annotated[Vault, Depends(get_vault)]
# The purpose of use a form preselects, by the role's data access category: clinicians treat,
# billing and coding staff handle payment, scheduling and payroll staff run operations.
DEFAULT_PURPOSE = {
    AccessCategory.FULL: PurposeOfUse.TREATMENT,
    AccessCategory.SUMMARY: PurposeOfUse.PAYMENT,
    AccessCategory.MINIMUM: PurposeOfUse.OPERATIONS,
    AccessCategory.EMERGENCY_ONLY: PurposeOfUse.TREATMENT,
}


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def parse_purpose(raw: object) -> PurposeOfUse | None:
    """A purpose of use from a form or query string; None when absent or not one of ours."""
    try:
        return PurposeOfUse(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


def whole_number(text: str) -> int | None:
    """A form's whole number (ASCII digits, an optional minus, at most nine digits), else None.
    (``str.isdigit`` accepts "²", which ``int`` then refuses.)"""
    return int(text) if re.fullmatch(r"-?[0-9]{1,9}", text.strip()) else None


def local_path(raw: str | None, default: str = "/") -> str:
    """``raw`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw


def current(request: Request, vault: Vault) -> sessions.Resolved | None:
    """The signed-in session behind the cookie, or None (an expired one is revoked)."""
    secret = request.cookies.get(sessions.SESSION_COOKIE)
    if not secret:
        return None
    with auth.identity_transaction(vault) as db:
        try:
            return sessions.resolve(db, secret, vault.clock())
        except Unauthenticated:
            return None


def describe(vault: Vault, resolved: sessions.Resolved) -> auth.SessionView:
    with auth.identity_transaction(vault) as db:
        login = db.merge(resolved.login)
        member = db.merge(resolved.member)
        return auth.describe(db, login, member, vault.clock())


def csrf_ok(resolved: sessions.Resolved, token: str) -> bool:
    return hmac.compare_digest(token.encode(), resolved.login.csrf_token.encode())


def signed_in(
    request: Request, vault: Vault
) -> tuple[sessions.Resolved, auth.SessionView] | Response:
    """The session and its stage, or a redirect to the sign-in page."""
    resolved = current(request, vault)
    if resolved is None:
        return redirect("/login")
    return resolved, describe(vault, resolved)


def completely_signed_in(
    request: Request, vault: Vault
) -> tuple[sessions.Resolved, auth.SessionView] | Response:
    """A fully signed-in session (settled password and second factor), or a redirect to the
    sign-in step still missing."""
    state = signed_in(request, vault)
    if isinstance(state, Response):
        return state
    if state[1].stage != auth.COMPLETE:
        return redirect(NEXT_PAGE[state[1].stage])
    return state


def is_fresh(vault: Vault, resolved: sessions.Resolved) -> bool:
    """Whether the session re-proved its identity recently enough for a sensitive action."""
    return vault.clock() - resolved.login.fresh_auth_at <= sessions.FRESH_AUTH


def reauth_redirect(next_path: str) -> Response:
    """Send the browser to confirm its password or code, then back to ``next_path``."""
    return redirect(f"/reauth?next={quote(local_path(next_path), safe='/')}")


@dataclass(frozen=True)
class TenantPage:
    """A fully signed-in member looking at one agency."""

    resolved: sessions.Resolved
    view: auth.SessionView
    actor: Actor
    tenants: list[dict[str, Any]]
    tenant: dict[str, Any]
    permissions: frozenset[Permission]
    category: AccessCategory | None
    vault: Vault
    declared: frozenset[Permission]  # what the route declared: the guard allows no more

    def unit(self, purpose: PurposeOfUse | None = None) -> AbstractContextManager[Unit]:
        """A guarded unit of work in this agency, for this member, with the route's
        declared permissions (I-1)."""
        return self.vault.unit(self.tenant_id, self.actor, purpose, declared=self.declared)

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.tenant["id"])

    @property
    def default_purpose(self) -> PurposeOfUse:
        """The purpose a form preselects; the member still chooses (ACC-2)."""
        if self.category is None:
            return PurposeOfUse.TREATMENT
        return DEFAULT_PURPOSE[self.category]

    def can(self, permission: Permission) -> bool:
        """For navigation only: the guard decides every request on its own."""
        return permission in self.permissions

    def vars(self) -> dict[str, Any]:
        """The template variables every agency page needs (header, switcher, idle timer)."""
        return {
            "who": self.view.display_name,
            "csrf": self.view.csrf_token,
            "tenants": self.tenants,
            "tenant": self.tenant,
            "idle_seconds": self.view.idle_seconds,
            "nav": {str(p).split(":", 1)[1] for p in self.permissions},
            "default_purpose": self.default_purpose.value,
        }


def member_tenants(vault: Vault, member_id: uuid.UUID) -> list[dict[str, Any]]:
    """The agencies where the member holds an active grant (names are not PHI)."""
    with auth.identity_transaction(vault) as db:
        rows = db.execute(
            select(Tenant.id, Tenant.name, TenantGrant.is_privacy_officer)
            .join(TenantGrant, TenantGrant.tenant_id == Tenant.id)
            .where(TenantGrant.member_id == member_id, TenantGrant.status == "active")
            .order_by(Tenant.name)
        ).all()
    return [{"id": str(i), "name": n, "privacy_officer": po} for i, n, po in rows]


def tenant_context(request: Request, vault: Vault, tenant_id: uuid.UUID) -> TenantPage | Response:
    """The signed-in, fully verified member's page context in one agency, or a redirect.

    A member without standing in the agency still gets a context (the guard answers their
    requests with the same 404 as for anything missing), named "Unknown agency".
    """
    state = completely_signed_in(request, vault)
    if isinstance(state, Response):
        return state
    resolved, view = state
    tenants = member_tenants(vault, resolved.member.id)
    here = next((t for t in tenants if t["id"] == str(tenant_id)), None)
    permissions: frozenset[Permission] = frozenset()
    category: AccessCategory | None = None
    if here is not None:
        with auth.identity_transaction(vault) as db:
            login = db.get(LoginSession, resolved.login.id)
            if login is not None and login.current_tenant_id != tenant_id:
                login.current_tenant_id = tenant_id
            category, permissions = standing_of(db, resolved.member.id, tenant_id)
    client = client_of(request)
    actor = Actor(
        member_id=resolved.member.id,
        session_id=f"session:{resolved.login.id}",
        source=client.source,
        request_id=client.request_id,
        assurance=view.assurance,
    )
    return TenantPage(
        resolved=resolved,
        view=view,
        actor=actor,
        tenants=tenants,
        tenant=here or {"id": str(tenant_id), "name": "Unknown agency"},
        permissions=permissions,
        category=category,
        vault=vault,
        declared=declared_permissions(request),
    )


def form_page(
    request: Request,
    vault: Vault,
    tenant_id: uuid.UUID,
    csrf_token: str,
    back: str,
    *,
    fresh: bool = False,
) -> TenantPage | Response:
    """The agency page context for a form's POST, or the redirect that must come first: to
    sign in; back to the form when its CSRF token is not this session's (an expired form);
    to re-authenticate when a sensitive action needs a fresh proof of identity."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if fresh and not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    return page


def not_found(request: Request, page: TenantPage, **extra: Any) -> Response:
    """Missing and forbidden look the same (I-5)."""
    return render(request, "not_found.html", 404, **page.vars(), **extra)


def problem_page(request: Request, page: TenantPage, status: int, message: str) -> Response:
    """A readable error inside the agency frame (the message never carries PHI)."""
    return render(request, "not_found.html", status, error=message, **page.vars())


def error_page(
    request: Request, page: TenantPage, exc: PhivaultError, back: str | None = None
) -> Response:
    """The page for a service's refusal: the not-found page for anything absent or forbidden
    by its existence, re-authentication (then ``back``) when a fresh proof is needed, else
    the error's own (PHI-free) message."""
    if isinstance(exc, NotFound):
        return not_found(request, page)
    if isinstance(exc, ReauthRequired) and back is not None:
        return reauth_redirect(back)
    return problem_page(request, page, exc.status, exc.detail)
