"""The workforce pages: members of the agency, adding one, and changing a member's standing
and account (each destructive change confirmed on a page of its own)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.access import directory
from phivault.access.policy import Permission
from phivault.access.unit import Unit
from phivault.api.deps import declare
from phivault.errors import Conflict, InvalidInput
from phivault.identity import lifecycle
from phivault.identity import service as identity
from phivault.vault import Vault
from phivault.web.admin.shared import (
    BASE,
    DONE,
    page_vars,
    parse_uuid,
)
from phivault.web.common import (
    AgencyForm,
    AgencyPageDep,
    TenantPage,
    fresh_or_reauth,
    not_found,
    path_for,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
# Forms of these pages: a stale token goes back to the page the form is on.
NewMemberForm = Annotated[TenantPage, Depends(AgencyForm(BASE + "/members/new", fresh=True))]
MemberForm = Annotated[TenantPage, Depends(AgencyForm(BASE + "/members/{member_id}", fresh=True))]


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


# -- workforce -----------------------------------------------------------------------------
@router.get(BASE, openapi_extra=declare(Permission.WORKFORCE_MANAGE))
def workforce(
    request: Request, tenant_id: uuid.UUID, page: AgencyPageDep, done: str = ""
) -> Response:
    """The agency's workforce: position, duties, account status, second factor, manager."""
    with page.unit() as unit:
        members = lifecycle.list_members(unit)
    return render(
        request,
        "admin_workforce.html",
        **page_vars(page, "workforce", members=members, notice=DONE.get(done)),
    )


def _member_form(
    request: Request,
    vault: Vault,
    page: TenantPage,
    status: int = 200,
    **extra: Any,
) -> Response:
    with page.unit() as unit:
        members = lifecycle.list_members(unit)
        positions = directory.read_directory(unit)
    return render(
        request,
        "admin_member_new.html",
        status,
        **page_vars(
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
def new_member_form(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    fresh_or_reauth(page, request, needed=page.can(Permission.WORKFORCE_MANAGE))
    return _member_form(request, page.vault, page, form={})


@router.post(
    BASE + "/members/new",
    name="add_member_submit",
    openapi_extra=declare(Permission.WORKFORCE_MANAGE, Permission.DIRECTORY_READ),
)
def add_member(
    request: Request,
    tenant_id: uuid.UUID,
    page: NewMemberForm,
    # No max_length on typed fields: the service's message comes back on the form.
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    position_id: Annotated[str, Form(max_length=40)] = "",
    manager_id: Annotated[str, Form(max_length=40)] = "",
    privacy_officer: Annotated[bool, Form()] = False,
    administrator: Annotated[bool, Form()] = False,
) -> Response:
    """Create the member; their initial password is shown on this one response only."""
    form = {
        "username": username,
        "display_name": display_name,
        "position_id": position_id,
        "manager_id": manager_id,
        "privacy_officer": privacy_officer,
        "administrator": administrator,
    }
    position = parse_uuid(position_id)
    if position is None:
        return _member_form(
            request, page.vault, page, 422, form=form, form_error="Choose a position."
        )
    try:
        with page.unit() as unit:
            member, initial = identity.do_add_member(
                unit,
                username=username,
                display_name=display_name,
                position_id=position,
                privacy_officer=privacy_officer,
                administrator=administrator,
            )
            manager = parse_uuid(manager_id)
            if manager is not None:
                lifecycle.do_set_manager(unit, member.id, manager)
            created = {"id": member.id, "username": member.username, "name": member.display_name}
    except (InvalidInput, Conflict) as exc:
        return _member_form(request, page.vault, page, exc.status, form=form, form_error=exc.detail)
    return render(
        request,
        "admin_member_created.html",
        **page_vars(page, "workforce", created=created, initial_password=initial),
    )


def _detail(
    request: Request,
    vault: Vault,
    page: TenantPage,
    member_id: uuid.UUID,
    status: int = 200,
    **extra: Any,
) -> Response:
    with page.unit() as unit:
        member = lifecycle.read_member(unit, member_id)
        members = lifecycle.list_members(unit)
        positions = directory.read_directory(unit)
    return render(
        request,
        "admin_member.html",
        status,
        **page_vars(
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
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    page: AgencyPageDep,
    done: str = "",
) -> Response:
    """One member, with the forms to change their standing and account."""
    fresh_or_reauth(page, request, needed=page.can(Permission.WORKFORCE_MANAGE))
    return _detail(request, page.vault, page, member_id, notice=DONE.get(done))


@router.post(MEMBER + "/grant", openapi_extra=MEMBER_PERMISSIONS)
def change_grant(
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    page: MemberForm,
    position_id: Annotated[str, Form(max_length=40)] = "",
    privacy_officer: Annotated[bool, Form()] = False,
    administrator: Annotated[bool, Form()] = False,
) -> Response:
    back = path_for(request, "member_detail", tenant_id=tenant_id, member_id=member_id)
    position = parse_uuid(position_id)
    if position is None:
        return _detail(request, page.vault, page, member_id, 422, error="Choose a position.")
    try:
        with page.unit() as unit:
            identity.do_grant(
                unit,
                member_id=member_id,
                position_id=position,
                privacy_officer=privacy_officer,
                administrator=administrator,
            )
    except (InvalidInput, Conflict) as exc:
        return _detail(request, page.vault, page, member_id, exc.status, error=exc.detail)
    return redirect(f"{back}?done=grant")


@router.post(MEMBER + "/manager", openapi_extra=MEMBER_PERMISSIONS)
def change_manager(
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    page: MemberForm,
    manager_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    back = path_for(request, "member_detail", tenant_id=tenant_id, member_id=member_id)
    try:
        with page.unit() as unit:
            lifecycle.do_set_manager(unit, member_id, parse_uuid(manager_id))
    except (InvalidInput, Conflict) as exc:
        return _detail(request, page.vault, page, member_id, exc.status, error=exc.detail)
    return redirect(f"{back}?done=manager")


@router.post(MEMBER + "/{action}", openapi_extra=MEMBER_PERMISSIONS)
def member_action(
    request: Request,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    action: str,
    page: MemberForm,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Suspend, terminate, reinstate, reset MFA, end sessions, remove: first a confirmation
    page (a real form step), then the change."""
    back = path_for(request, "member_detail", tenant_id=tenant_id, member_id=member_id)
    chosen = ACTIONS.get(action)
    if chosen is None:
        return not_found(request, page)
    do, question, consequence, button = chosen
    try:
        with page.unit() as unit:
            member = lifecycle.read_member(unit, member_id)
            if confirm == "yes":
                do(unit, member_id)
    except (InvalidInput, Conflict) as exc:
        return _detail(request, page.vault, page, member_id, exc.status, error=exc.detail)
    if confirm == "yes":
        return redirect(f"{back}?done={action}")
    return render(
        request,
        "admin_confirm.html",
        **page_vars(
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
