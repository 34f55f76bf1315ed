"""The role directory (role categories with their data access category, and positions) and
the agency's security settings."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.access import directory
from phivault.access.policy import Permission
from phivault.api.deps import declare
from phivault.errors import InvalidInput
from phivault.identity import lifecycle
from phivault.vault import Vault
from phivault.web.admin.shared import (
    BASE,
    DONE,
    SETTING_LABELS,
    failed,
    page_vars,
    parse_uuid,
)
from phivault.web.common import (
    AgencyForm,
    AgencyPageDep,
    TenantPage,
    fresh_or_reauth,
    path_for,
    redirect,
    render,
    whole_number,
)

router = APIRouter(include_in_schema=False)
# Forms of these pages: a stale token goes back to the page the form is on.
DirectoryForm = Annotated[TenantPage, Depends(AgencyForm(BASE + "/directory"))]
SettingsForm = Annotated[TenantPage, Depends(AgencyForm(BASE + "/settings", fresh=True))]


# -- role directory ------------------------------------------------------------------------
def _directory(
    request: Request, vault: Vault, page: TenantPage, status: int = 200, **extra: Any
) -> Response:
    with page.unit() as unit:
        roles = directory.read_role_directory(unit)
    for key in ("role_form", "position_form", "role_problems", "position_problems"):
        extra.setdefault(key, {})
    extra.setdefault("change_problems", {})
    extra.setdefault("rename_values", {})
    return render(
        request,
        "admin_directory.html",
        status,
        **page_vars(page, "directory", roles=roles, **extra),
    )


@router.get(BASE + "/directory", openapi_extra=declare(Permission.DIRECTORY_MANAGE))
def role_directory(
    request: Request, tenant_id: uuid.UUID, page: AgencyPageDep, done: str = ""
) -> Response:
    """Role categories with their data access category and MFA rule, and their positions."""
    return _directory(request, page.vault, page, notice=DONE.get(done))


MFA_CHOICES = {"": None, "required": True, "not-required": False}


@router.post(
    BASE + "/directory/role-categories",
    name="add_role_category_submit",
    openapi_extra=declare(Permission.DIRECTORY_MANAGE),
)
def add_role_category(
    request: Request,
    tenant_id: uuid.UUID,
    page: DirectoryForm,
    # No max_length here: the service says what is wrong, at the field, on the form.
    name: Annotated[str, Form()] = "",
    access_category: Annotated[str, Form()] = "",
    mfa: Annotated[str, Form()] = "",
) -> Response:
    back = path_for(request, "role_directory", tenant_id=tenant_id)
    form = {"name": name, "access_category": access_category, "mfa": mfa}
    try:
        with page.unit() as unit:
            directory.do_add_role_category(
                unit,
                name=name,
                access_category=access_category,
                mfa_required=MFA_CHOICES.get(mfa),
            )
    except directory.DirectoryProblem as exc:
        return _directory(
            request, page.vault, page, 422, role_form=form, role_problems={exc.field: exc.message}
        )
    return redirect(f"{back}?done=role")


@router.post(
    BASE + "/directory/positions",
    name="add_position_submit",
    openapi_extra=declare(Permission.DIRECTORY_MANAGE),
)
def add_position(
    request: Request,
    tenant_id: uuid.UUID,
    page: DirectoryForm,
    title: Annotated[str, Form()] = "",
    role_category_id: Annotated[str, Form()] = "",
) -> Response:
    back = path_for(request, "role_directory", tenant_id=tenant_id)
    form = {"title": title, "role_category_id": role_category_id}
    role = parse_uuid(role_category_id)
    if role is None:
        return _directory(
            request,
            page.vault,
            page,
            422,
            position_form=form,
            position_problems={"role_category_id": "Choose a role category."},
        )
    try:
        with page.unit() as unit:
            directory.do_add_position(unit, title=title, role_category_id=role)
    except directory.DirectoryProblem as exc:
        return _directory(
            request,
            page.vault,
            page,
            422,
            position_form=form,
            position_problems={exc.field: exc.message},
        )
    return redirect(f"{back}?done=position")


CHANGES = {"rename": None, "retire": True, "restore": False}


@router.post(
    BASE + "/directory/{kind}/{object_id}", openapi_extra=declare(Permission.DIRECTORY_MANAGE)
)
def change_directory_entry(
    request: Request,
    tenant_id: uuid.UUID,
    kind: str,
    object_id: uuid.UUID,
    page: DirectoryForm,
    change: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Rename, retire or bring back a role category (``kind`` role-categories) or a position
    (``kind`` positions)."""
    back = path_for(request, "role_directory", tenant_id=tenant_id)
    if kind not in ("role-categories", "positions") or change not in CHANGES:
        return failed(request, page, InvalidInput("unknown directory change"), back)
    renamed = name if change == "rename" else None
    try:
        with page.unit() as unit:
            if kind == "role-categories":
                directory.do_change_role_category(
                    unit, object_id, name=renamed, retired=CHANGES[change]
                )
            else:
                directory.do_change_position(
                    unit, object_id, title=renamed, retired=CHANGES[change]
                )
    except directory.DirectoryProblem as exc:
        return _directory(
            request,
            page.vault,
            page,
            422,
            change_problems={str(object_id): exc.message},
            rename_values={str(object_id): name},
        )
    done = "role-changed" if kind == "role-categories" else "position-changed"
    return redirect(f"{back}?done={done}")


# -- security settings ---------------------------------------------------------------------


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
        **page_vars(page, "settings", values=values, labels=SETTING_LABELS, **extra),
    )


@router.get(BASE + "/settings", openapi_extra=declare(Permission.SETTINGS_MANAGE))
def settings_form(
    request: Request, tenant_id: uuid.UUID, page: AgencyPageDep, done: str = ""
) -> Response:
    """The agency's security settings, ready to change."""
    fresh_or_reauth(page, request, needed=page.can(Permission.SETTINGS_MANAGE))
    with page.unit() as unit:
        values = lifecycle.read_settings_to_manage(unit)
    return _settings_page(request, page, values, notice=DONE.get(done))


@router.post(BASE + "/settings", openapi_extra=declare(Permission.SETTINGS_MANAGE))
def save_settings(
    request: Request,
    tenant_id: uuid.UUID,
    page: SettingsForm,
    password_profile: Annotated[str, Form(max_length=16)] = "",
    password_expiry_days: Annotated[str, Form()] = "",
    password_history: Annotated[str, Form()] = "",
    idle_timeout_minutes: Annotated[str, Form()] = "",
    mfa_reverify_days: Annotated[str, Form()] = "",
    mfa_required: Annotated[bool, Form()] = False,
    mfa_self_service_reset: Annotated[bool, Form()] = False,
) -> Response:
    """Save every setting at once; out-of-bounds values are named next to their field and
    nothing changes."""
    back = path_for(request, "settings_form", tenant_id=tenant_id)
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
        number = whole_number(text)
        changes[name] = text if number is None else number
    try:
        with page.unit() as unit:
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
    return redirect(f"{back}?done=settings")
