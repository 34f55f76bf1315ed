"""What every web page shares: rendering under the page CSP, redirects, the signed-in session,
CSRF checks, fresh re-authentication, and the context of a page inside one agency (tenant).

Pages only parse input, call services and render (I-7); everything that touches PHI runs in a
guarded unit opened from :class:`TenantPage`.
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from phivault.access.policy import AccessCategory, Permission, PurposeOfUse
from phivault.access.unit import Actor, Unit
from phivault.api.deps import client_of, declared_permissions, get_vault
from phivault.api.paging import MAX_OFFSET
from phivault.errors import (
    Forbidden,
    NotFound,
    PhivaultError,
    ReauthRequired,
    Unauthenticated,
)
from phivault.identity import auth, sessions
from phivault.identity.models import TenantGrant
from phivault.identity.service import standing_of
from phivault.identity.session_models import LoginSession
from phivault.tenancy.models import Tenant
from phivault.vault import Vault


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """The path (no scheme or host) of the app's route ``name`` with these path parameters.

    Links, form actions and redirects name the route instead of spelling its address, so a
    moved or renamed route cannot leave a dead link: an unknown name, or parameters the route
    does not take, raise ``NoMatchFound``. A query string is the caller's to append."""
    return str(request.app.url_path_for(name, **params))


@pass_context
def _template_path_for(context: Context, name: str, /, **params: Any) -> str:
    """``path_for`` in templates, with the request the page is rendered for."""
    return path_for(context["request"], name, **params)


TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Every internal link and form action names its route: {{ path_for('chart', tenant_id=…,
# person_id=…) }}, a query string appended with |urlencode (see docs/architecture.md).
TEMPLATES.env.globals["path_for"] = _template_path_for
# Template macros shared by every page (the CSRF field, …) are globals: declared once.
for _name in ("csrf_field",):
    TEMPLATES.env.globals[_name] = getattr(TEMPLATES.env.get_template("_macros.html").module, _name)
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The page (route name) of each sign-in stage: see next_page().
NEXT_PAGE = {
    auth.PASSWORD_CHANGE: "password_page",
    auth.MFA_ENROL: "mfa_enrol_page",
    auth.MFA_VERIFY: "mfa_verify_page",
    auth.COMPLETE: "home",
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


def next_page(request: Request, stage: str) -> str:
    """Where a session at this sign-in stage goes next (the start page once complete)."""
    return path_for(request, NEXT_PAGE[stage])


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


OFFSET_PROBLEM = (
    f"That page of the list does not exist: the offset is a whole number up to {MAX_OFFSET:,}."
)


def page_offset(raw: str | None) -> int | None:
    """A list page's offset from the query string: absent or empty is 0; a whole number from
    0 to ``MAX_OFFSET`` is itself; anything else (negative, not a number, 2**63 that the
    database cannot hold) is None, which the page answers with :data:`OFFSET_PROBLEM`.

    Page routes take ``offset: str = ""`` and call this, never ``offset: int`` (which answers
    an unreadable value before the page can)."""
    if raw is None or not raw.strip():
        return 0
    if not re.fullmatch(r"[0-9]{1,10}", raw.strip()):
        return None
    value = int(raw.strip())
    return value if value <= MAX_OFFSET else None


def local_path(raw: str | None, default: str = "/") -> str:
    """``raw`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw


def csrf_ok(resolved: sessions.Resolved, token: str) -> bool:
    return hmac.compare_digest(token.encode(), resolved.login.csrf_token.encode())


def is_fresh(vault: Vault, resolved: sessions.Resolved) -> bool:
    """Whether the session re-proved its identity recently enough for a sensitive action."""
    return vault.clock() - resolved.login.fresh_auth_at <= sessions.FRESH_AUTH


def reauth_path(request: Request, next_path: str) -> str:
    """Where to confirm the password or code before coming back to ``next_path``."""
    return f"{path_for(request, 'reauth_page')}?next={quote(local_path(next_path), safe='/')}"


def reauth_redirect(request: Request, next_path: str) -> Response:
    """Send the browser to confirm its password or code, then back to ``next_path``."""
    return redirect(reauth_path(request, next_path))


# --- Declared page dependencies ------------------------------------------------------------
#
# A page route declares what it needs as parameters; the dependencies below decide before the
# route runs and raise :class:`PageRedirect` when the browser must go elsewhere first (to sign
# in, to the sign-in step still missing, back to an expired form, to re-authenticate). One
# handler (:func:`install_page_errors`) turns that, and any service refusal a page route lets
# through, into the answer. Routes never test a result for being a Response.


class PageRedirect(Exception):
    """The browser must go to ``path`` first (a 303, answered by the page error handler)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class SignedIn:
    """A signed-in session (at any sign-in stage unless the dependency asked for a complete
    one) and its description."""

    resolved: sessions.Resolved
    view: auth.SessionView

    @property
    def member_id(self) -> uuid.UUID:
        return self.resolved.member.id

    def csrf_ok(self, token: str) -> bool:
        return csrf_ok(self.resolved, token)


def signed_in_or_none(request: Request, vault: Vault) -> SignedIn | None:
    """The session behind the cookie at any stage, resolved and described in one identity
    transaction; None without a live one (an idle or expired session is revoked here, and
    that commits)."""
    with auth.identity_transaction(vault) as db:
        return _signed_in(request, vault, db)


def _signed_in(request: Request, vault: Vault, db: Session) -> SignedIn | None:
    """:func:`signed_in_or_none` in the caller's identity transaction."""
    secret = request.cookies.get(sessions.SESSION_COOKIE)
    if not secret:
        return None
    now = vault.clock()
    try:
        resolved = sessions.resolve(db, secret, now)
    except Unauthenticated:
        return None
    return SignedIn(resolved, auth.describe(db, resolved.login, resolved.member, now))


def _complete(request: Request, state: SignedIn | None) -> SignedIn:
    """A fully signed-in session, else to the sign-in page or the sign-in step still missing."""
    if state is None:
        raise PageRedirect(path_for(request, "login_page"))
    if state.view.stage != auth.COMPLETE:
        raise PageRedirect(next_page(request, state.view.stage))
    return state


def signed_in_session(request: Request, vault: VaultDep) -> SignedIn:
    """Dependency: the session behind the cookie at any stage, else to the sign-in page."""
    state = signed_in_or_none(request, vault)
    if state is None:
        raise PageRedirect(path_for(request, "login_page"))
    return state


def complete_session(request: Request, vault: VaultDep) -> SignedIn:
    """Dependency: a fully signed-in session (settled password and second factor), else the
    sign-in step still missing."""
    return _complete(request, signed_in_or_none(request, vault))


SignedInDep = Annotated[SignedIn, Depends(signed_in_session)]
CompleteDep = Annotated[SignedIn, Depends(complete_session)]
CsrfField = Annotated[str, Form(max_length=100)]


class SignInStep:
    """Dependency for a sign-in step's page and its form (second-factor enrolment or check,
    password change): a session at one of ``stages``, else to the step it is at; for a
    form, this session's CSRF token too, else back to the step's page ``page``."""

    def __init__(self, *stages: str, page: str) -> None:
        self.stages = stages
        self.page = page

    def __call__(self, request: Request, vault: VaultDep, csrf_token: CsrfField = "") -> SignedIn:
        state = signed_in_session(request, vault)
        if state.view.stage not in self.stages:
            raise PageRedirect(next_page(request, state.view.stage))
        if request.method == "POST" and not state.csrf_ok(csrf_token):
            raise PageRedirect(path_for(request, self.page))
        return state


class CheckedForm:
    """Dependency for a form's POST outside an agency (the account pages): a complete sign-in,
    this session's CSRF token (else back to ``back``), and, when ``fresh``, a recent proof of
    identity (else re-authenticate, then ``back``)."""

    def __init__(self, back: str, *, fresh: bool = False) -> None:
        self.back = back
        self.fresh = fresh

    def __call__(self, request: Request, vault: VaultDep, csrf_token: CsrfField = "") -> SignedIn:
        state = complete_session(request, vault)
        if not state.csrf_ok(csrf_token):
            raise PageRedirect(self.back)
        if self.fresh and not is_fresh(vault, state.resolved):
            raise PageRedirect(reauth_path(request, self.back))
        return state


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
        return _tenants_of(db, member_id)


def _tenants_of(db: Session, member_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Tenant.id, Tenant.name, TenantGrant.is_privacy_officer)
        .join(TenantGrant, TenantGrant.tenant_id == Tenant.id)
        .where(TenantGrant.member_id == member_id, TenantGrant.status == "active")
        .order_by(Tenant.name)
    ).all()
    return [{"id": str(i), "name": n, "privacy_officer": po} for i, n, po in rows]


def tenant_context(request: Request, vault: Vault, tenant_id: uuid.UUID) -> TenantPage:
    """The signed-in, fully verified member's page context in one agency, kept on the request
    for the page error handler; raises :class:`PageRedirect` when the sign-in is not complete.

    A member without standing in the agency, or without any of the route's declared
    permissions, is refused here by the guard (audited; the page of an agency where they
    have no standing is framed as "Unknown agency" and looks like anything missing).
    """
    permissions: frozenset[Permission] = frozenset()
    category: AccessCategory | None = None
    tenants: list[dict[str, Any]] = []
    here: dict[str, Any] | None = None
    # The session, the member's agencies and their standing here: one identity transaction
    # (it commits even when the page is refused: resolving may revoke an idle session).
    with auth.identity_transaction(vault) as db:
        state = _signed_in(request, vault, db)
        if state is not None and state.view.stage == auth.COMPLETE:
            member_id = state.resolved.member.id
            tenants = _tenants_of(db, member_id)
            here = next((t for t in tenants if t["id"] == str(tenant_id)), None)
            if here is not None:
                login = db.get(LoginSession, state.resolved.login.id)
                if login is not None and login.current_tenant_id != tenant_id:
                    login.current_tenant_id = tenant_id
                category, permissions = standing_of(db, member_id, tenant_id)
    complete = _complete(request, state)
    resolved, view = complete.resolved, complete.view
    client = client_of(request)
    actor = Actor(
        member_id=resolved.member.id,
        session_id=f"session:{resolved.login.id}",
        source=client.source,
        request_id=client.request_id,
        assurance=view.assurance,
    )
    page = TenantPage(
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
    request.state.page = page
    if not page.declared & permissions:
        # No standing here, or none of the route's permissions: the guard refuses (and
        # audits) now, before the route parses a form or looks up anything.
        with page.unit() as unit:
            unit.guard.admit(named=set(request.path_params) != {"tenant_id"})
    return page


def agency_page(request: Request, tenant_id: uuid.UUID, vault: VaultDep) -> TenantPage:
    """Dependency: the page context of the agency in the address (see :func:`tenant_context`)."""
    return tenant_context(request, vault, tenant_id)


AgencyPageDep = Annotated[TenantPage, Depends(agency_page)]


class AgencyForm:
    """Dependency for a form's POST inside an agency: the agency page context, this session's
    CSRF token (else back to ``back``, a path template over the route's path parameters, by
    default the form's own address), and, when ``fresh``, a recent proof of identity (else
    re-authenticate, then ``back``)."""

    def __init__(self, back: str | None = None, *, fresh: bool = False) -> None:
        self.back = back
        self.fresh = fresh

    def __call__(
        self,
        request: Request,
        tenant_id: uuid.UUID,
        vault: VaultDep,
        csrf_token: CsrfField = "",
    ) -> TenantPage:
        page = tenant_context(request, vault, tenant_id)
        back = self.back_path(request)
        if not csrf_ok(page.resolved, csrf_token):
            raise PageRedirect(back)
        if self.fresh and not is_fresh(vault, page.resolved):
            raise PageRedirect(reauth_path(request, back))
        request.state.back = back
        return page

    def back_path(self, request: Request) -> str:
        if self.back is None:
            return request.url.path
        return self.back.format(**request.path_params)


# A form whose stale token sends the browser back to the form's own address.
AgencyFormDep = Annotated[TenantPage, Depends(AgencyForm())]
FreshFormDep = Annotated[TenantPage, Depends(AgencyForm(fresh=True))]


def fresh_or_reauth(page: TenantPage, request: Request, needed: bool = True) -> None:
    """A page that shows what only a recent proof of identity may see (a one-time code, a
    decision queue) re-authenticates first, then comes back here."""
    if needed and not is_fresh(page.vault, page.resolved):
        raise PageRedirect(reauth_path(request, request.url.path))


def not_found(request: Request, page: TenantPage, **extra: Any) -> Response:
    """Missing and forbidden look the same (I-5); see :func:`offers_emergency_access`."""
    if getattr(request.state, "offers_emergency_access", False):
        person_id = request.path_params["person_id"]
        link = path_for(request, "emergency_form", tenant_id=page.tenant_id, person_id=person_id)
        extra.setdefault("emergency_link", link)
    return render(request, "not_found.html", 404, **page.vars(), **extra)


# A refusal's heading says what happened: "Not found" is kept for what is absent (or hidden by
# its existence), so a refusal never reads "Not found" over "Not permitted".
HEADINGS = {
    400: "Not accepted",
    403: "Not permitted",
    409: "Not possible now",
    413: "Too large",
    415: "Not accepted",
    422: "Not accepted",
    429: "Too many attempts",
}


def problem_page(request: Request, page: TenantPage, status: int, message: str) -> Response:
    """A readable error inside the agency frame (the message never carries PHI), headed by
    what kind of refusal it is."""
    heading = HEADINGS.get(status, "Not available")
    return render(request, "problem.html", status, heading=heading, error=message, **page.vars())


def error_page(
    request: Request, page: TenantPage, exc: PhivaultError, back: str | None = None
) -> Response:
    """The page for a service's refusal: the not-found page for anything absent or forbidden
    by its existence, re-authentication (then ``back``) when a fresh proof is needed, else
    the error's own (PHI-free) message."""
    if isinstance(exc, NotFound):
        return not_found(request, page)
    if isinstance(exc, ReauthRequired) and back is not None:
        return reauth_redirect(request, back)
    return problem_page(request, page, exc.status, exc.detail)


# --- A page's form or address that does not parse ------------------------------------------
#
# Page routes declare their inputs (``Form(max_length=...)``, typed query parameters) like the
# API does; what FastAPI refuses before the route runs must not reach the browser as JSON.
# The one mechanism: the RequestValidationError handler below answers page routes with HTML.
# A route that wants its own form back, with the message at the field, declares a renderer:
#
#     def _login_again(request, form, problems) -> Response: ...
#
#     @router.post("/login")
#     @refill_on_invalid(_login_again)
#     def login_submit(...): ...
#
# ``form`` is what was posted (strings only), ``problems`` maps a field name to a sentence.
# The renderer runs in a worker thread (it may read the database) and never sees PHI it did
# not post itself. Without a renderer the page lists the problems with a link back.

FieldProblems = dict[str, str]
FormRenderer = Callable[[Request, dict[str, str], FieldProblems], Response]
_RENDERER = "__phivault_form_renderer__"
_E = TypeVar("_E", bound=Callable[..., Any])


def refill_on_invalid(renderer: FormRenderer) -> Callable[[_E], _E]:
    """Declare how a page route shows its form again when FastAPI refuses a field."""

    def mark(endpoint: _E) -> _E:
        setattr(endpoint, _RENDERER, renderer)
        return endpoint

    return mark


def field_problems(errors: Any) -> FieldProblems:
    """A field name to a readable sentence, from FastAPI's validation errors (never the
    submitted value)."""
    problems: FieldProblems = {}
    for err in errors:
        loc = err.get("loc", ())
        name = str(loc[-1]) if loc else "request"
        kind = str(err.get("type", ""))
        ctx: Mapping[str, Any] = err.get("ctx") or {}
        if kind == "string_too_long":
            text = f"at most {ctx.get('max_length')} characters"
        elif kind == "missing":
            text = "is required"
        elif kind.startswith("int_") or kind.startswith("greater_") or kind.startswith("less_"):
            text = "must be a whole number in range"
        else:
            text = "is not valid"
        problems.setdefault(name, text)
    return problems


def is_page(request: Request) -> bool:
    """Whether the request is for a web page (HTML) rather than the API (problem JSON)."""
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/openapi.json", "/health"))


async def page_validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A page's answer to input FastAPI refused: a wrong id in the address is the not-found
    page (as for anything missing); a form comes back through its declared renderer, or a
    page lists the problems with a link back to where the browser came from."""
    errors = list(exc.errors())
    if any(err.get("loc", ("",))[0] == "path" for err in errors):
        return render(request, "not_found.html", 404)
    problems = field_problems(errors)
    route = request.scope.get("route")
    renderer = getattr(getattr(route, "endpoint", None), _RENDERER, None)
    if renderer is not None and request.method == "POST":
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        response: Response = await run_in_threadpool(renderer, request, values, problems)
        return response
    back = local_path(urlsplit(request.headers.get("referer", "")).path, "/")
    rows = [(field_label(name), text) for name, text in problems.items()]
    return render(request, "invalid_input.html", 422, problems=rows, back=back)


def field_label(name: str) -> str:
    """A form field's name as words ("f_family_name" -> "Family name")."""
    words = name.removeprefix("f_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def install_page_errors(app: FastAPI) -> None:
    """Answer pages' validation errors and unknown addresses with HTML; the API (and static
    files) keep their problem JSON."""
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if is_page(request):
            return await page_validation_error(request, exc)
        response: Response = await api_validation(request, exc)  # type: ignore[misc]
        return response

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_page(request) and not request.url.path.startswith("/static/"):
            if exc.status_code == 404:
                return render(request, "not_found.html", 404)
            if exc.status_code == 405:
                heading = "Not possible here"
                message = "This address does not take that kind of request."
                return render(request, "problem.html", 405, heading=heading, error=message)
        response: Response = await api_http(request, exc)  # type: ignore[misc]
        return response

    api_refusal = app.exception_handlers[PhivaultError]

    async def refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PhivaultError)
        if is_page(request):
            return refusal_page(request, exc)
        response: Response = await api_refusal(request, exc)  # type: ignore[misc]
        return response

    async def go_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageRedirect)
        return redirect(exc.path)

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(PhivaultError, refusal)
    app.add_exception_handler(PageRedirect, go_first)


def offers_emergency_access(request: Request) -> None:
    """Route dependency: a person's chart that is not found offers emergency access, whether
    the person is absent, hidden or in an agency where the member has no standing, so that
    the offer tells nothing either."""
    request.state.offers_emergency_access = True


def hide_forbidden(request: Request) -> None:
    """Router dependency: on these pages a permission the member lacks looks like anything
    missing (the administration of an agency is not shown to its staff)."""
    request.state.hide_forbidden = True


def refusal_page(request: Request, exc: PhivaultError) -> Response:
    """A page route's service refusal, inside the agency frame when the page has one: missing
    or forbidden-by-existence is the not-found page; a stale session re-authenticates, then
    comes back (to the form's page for a POST); anything else says its (PHI-free) message."""
    page: TenantPage | None = getattr(request.state, "page", None)
    if page is None:
        if isinstance(exc, NotFound):
            return render(request, "not_found.html", 404)
        heading = HEADINGS.get(exc.status, "Not available")
        return render(request, "problem.html", exc.status, heading=heading, error=exc.detail)
    if isinstance(exc, Forbidden) and getattr(request.state, "hide_forbidden", False):
        return not_found(request, page)
    back = getattr(request.state, "back", None)
    if back is None and request.method == "GET":
        back = request.url.path
    return error_page(request, page, exc, back)
