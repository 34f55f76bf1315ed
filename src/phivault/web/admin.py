"""Administration pages of an agency: workforce, role directory, security settings, password
resets and access reviews — for the office manager and privacy officer, on the same guarded
services as the API.

Every page opens a guarded unit, so someone without the permission gets the same 404 page as
for anything missing (I-5). User administration, settings, reset authorization and access
reviews need a fresh re-authentication, like their API routes: a form page that leads to one
of them sends a stale session to /reauth first, and the POST checks again. Result messages
travel as fixed keys in the query string (never names or other values).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from phivault.access import directory
from phivault.access.policy import AccessCategory, Permission
from phivault.access.unit import Unit, Vault
from phivault.api.deps import declare, declared_permissions
from phivault.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PhivaultError,
    ReauthRequired,
)
from phivault.identity import lifecycle
from phivault.identity import service as identity
from phivault.web.common import (
    TenantPage,
    VaultDep,
    csrf_ok,
    is_fresh,
    not_found,
    problem_page,
    reauth_redirect,
    redirect,
    render,
    tenant_context,
)

router = APIRouter(include_in_schema=False)
BASE = "/t/{tenant_id}/admin"
CSRF = Annotated[str, Form(max_length=100)]

ACCESS_LABELS = {
    AccessCategory.FULL: "Full",
    AccessCategory.SUMMARY: "Summary",
    AccessCategory.MINIMUM: "Minimum",
    AccessCategory.EMERGENCY_ONLY: "Emergency only",
}
STATUS_LABELS = {
    "invited": "Invited (initial password not changed yet)",
    "active": "Active",
    "suspended": "Suspended",
    "terminated": "Terminated",
}
SETTING_LABELS = {
    "password_profile": "Password profile",
    "password_expiry_days": "Password expiry (days)",
    "password_history": "Passwords remembered",
    "idle_timeout_minutes": "Idle timeout (minutes)",
    "mfa_required": "Second factor required",
    "mfa_reverify_days": "Re-verify the second factor every (days)",
    "mfa_self_service_reset": "Self-service password reset",
}
DONE = {
    "added": "Member added.",
    "grant": "Position and duties saved. A change of role opens an access review for the "
    "privacy officer.",
    "manager": "Manager saved.",
    "suspend": "Account suspended: every session and API token of theirs has ended.",
    "terminate": "Account terminated: every session and API token has ended and their standing "
    "in every agency is revoked.",
    "reinstate": "Account reinstated: they can sign in again.",
    "reset-mfa": "Second factors removed: they set up a new one at their next sign-in. Their "
    "sessions have ended.",
    "end-sessions": "All their sessions have ended; they must sign in again.",
    "remove": "Standing in this agency revoked: their sessions and tokens have ended.",
    "role": "Role category added.",
    "position": "Position added.",
    "settings": "Settings saved.",
    "confirmed": "Access confirmed.",
    "revoked": "Access revoked: their standing here has ended.",
}


# -- member actions that need a confirmation step ------------------------------------------
def _suspend(unit: Unit, member_id: uuid.UUID) -> None:
    lifecycle.do_set_status(unit, member_id, "suspended")


def _terminate(unit: Unit, member_id: uuid.UUID) -> None:
    lifecycle.do_set_status(unit, member_id, "terminated")


def _reinstate(unit: Unit, member_id: uuid.UUID) -> None:
    lifecycle.do_set_status(unit, member_id, "active")


def _reset_mfa(unit: Unit, member_id: uuid.UUID) -> None:
    lifecycle.do_reset_mfa(unit, member_id)


def _end_sessions(unit: Unit, member_id: uuid.UUID) -> None:
    lifecycle.do_revoke_member_sessions(unit, member_id)


def _remove(unit: Unit, member_id: uuid.UUID) -> None:
    identity.do_revoke_grant(unit, member_id=member_id)


# action -> (service, question, consequence, button)
ACTIONS: dict[str, tuple[Callable[[Unit, uuid.UUID], None], str, str, str]] = {
    "suspend": (
        _suspend,
        "Suspend this account?",
        "They are signed out everywhere at once and their API tokens stop working. You can "
        "reinstate them later.",
        "Yes, suspend",
    ),
    "terminate": (
        _terminate,
        "Terminate this account?",
        "They are signed out everywhere, their API tokens stop working and their standing in "
        "every agency is revoked. This is final: if they return, create a new account.",
        "Yes, terminate",
    ),
    "reinstate": (
        _reinstate,
        "Reinstate this account?",
        "They can sign in again with their password and second factor.",
        "Yes, reinstate",
    ),
    "reset-mfa": (
        _reset_mfa,
        "Reset their second factors?",
        "Their authenticator app, recovery codes and passkeys are removed and their sessions "
        "end; they set up a new second factor at their next sign-in. Do this only after "
        "checking who is asking (in person or by a call back).",
        "Yes, reset second factors",
    ),
    "end-sessions": (
        _end_sessions,
        "End all their sessions?",
        "They are signed out on every device (for example after a lost laptop).",
        "Yes, sign them out everywhere",
    ),
    "remove": (
        _remove,
        "Remove their standing in this agency?",
        "They lose access to this agency at once and their sessions and tokens end. Their "
        "account stays, for other agencies they serve.",
        "Yes, remove from this agency",
    ),
}


def _unit(vault: Vault, page: TenantPage, request: Request) -> AbstractContextManager[Unit]:
    """A guarded unit in the page's agency, limited to the permissions the route declared."""
    return vault.unit(page.tenant_id, page.actor, declared=declared_permissions(request))


def _failed(request: Request, page: TenantPage, exc: PhivaultError, back: str) -> Response:
    """Refusals look like anything missing; a stale session goes to re-authenticate."""
    if isinstance(exc, (NotFound, Forbidden)):
        return not_found(request, page)
    if isinstance(exc, ReauthRequired):
        return reauth_redirect(back)
    return problem_page(request, page, exc.status, exc.detail)


def _vars(page: TenantPage, sub: str, **extra: Any) -> dict[str, Any]:
    return {
        **page.vars(),
        "section": "admin",
        "sub": sub,
        "access_labels": ACCESS_LABELS,
        "status_labels": STATUS_LABELS,
        **extra,
    }


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


# -- workforce -----------------------------------------------------------------------------
@router.get(BASE, openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def workforce(request: Request, tenant_id: uuid.UUID, vault: VaultDep, done: str = "") -> Response:
    """The agency's workforce: position, duties, account status, second factor, manager."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    try:
        with _unit(vault, page, request) as unit:
            members = lifecycle.list_members(unit)
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    return render(
        request,
        "admin_workforce.html",
        **_vars(page, "workforce", members=members, notice=DONE.get(done)),
    )


def _member_form(
    request: Request,
    vault: Vault,
    page: TenantPage,
    status: int = 200,
    **extra: Any,
) -> Response:
    try:
        with _unit(vault, page, request) as unit:
            members = lifecycle.list_members(unit)
            positions = directory.read_directory(unit)
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    return render(
        request,
        "admin_member_new.html",
        status,
        **_vars(
            page,
            "workforce",
            positions=positions,
            managers=[m for m in members if m.standing == "active"],
            **extra,
        ),
    )


@router.get(
    BASE + "/members/new",
    openapi_extra=declare(Permission.WORKFORCE_MANAGE, Permission.DIRECTORY_READ),
)
def new_member_form(request: Request, tenant_id: uuid.UUID, vault: VaultDep) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    if page.can(Permission.WORKFORCE_MANAGE) and not is_fresh(vault, page.resolved):
        return reauth_redirect(request.url.path)
    return _member_form(request, vault, page, form={})


@router.post(
    BASE + "/members/new",
    openapi_extra=declare(Permission.WORKFORCE_MANAGE, Permission.DIRECTORY_READ),
)
def add_member(
    request: Request,
    tenant_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    username: Annotated[str, Form(max_length=120)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    position_id: Annotated[str, Form(max_length=40)] = "",
    manager_id: Annotated[str, Form(max_length=40)] = "",
    privacy_officer: Annotated[bool, Form()] = False,
    administrator: Annotated[bool, Form()] = False,
) -> Response:
    """Create the member; their initial password is shown on this one response only."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/members/new"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    form = {
        "username": username,
        "display_name": display_name,
        "position_id": position_id,
        "manager_id": manager_id,
        "privacy_officer": privacy_officer,
        "administrator": administrator,
    }
    position = _uuid(position_id)
    if position is None:
        return _member_form(request, vault, page, 422, form=form, form_error="Choose a position.")
    try:
        with _unit(vault, page, request) as unit:
            member, initial = identity.do_add_member(
                unit,
                username=username,
                display_name=display_name,
                position_id=position,
                privacy_officer=privacy_officer,
                administrator=administrator,
            )
            manager = _uuid(manager_id)
            if manager is not None:
                lifecycle.do_set_manager(unit, member.id, manager)
            created = {"id": member.id, "username": member.username, "name": member.display_name}
    except (InvalidInput, Conflict) as exc:
        return _member_form(request, vault, page, exc.status, form=form, form_error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return render(
        request,
        "admin_member_created.html",
        **_vars(page, "workforce", created=created, initial_password=initial),
    )


def _detail(
    request: Request,
    vault: Vault,
    page: TenantPage,
    member_id: uuid.UUID,
    status: int = 200,
    **extra: Any,
) -> Response:
    try:
        with _unit(vault, page, request) as unit:
            member = lifecycle.read_member(unit, member_id)
            members = lifecycle.list_members(unit)
            positions = directory.read_directory(unit)
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    return render(
        request,
        "admin_member.html",
        status,
        **_vars(
            page,
            "workforce",
            member=member,
            positions=positions,
            managers=[m for m in members if m.standing == "active" and m.id != member.id],
            is_self=member.id == page.actor.member_id,
            actions=ACTIONS,
            **extra,
        ),
    )


MEMBER = BASE + "/members/{member_id}"
MEMBER_PERMISSIONS = declare(Permission.WORKFORCE_MANAGE, Permission.DIRECTORY_READ)


@router.get(MEMBER, openapi_extra=MEMBER_PERMISSIONS)
def member_detail(
    request: Request, tenant_id: uuid.UUID, member_id: uuid.UUID, vault: VaultDep, done: str = ""
) -> Response:
    """One member, with the forms to change their standing and account."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    if page.can(Permission.WORKFORCE_MANAGE) and not is_fresh(vault, page.resolved):
        return reauth_redirect(request.url.path)
    return _detail(request, vault, page, member_id, notice=DONE.get(done))


@router.post(MEMBER + "/grant", openapi_extra=MEMBER_PERMISSIONS)
def change_grant(
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    position_id: Annotated[str, Form(max_length=40)] = "",
    privacy_officer: Annotated[bool, Form()] = False,
    administrator: Annotated[bool, Form()] = False,
) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/members/{member_id}"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    position = _uuid(position_id)
    if position is None:
        return _detail(request, vault, page, member_id, 422, error="Choose a position.")
    try:
        with _unit(vault, page, request) as unit:
            identity.do_grant(
                unit,
                member_id=member_id,
                position_id=position,
                privacy_officer=privacy_officer,
                administrator=administrator,
            )
    except (InvalidInput, Conflict) as exc:
        return _detail(request, vault, page, member_id, exc.status, error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return redirect(f"{back}?done=grant")


@router.post(MEMBER + "/manager", openapi_extra=MEMBER_PERMISSIONS)
def change_manager(
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    manager_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/members/{member_id}"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    try:
        with _unit(vault, page, request) as unit:
            lifecycle.do_set_manager(unit, member_id, _uuid(manager_id))
    except (InvalidInput, Conflict) as exc:
        return _detail(request, vault, page, member_id, exc.status, error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return redirect(f"{back}?done=manager")


@router.post(MEMBER + "/{action}", openapi_extra=MEMBER_PERMISSIONS)
def member_action(
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    action: str,
    vault: VaultDep,
    csrf_token: CSRF,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Suspend, terminate, reinstate, reset MFA, end sessions, remove: first a confirmation
    page (a real form step), then the change."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/members/{member_id}"
    chosen = ACTIONS.get(action)
    if chosen is None:
        return not_found(request, page)
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    do, question, consequence, button = chosen
    try:
        with _unit(vault, page, request) as unit:
            member = lifecycle.read_member(unit, member_id)
            if confirm == "yes":
                do(unit, member_id)
    except (InvalidInput, Conflict) as exc:
        return _detail(request, vault, page, member_id, exc.status, error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    if confirm == "yes":
        return redirect(f"{back}?done={action}")
    return render(
        request,
        "admin_confirm.html",
        **_vars(
            page,
            "workforce",
            question=question,
            subject=f"{member.display_name} ({member.username})",
            consequence=consequence,
            button=button,
            action_url=f"{back}/{action}",
            fields={},
            cancel=back,
            danger=action != "reinstate",
        ),
    )


# -- role directory ------------------------------------------------------------------------
def _directory(
    request: Request, vault: Vault, page: TenantPage, status: int = 200, **extra: Any
) -> Response:
    try:
        with _unit(vault, page, request) as unit:
            roles = directory.read_role_directory(unit)
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    extra.setdefault("role_form", {})
    extra.setdefault("position_form", {})
    return render(
        request,
        "admin_directory.html",
        status,
        **_vars(page, "directory", roles=roles, **extra),
    )


@router.get(BASE + "/directory", openapi_extra=declare(Permission.DIRECTORY_MANAGE))
def role_directory(
    request: Request, tenant_id: uuid.UUID, vault: VaultDep, done: str = ""
) -> Response:
    """Role categories with their data access category and MFA rule, and their positions."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    return _directory(request, vault, page, notice=DONE.get(done))


MFA_CHOICES = {"": None, "required": True, "not-required": False}


@router.post(
    BASE + "/directory/role-categories", openapi_extra=declare(Permission.DIRECTORY_MANAGE)
)
def add_role_category(
    request: Request,
    tenant_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    name: Annotated[str, Form(max_length=200)] = "",
    access_category: Annotated[str, Form(max_length=16)] = "",
    mfa: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/directory"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    form = {"name": name, "access_category": access_category, "mfa": mfa}
    try:
        with _unit(vault, page, request) as unit:
            directory.do_add_role_category(
                unit,
                name=name,
                access_category=access_category,
                mfa_required=MFA_CHOICES.get(mfa),
            )
    except InvalidInput as exc:
        return _directory(request, vault, page, 422, role_form=form, role_error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return redirect(f"{back}?done=role")


@router.post(BASE + "/directory/positions", openapi_extra=declare(Permission.DIRECTORY_MANAGE))
def add_position(
    request: Request,
    tenant_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    title: Annotated[str, Form(max_length=200)] = "",
    role_category_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/directory"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    form = {"title": title, "role_category_id": role_category_id}
    role = _uuid(role_category_id)
    if role is None:
        return _directory(
            request,
            vault,
            page,
            422,
            position_form=form,
            position_error="Choose a role category.",
        )
    try:
        with _unit(vault, page, request) as unit:
            directory.do_add_position(unit, title=title, role_category_id=role)
    except InvalidInput as exc:
        return _directory(request, vault, page, 422, position_form=form, position_error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return redirect(f"{back}?done=position")


# -- security settings ---------------------------------------------------------------------
INT_SETTINGS = ("password_expiry_days", "password_history", "idle_timeout_minutes")


def _settings_page(
    request: Request,
    page: TenantPage,
    values: dict[str, Any],
    status: int = 200,
    **extra: Any,
) -> Response:
    extra.setdefault("problems", {})
    return render(
        request,
        "admin_settings.html",
        status,
        **_vars(page, "settings", values=values, labels=SETTING_LABELS, **extra),
    )


@router.get(BASE + "/settings", openapi_extra=declare(Permission.SETTINGS_MANAGE))
def settings_form(
    request: Request, tenant_id: uuid.UUID, vault: VaultDep, done: str = ""
) -> Response:
    """The agency's security settings, ready to change."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    if page.can(Permission.SETTINGS_MANAGE) and not is_fresh(vault, page.resolved):
        return reauth_redirect(request.url.path)
    try:
        with _unit(vault, page, request) as unit:
            values = lifecycle.read_settings_to_manage(unit)
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    return _settings_page(request, page, values, notice=DONE.get(done))


@router.post(BASE + "/settings", openapi_extra=declare(Permission.SETTINGS_MANAGE))
def save_settings(
    request: Request,
    tenant_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    password_profile: Annotated[str, Form(max_length=16)] = "",
    password_expiry_days: Annotated[str, Form(max_length=10)] = "",
    password_history: Annotated[str, Form(max_length=10)] = "",
    idle_timeout_minutes: Annotated[str, Form(max_length=10)] = "",
    mfa_reverify_days: Annotated[str, Form(max_length=10)] = "",
    mfa_required: Annotated[bool, Form()] = False,
    mfa_self_service_reset: Annotated[bool, Form()] = False,
) -> Response:
    """Save every setting at once; out-of-bounds values are named next to their field and
    nothing changes."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/settings"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    raw = {
        "password_expiry_days": password_expiry_days,
        "password_history": password_history,
        "idle_timeout_minutes": idle_timeout_minutes,
        "mfa_reverify_days": mfa_reverify_days,
    }
    changes: dict[str, Any] = {
        "password_profile": password_profile,
        "mfa_required": mfa_required,
        "mfa_self_service_reset": mfa_self_service_reset,
    }
    for name, text in raw.items():
        # Unparseable numbers go to the service as text: it names them "a whole number".
        changes[name] = int(text.strip()) if text.strip().lstrip("-").isdigit() else text
    try:
        with _unit(vault, page, request) as unit:
            lifecycle.do_update_settings(unit, changes)
    except lifecycle.InvalidSettings as exc:
        return _settings_page(
            request,
            page,
            changes,
            422,
            problems=exc.problems,
            error="The settings were not saved: correct the values marked below.",
        )
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return redirect(f"{back}?done=settings")


# -- password resets -----------------------------------------------------------------------
@router.get(BASE + "/resets", openapi_extra=declare(Permission.DIRECTORY_READ))
def resets(request: Request, tenant_id: uuid.UUID, vault: VaultDep) -> Response:
    """Pending reset requests of the people in the viewer's reporting line (AUTH-4): any
    member may be someone's manager, so this page is not limited to administrators."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    try:
        with _unit(vault, page, request) as unit:
            pending = lifecycle.list_reset_requests(unit)
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    if pending and not is_fresh(vault, page.resolved):
        return reauth_redirect(request.url.path)
    return render(request, "admin_resets.html", **_vars(page, "resets", pending=pending))


@router.post(
    BASE + "/resets/{request_id}/authorize", openapi_extra=declare(Permission.DIRECTORY_READ)
)
def authorize_reset(
    request: Request,
    tenant_id: uuid.UUID,
    request_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
) -> Response:
    """Authorize a reset: the one-time code is shown on this response only."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/resets"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    try:
        with _unit(vault, page, request) as unit:
            code = lifecycle.do_authorize_reset(unit, request_id)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return render(
        request,
        "admin_reset_code.html",
        **_vars(page, "resets", code=code, hours=lifecycle.RESET_TOKEN_HOURS),
    )


# -- access reviews ------------------------------------------------------------------------
REVIEW_PERMISSIONS = declare(
    Permission.ACCESS_REVIEW, Permission.WORKFORCE_MANAGE, Permission.DIRECTORY_READ
)


def _reviews_page(
    request: Request, vault: Vault, page: TenantPage, status: int = 200, **extra: Any
) -> Response:
    try:
        with _unit(vault, page, request) as unit:
            open_reviews = lifecycle.list_access_reviews(unit)
            names = {m.id: m for m in lifecycle.list_members(unit)}
            titles = {e.position_id: e.title for e in directory.read_directory(unit)}
    except PhivaultError as exc:
        return _failed(request, page, exc, request.url.path)
    if open_reviews and not is_fresh(vault, page.resolved):
        return reauth_redirect(f"/t/{page.tenant_id}/admin/reviews")
    return render(
        request,
        "admin_reviews.html",
        status,
        **_vars(page, "reviews", reviews=open_reviews, names=names, titles=titles, **extra),
    )


@router.get(BASE + "/reviews", openapi_extra=REVIEW_PERMISSIONS)
def reviews(request: Request, tenant_id: uuid.UUID, vault: VaultDep, done: str = "") -> Response:
    """Open access reviews (opened by role changes, ACC-9), to confirm or revoke."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    return _reviews_page(request, vault, page, notice=DONE.get(done))


@router.post(BASE + "/reviews/{review_id}/close", openapi_extra=REVIEW_PERMISSIONS)
def close_review(
    request: Request,
    tenant_id: uuid.UUID,
    review_id: uuid.UUID,
    vault: VaultDep,
    csrf_token: CSRF,
    outcome: Annotated[str, Form(max_length=16)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Confirm at once; revoking asks for confirmation first (a real form step)."""
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    back = f"/t/{tenant_id}/admin/reviews"
    if not csrf_ok(page.resolved, csrf_token):
        return redirect(back)
    if not is_fresh(vault, page.resolved):
        return reauth_redirect(back)
    if outcome == "revoked" and confirm != "yes":
        return render(
            request,
            "admin_confirm.html",
            **_vars(
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
        with _unit(vault, page, request) as unit:
            lifecycle.do_close_access_review(unit, review_id, outcome)
    except (InvalidInput, Conflict) as exc:
        return _reviews_page(request, vault, page, exc.status, error=exc.detail)
    except PhivaultError as exc:
        return _failed(request, page, exc, back)
    return redirect(f"{back}?done={outcome}")
