"""Sign-in pages: login, first password change, TOTP enrolment with QR code, second-factor
check, home. Pages parse forms, call the identity services and render (I-7).

Forms carry the session's CSRF token in a hidden field; the login form, which has no session
yet, is protected by the SameSite=Strict cookie and an Origin check.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.api.cookies import set_device_cookie, set_session_cookie
from phivault.api.deps import client_of, cross_site, declare
from phivault.errors import (
    InvalidInput,
    MfaRequired,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from phivault.identity import auth, factors, invitations, passkeys, sessions
from phivault.identity.policy import member_policy
from phivault.vault import Vault
from phivault.web.common import (
    CompleteDep,
    PageRedirect,
    SignedIn,
    SignedInDep,
    SignInStep,
    VaultDep,
    csrf_ok,
    field_label,
    member_tenants,
    next_page,
    path_for,
    redirect,
    refill_on_invalid,
    render,
    signed_in_or_none,
    signed_in_session,
)

PUBLIC = declare("public")
SELF = declare("self")

router = APIRouter(include_in_schema=False)


@router.get("/login", openapi_extra=PUBLIC)
def login_page(request: Request, vault: VaultDep) -> Response:
    state = signed_in_or_none(request, vault)
    if state is not None:
        return redirect(next_page(request, state.view.stage))
    return render(request, "login.html")


def _problems_text(problems: dict[str, str]) -> str:
    return "; ".join(f"{field_label(name)}: {text}" for name, text in problems.items()) + "."


def _login_again(request: Request, form: dict[str, str], problems: dict[str, str]) -> Response:
    """The sign-in form again when a field is refused before the check (e.g. too long)."""
    username = form.get("username", "")
    return render(
        request,
        "login.html",
        422,
        username=username if "username" not in problems else "",
        error=_problems_text(problems),
    )


@router.post("/login", openapi_extra=PUBLIC)
@refill_on_invalid(_login_again)
def login_submit(
    request: Request,
    vault: VaultDep,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    if cross_site(request):
        return render(request, "login.html", 403, error="Cross-site sign-in refused.")
    try:
        signed = auth.sign_in(
            vault,
            username=username,
            password=password,
            client=client_of(request),
            device_secret=request.cookies.get(sessions.DEVICE_COOKIE),
        )
    except TooManyAttempts as exc:
        return render(
            request,
            "login.html",
            429,
            username=username,
            error=f"Too many attempts. Try again in {exc.retry_after} seconds.",
        )
    except Unauthenticated:
        return render(
            request, "login.html", 401, username=username, error="Wrong username or password."
        )
    response = redirect(next_page(request, signed.view.stage))
    set_session_cookie(response, request, signed.secret)
    return response


@router.get("/password", openapi_extra=SELF)
def password_page(request: Request, state: SignedInDep, vault: VaultDep) -> Response:
    view = state.view
    if not auth.may_change_credentials(view):
        return redirect(next_page(request, view.stage))
    return render(request, "password.html", who=view.display_name, csrf=view.csrf_token)


def _password_again(request: Request, form: dict[str, str], problems: dict[str, str]) -> Response:
    """The password form again when a field is refused before the check (e.g. too long)."""
    try:
        view = signed_in_session(request, request.app.state.vault).view
    except PageRedirect as go:
        return redirect(go.path)
    return render(
        request,
        "password.html",
        422,
        who=view.display_name,
        csrf=view.csrf_token,
        error=_problems_text(problems),
    )


@router.post("/password", openapi_extra=SELF)
@refill_on_invalid(_password_again)
def password_submit(
    request: Request,
    state: SignedInDep,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    resolved = state.resolved
    view = state.view
    if not csrf_ok(resolved, csrf_token):
        return render(
            request,
            "password.html",
            403,
            who=view.display_name,
            csrf=view.csrf_token,
            error="The form expired; please try again.",
        )
    try:
        changed = auth.change_password(
            vault, resolved, current=current_password, new=new_password, client=client_of(request)
        )
    except (InvalidInput, TooManyAttempts, MfaRequired) as exc:
        return render(
            request,
            "password.html",
            exc.status,
            who=view.display_name,
            csrf=view.csrf_token,
            error=exc.detail,
        )
    return _with_new_secret(redirect(next_page(request, changed.stage)), request, changed)


def _with_new_secret(response: Response, request: Request, view: auth.SessionView) -> Response:
    """A step that gave the session a new secret (password change, second factor) sets the
    new cookie; the old secret no longer opens the session."""
    if view.session_secret:
        set_session_cookie(response, request, view.session_secret)
    return response


# The second-factor steps of signing in, each reached only at its stage.
EnrolStep = Annotated[SignedIn, Depends(SignInStep(auth.MFA_ENROL, page="mfa_enrol_page"))]
VerifyStep = Annotated[SignedIn, Depends(SignInStep(auth.MFA_VERIFY, page="mfa_verify_page"))]


@router.get("/mfa/enrol", name="mfa_enrol_page", openapi_extra=SELF)
def enrol_page(request: Request, state: EnrolStep, vault: VaultDep) -> Response:
    return _enrol_form(request, vault, state.resolved, state.view)


def _enrol_form(
    request: Request,
    vault: Vault,
    resolved: sessions.Resolved,
    view: auth.SessionView,
    error: str | None = None,
    status: int = 200,
) -> Response:
    enrolment = factors.begin_totp(
        vault, resolved, view.assurance, client_of(request), reuse_pending=True
    )
    # A passkey is offered as the alternative (AUTH-5): the API registers one at this stage,
    # and it then counts as the verified second factor.
    return render(
        request,
        "mfa_enrol.html",
        status,
        who=view.display_name,
        csrf=view.csrf_token,
        secret=enrolment.secret,
        qr_svg=enrolment.qr_svg,
        error=error,
    )


@router.post("/mfa/enrol", name="mfa_enrol_submit", openapi_extra=SELF)
def enrol_submit(
    request: Request,
    state: EnrolStep,
    vault: VaultDep,
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    resolved = state.resolved
    view = state.view
    try:
        codes, done = factors.confirm_totp(vault, resolved, code, client_of(request))
    except (InvalidInput, TooManyAttempts) as exc:
        # The same secret is shown again: it stays pending until a right code confirms it.
        return _enrol_form(request, vault, resolved, view, exc.detail, exc.status)
    page = render(
        request, "recovery_codes.html", who=done.display_name, csrf=done.csrf_token, codes=codes
    )
    return _with_new_secret(page, request, done)


@router.get("/mfa/verify", name="mfa_verify_page", openapi_extra=SELF)
def verify_page(request: Request, state: VerifyStep, vault: VaultDep) -> Response:
    return _verify_form(request, vault, state.resolved, state.view)


def _verify_form(
    request: Request,
    vault: Vault,
    resolved: sessions.Resolved,
    view: auth.SessionView,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The second-factor form: a code, or the member's passkey when they have one."""
    with auth.identity_transaction(vault) as db:
        days = member_policy(db, resolved.member.id).mfa_reverify_days
        has_passkey = bool(passkeys.list_passkeys(db, resolved.member.id))
    return render(
        request,
        "mfa_verify.html",
        status,
        who=view.display_name,
        csrf=view.csrf_token,
        remember_days=days,
        has_passkey=has_passkey,
        error=error,
    )


@router.post("/mfa/verify", name="mfa_verify_submit", openapi_extra=SELF)
def verify_submit(
    request: Request,
    state: VerifyStep,
    vault: VaultDep,
    code: Annotated[str, Form(max_length=64)],
    remember_device: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    resolved = state.resolved
    view = state.view
    method, check = factors.totp_or_recovery(vault, code.strip())
    try:
        done = factors.verify(
            vault,
            resolved,
            client_of(request),
            method=method,
            check=check,
            remember=remember_device == "1",
        )
    except (InvalidInput, TooManyAttempts) as exc:
        return _verify_form(request, vault, resolved, view, exc.detail, exc.status)
    response = _with_new_secret(redirect(next_page(request, done.view.stage)), request, done.view)
    set_device_cookie(response, request, done.device_secret, done.remember_days)
    return response


@router.get("/", openapi_extra=SELF)
def home(request: Request, state: CompleteDep, vault: VaultDep) -> Response:
    resolved = state.resolved
    view = state.view
    return render(
        request,
        "home.html",
        who=view.display_name,
        csrf=view.csrf_token,
        tenants=member_tenants(vault, resolved.member.id),
        invitations=invitations.my_invitations(vault, resolved.member.id),
        idle_minutes=view.idle_seconds // 60,
        idle_seconds=view.idle_seconds,
        password_warning=view.password_expires_in_days,
    )


@router.post("/invitations/{tenant_id}/accept", name="accept_invitation_submit", openapi_extra=SELF)
def accept_invitation(
    request: Request,
    state: CompleteDep,
    tenant_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    """The account's owner joins an agency that invited them (ACC-12): a complete sign-in and
    this session's CSRF token, else nothing changes."""
    resolved = state.resolved
    if not csrf_ok(resolved, csrf_token):
        return redirect(path_for(request, "home"))
    try:
        invitations.accept_invitation(
            vault,
            resolved.member.id,
            tenant_id,
            client_of(request),
            session=f"session:{resolved.login.id}",
        )
    except NotFound:
        return redirect(path_for(request, "home"))
    return redirect(path_for(request, "dashboard", tenant_id=tenant_id))


@router.post("/logout", name="logout_submit", openapi_extra=SELF)
def logout(
    request: Request, vault: VaultDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Sign out. A form without this session's CSRF token is refused and changes nothing:
    dropping the cookie while the session lives on would leave it usable to whoever holds
    its secret, and the person would believe they had signed out."""
    state = signed_in_or_none(request, vault)
    if state is not None:
        if not state.csrf_ok(csrf_token):
            return redirect(path_for(request, "home"))
        auth.sign_out(vault, state.resolved, client_of(request))
    response = redirect(path_for(request, "login_page"))
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    return response
