"""Workforce lifecycle inside a tenant: suspension, termination, reinstatement, MFA reset,
reporting lines, password-reset authorization, security settings and access reviews.

Every function runs in a guarded unit; every change is audited in the tenant's chain. Cutting
someone off revokes their sessions, remembered devices and API tokens in the same transaction,
so their very next request fails (AUTH-8).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from phivault.access.models import Position, RoleCategory
from phivault.access.policy import AccessCategory, Permission
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.errors import Conflict, InvalidInput
from phivault.identity import sessions, totp
from phivault.identity.authority import act_on_account, end_standing_here, served_tenants
from phivault.identity.credentials import TotpCredential, WebAuthnCredential
from phivault.identity.models import AccessReview, Member, TenantGrant
from phivault.identity.roles import join_role
from phivault.identity.session_models import ResetRequest
from phivault.tenancy.models import TenantSettings

RESET_TOKEN_HOURS = 24
STATUSES = ("active", "suspended", "terminated")


STATUS_ACTIONS = {
    "active": AuditAction.WORKFORCE_MEMBER_ACTIVE,
    "suspended": AuditAction.WORKFORCE_MEMBER_SUSPENDED,
    "terminated": AuditAction.WORKFORCE_MEMBER_TERMINATED,
}


def _member_here(
    unit: Unit, member_id: uuid.UUID, permission: Permission, action: AuditAction
) -> Member:
    """The member, if they have active standing in this tenant; else an audited 404 (a
    revoked grant gives this agency nothing over the account any more, ACC-12)."""
    grant = unit.session.get(TenantGrant, (unit.tenant_id, member_id))
    member = unit.session.get(Member, member_id) if grant and grant.status == "active" else None
    if member is None:
        raise unit.guard.not_found(
            permission, action=action, resource_type="member", resource_id=member_id
        )
    if member_id == unit.actor.member_id:
        raise Conflict("nobody changes their own standing; ask another administrator")
    return member


def _other_tenants(unit: Unit, member_id: uuid.UUID) -> int:
    # Read outside the unit: its transaction sees only this tenant's grants under
    # PostgreSQL's row-level security.
    return len(served_tenants(unit, member_id) - {unit.tenant_id})


def do_set_status(unit: Unit, member_id: uuid.UUID, status: str) -> str:
    """Suspend, terminate or reinstate a member's account (AUTH-1, AUTH-8, WF-5).

    The account is the person's, across agencies: a tenant administrator may change it only
    for someone who serves this tenant alone; for staff shared with other agencies they
    revoke the standing here instead, and a platform administrator handles the account.
    """
    if status not in STATUSES:
        raise InvalidInput("'status' must be active, suspended or terminated")
    action = STATUS_ACTIONS[status]
    member = _member_here(unit, member_id, Permission.WORKFORCE_MANAGE, action)
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action=action,
        resource_type="member",
        resource_id=member_id,
        fields=("status",),
    )
    if member.status == "terminated":
        raise Conflict("a terminated account stays terminated; create a new one if they return")
    if _other_tenants(unit, member_id):
        raise Conflict(
            "this member also serves other agencies: revoke their standing here, or ask a "
            "platform administrator to change the account"
        )
    member.status = status
    member.status_changed_at = unit.now
    if status != "active":
        sessions.cut_off(unit.session, member_id, unit.now, f"member-{status}")
    if status == "terminated":
        for grant in unit.session.scalars(
            select(TenantGrant).where(TenantGrant.member_id == member_id)
        ):
            grant.status = "revoked"
    unit.session.flush()
    return member.status


def do_reset_mfa(unit: Unit, member_id: uuid.UUID) -> None:
    """Remove a member's second factors (lost phone); they enrol again at next sign-in.
    Needs authority in every agency the account serves (ACC-12)."""
    act_on_account(
        unit,
        member_id,
        Permission.WORKFORCE_MANAGE,
        AuditAction.WORKFORCE_MFA_RESET,
        ("totp", "recovery_codes", "passkeys"),
    )
    totp.reset_mfa(unit.session, member_id)
    sessions.cut_off(unit.session, member_id, unit.now, "mfa-reset")
    unit.session.flush()


def do_revoke_member_sessions(unit: Unit, member_id: uuid.UUID) -> int:
    """End every session and remembered device of a member (e.g. a lost laptop). Needs
    authority in every agency the account serves (ACC-12)."""
    act_on_account(
        unit,
        member_id,
        Permission.WORKFORCE_MANAGE,
        AuditAction.WORKFORCE_SESSIONS_REVOKE,
        ("sessions",),
    )
    return sessions.revoke_member_sessions(unit.session, member_id, unit.now, "revoked-by-admin")


def do_set_manager(unit: Unit, member_id: uuid.UUID, manager_id: uuid.UUID | None) -> None:
    """Record who is in the member's reporting line (they may authorize resets, AUTH-4).
    The line belongs to the account, so it needs authority in every agency it serves."""

    def manager_is_valid() -> None:
        if manager_id is None:
            return
        grant = unit.session.get(TenantGrant, (unit.tenant_id, manager_id))
        if grant is None or grant.status != "active" or manager_id == member_id:
            raise InvalidInput("the manager must be another member with standing in this tenant")
        if member_id in _line_of(unit, manager_id):
            raise InvalidInput("that would make a loop in the reporting line")

    act = act_on_account(
        unit,
        member_id,
        Permission.WORKFORCE_MANAGE,
        AuditAction.WORKFORCE_MANAGER_SET,
        ("manager_id",),
        extra_check=manager_is_valid,
    )
    act.member.manager_id = manager_id
    unit.session.flush()


def _line_of(unit: Unit, member_id: uuid.UUID) -> list[uuid.UUID]:
    """The managers above a member, nearest first."""
    line: list[uuid.UUID] = []
    current = unit.session.get(Member, member_id)
    while current is not None and current.manager_id is not None and current.manager_id not in line:
        line.append(current.manager_id)
        current = unit.session.get(Member, current.manager_id)
    return line


@dataclass(frozen=True)
class PendingReset:
    id: uuid.UUID
    member_id: uuid.UUID
    username: str
    requested_at: datetime


def list_reset_requests(unit: Unit) -> list[PendingReset]:
    """Pending reset requests the caller may authorize: those of people they manage."""
    unit.guard.allow(
        Permission.DIRECTORY_READ,
        action=AuditAction.WORKFORCE_RESET_LIST,
        resource_type="reset_request",
    )
    rows = unit.session.execute(
        select(ResetRequest, Member.username)
        .join(Member, Member.id == ResetRequest.member_id)
        .join(TenantGrant, TenantGrant.member_id == Member.id)
        .where(TenantGrant.tenant_id == unit.tenant_id, ResetRequest.status == "pending")
        .order_by(ResetRequest.requested_at)
    ).all()
    return [
        PendingReset(r.id, r.member_id, username, r.requested_at)
        for r, username in rows
        if unit.actor.member_id in _line_of(unit, r.member_id)
    ]


def do_authorize_reset(unit: Unit, request_id: uuid.UUID) -> str:
    """A manager in the requester's line authorizes a reset. Returns a one-time reset code
    (valid 24 hours) for the manager to hand over in person or by phone — never by e-mail."""
    request = unit.session.get(ResetRequest, request_id)
    if request is None or request.status != "pending":
        raise unit.guard.not_found(
            Permission.DIRECTORY_READ,
            action=AuditAction.WORKFORCE_RESET_AUTHORIZE,
            resource_type="reset_request",
            resource_id=request_id,
        )
    in_tenant = unit.session.get(TenantGrant, (unit.tenant_id, request.member_id))
    if in_tenant is None or unit.actor.member_id not in _line_of(unit, request.member_id):
        raise unit.guard.refuse(
            Permission.DIRECTORY_READ,
            action=AuditAction.WORKFORCE_RESET_AUTHORIZE,
            resource_type="reset_request",
            resource_id=request_id,
            person_id=None,
            reason="not-in-line",
        )
    # The new password opens the account in every agency it serves: the manager needs
    # standing in each of them (ACC-12).
    act_on_account(
        unit,
        request.member_id,
        Permission.DIRECTORY_READ,
        AuditAction.WORKFORCE_RESET_AUTHORIZE,
        ("status",),
    )
    code = secrets.token_urlsafe(18)
    request.status = "authorized"
    request.authorized_by = unit.actor.member_id
    request.authorized_at = unit.now
    request.token_hash = sessions.digest(code)
    request.expires_at = unit.now + timedelta(hours=RESET_TOKEN_HOURS)
    unit.session.flush()
    return code


MEMBER_FIELDS = (
    "username",
    "display_name",
    "position_id",
    "is_privacy_officer",
    "is_administrator",
    "status",
    "mfa_enrolled",
    "manager_id",
)


@dataclass(frozen=True)
class MemberRow:
    """A workforce member as this tenant's administrators see them (no PHI: workforce
    accounts are not patient data). ``manager`` is named only when the manager has (or had)
    standing here, so another agency's staff are never revealed."""

    id: uuid.UUID
    username: str
    display_name: str
    position_id: uuid.UUID
    position: str
    role_category: str
    access_category: AccessCategory
    privacy_officer: bool
    administrator: bool
    status: str
    standing: str
    mfa_enrolled: bool
    manager_id: uuid.UUID | None
    manager: str | None
    manager_outside: bool


def _member_rows(unit: Unit, member_id: uuid.UUID | None = None) -> list[MemberRow]:
    query = join_role(
        select(TenantGrant, Member, Position.title, RoleCategory.name, RoleCategory.access_category)
        .join(Member, Member.id == TenantGrant.member_id)
        .where(TenantGrant.tenant_id == unit.tenant_id)
    )
    if member_id is not None:
        query = query.where(TenantGrant.member_id == member_id)
    rows = unit.session.execute(query.order_by(Member.display_name, Member.username)).all()
    ids = [member.id for _, member, *_ in rows]
    enrolled = set(
        unit.session.scalars(
            select(TotpCredential.member_id).where(
                TotpCredential.member_id.in_(ids), TotpCredential.confirmed_at.is_not(None)
            )
        )
    ) | set(
        unit.session.scalars(
            select(WebAuthnCredential.member_id).where(WebAuthnCredential.member_id.in_(ids))
        )
    )
    managers = {m.manager_id for _, m, *_ in rows if m.manager_id is not None}
    # Only managers with (or once with) standing here are named (I-5: tenants never mix).
    named: dict[uuid.UUID, str] = {
        manager_id: name
        for manager_id, name in unit.session.execute(
            select(Member.id, Member.display_name)
            .join(TenantGrant, TenantGrant.member_id == Member.id)
            .where(TenantGrant.tenant_id == unit.tenant_id, Member.id.in_(managers))
        )
    }
    return [
        MemberRow(
            id=member.id,
            username=member.username,
            display_name=member.display_name,
            position_id=grant.position_id,
            position=title,
            role_category=role,
            access_category=AccessCategory(category),
            privacy_officer=grant.is_privacy_officer,
            administrator=grant.is_administrator,
            status=member.status,
            standing=grant.status,
            mfa_enrolled=member.id in enrolled,
            manager_id=member.manager_id if member.manager_id in named else None,
            manager=named.get(member.manager_id) if member.manager_id else None,
            manager_outside=member.manager_id is not None and member.manager_id not in named,
        )
        for grant, member, title, role, category in rows
    ]


def list_members(unit: Unit) -> list[MemberRow]:
    """Everyone with (or once with) standing in this tenant, for its administrators.

    Guarded by ``workforce:manage``: account status, second factors and reporting lines are
    administration data, not something every member needs.
    """
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action=AuditAction.WORKFORCE_MEMBER_LIST,
        resource_type="member",
        fields=MEMBER_FIELDS,
    )
    return _member_rows(unit)


def read_member(unit: Unit, member_id: uuid.UUID) -> MemberRow:
    """One member with standing (or former standing) here; anyone else is an audited 404."""
    if unit.session.get(TenantGrant, (unit.tenant_id, member_id)) is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action=AuditAction.WORKFORCE_MEMBER_READ,
            resource_type="member",
            resource_id=member_id,
        )
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action=AuditAction.WORKFORCE_MEMBER_READ,
        resource_type="member",
        resource_id=member_id,
        fields=MEMBER_FIELDS,
    )
    return _member_rows(unit, member_id)[0]


SETTING_RULES: dict[str, tuple[type, Any]] = {
    "password_profile": (str, ("nist", "acs-2003")),
    "password_expiry_days": (int, (30, 90)),
    "password_history": (int, (0, 24)),
    "idle_timeout_minutes": (int, (1, 15)),
    "mfa_required": (bool, None),
    "mfa_reverify_days": (int, (0, 365)),
    "mfa_self_service_reset": (bool, None),
    "break_glass_per_shift": (int, (1, 10)),
    "break_glass_max_minutes": (int, (15, 240)),
}


_KIND_NAMES: dict[type, str] = {int: "a whole number", bool: "true or false", str: "text"}


class InvalidSettings(InvalidInput):
    """Settings outside their bounds; ``problems`` maps each setting to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"'{name}' {problem}" for name, problem in problems.items()))
        self.problems = problems


def settings_problems(changes: dict[str, Any]) -> dict[str, str]:
    """What is wrong with each proposed setting (empty when all are within bounds)."""
    problems: dict[str, str] = {}
    for name, value in changes.items():
        rule = SETTING_RULES.get(name)
        if rule is None:
            problems[name[:40]] = "is not a setting"
            continue
        kind, allowed = rule
        if type(value) is not kind:
            problems[name] = f"must be {_KIND_NAMES.get(kind, kind.__name__)}"
        elif kind is int and not allowed[0] <= value <= allowed[1]:
            problems[name] = f"must be between {allowed[0]} and {allowed[1]}"
        elif kind is str and value not in allowed:
            problems[name] = f"must be one of {', '.join(allowed)}"
    return problems


def _settings(unit: Unit) -> dict[str, Any]:
    row = unit.session.get(TenantSettings, unit.tenant_id)
    assert row is not None
    return {name: getattr(row, name) for name in SETTING_RULES}


def read_settings(unit: Unit) -> dict[str, Any]:
    unit.guard.allow(
        Permission.DIRECTORY_READ, action=AuditAction.SETTINGS_READ, resource_type="settings"
    )
    return _settings(unit)


def read_settings_to_manage(unit: Unit) -> dict[str, Any]:
    """The settings, for someone about to change them (the administration page): guarded by
    ``settings:manage`` so the page is as absent as any other to everyone else."""
    unit.guard.allow(
        Permission.SETTINGS_MANAGE,
        action=AuditAction.SETTINGS_READ,
        resource_type="settings",
        fields=tuple(SETTING_RULES),
    )
    return _settings(unit)


def do_update_settings(unit: Unit, changes: dict[str, Any]) -> dict[str, Any]:
    """Change security settings within their legal bounds (idle timeout never above 15).
    Raises :class:`InvalidSettings` naming every setting out of bounds; nothing changes then."""
    unit.guard.allow(
        Permission.SETTINGS_MANAGE,
        action=AuditAction.SETTINGS_UPDATE,
        resource_type="settings",
        fields=tuple(sorted(changes)),
    )
    problems = settings_problems(changes)
    if problems:
        raise InvalidSettings(problems)
    row = unit.session.get(TenantSettings, unit.tenant_id)
    assert row is not None
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = unit.now
    unit.session.flush()
    if "idle_timeout_minutes" in changes:  # open sessions take a lowered timeout at once
        sessions.lower_idle_timeout(unit.session, unit.tenant_id, row.idle_timeout_minutes * 60)
    return {name: getattr(row, name) for name in SETTING_RULES}


@dataclass(frozen=True)
class ReviewView:
    id: uuid.UUID
    member_id: uuid.UUID
    changed_by: uuid.UUID
    from_position_id: uuid.UUID | None
    to_position_id: uuid.UUID | None
    opened_at: datetime
    status: str  # open | confirmed | revoked ("revoked": kept for the sanctions procedure)
    closed_by: uuid.UUID | None = None
    closed_at: datetime | None = None
    note: str | None = None

    def involves(self, member_id: uuid.UUID) -> bool:
        """Whether ``member_id`` made the change or is its subject: they may not close it."""
        return member_id in (self.member_id, self.changed_by)


def open_access_review(
    unit: Unit, member_id: uuid.UUID, from_position: uuid.UUID | None, to_position: uuid.UUID | None
) -> None:
    """Called by grant changes: the privacy officer must confirm the new access (ACC-9)."""
    unit.session.add(
        AccessReview(
            tenant_id=unit.tenant_id,
            id=uuid.uuid4(),
            member_id=member_id,
            changed_by=unit.actor.member_id,
            from_position_id=from_position,
            to_position_id=to_position,
            opened_at=unit.now,
            status="open",
        )
    )


def list_access_reviews(unit: Unit, status: str | None = "open") -> list[ReviewView]:
    """Reviews in this agency, by status (None: all). A closed review keeps who closed it,
    when, the decision and the note; "revoked" ones are what the sanctions procedure reads."""
    unit.guard.allow(
        Permission.ACCESS_REVIEW,
        action=AuditAction.ACCESS_REVIEW_LIST,
        resource_type="access_review",
        fields=("note",) if status != "open" else (),
    )
    query = select(AccessReview).where(AccessReview.tenant_id == unit.tenant_id)
    if status:
        query = query.where(AccessReview.status == status)
    return [
        ReviewView(
            r.id,
            r.member_id,
            r.changed_by,
            r.from_position_id,
            r.to_position_id,
            r.opened_at,
            r.status,
            r.closed_by,
            r.closed_at,
            unit.cipher.decrypt_text("access_reviews", "note", r.id, r.note_ct)
            if r.note_ct
            else None,
        )
        for r in unit.session.scalars(query.order_by(AccessReview.opened_at))
    ]


def do_close_access_review(unit: Unit, review_id: uuid.UUID, outcome: str, note: str = "") -> None:
    """Confirm the access, or revoke the member's standing here (and cut them off). Nobody
    closes a review of their own access or of a change they made (separation of duties);
    the guard decides before the review is looked at."""
    decision = unit.guard.check(
        Permission.ACCESS_REVIEW,
        action=AuditAction.ACCESS_REVIEW_CLOSE,
        resource_type="access_review",
        resource_id=review_id,
    )
    review = unit.session.get(AccessReview, (unit.tenant_id, review_id))
    if review is None or review.status != "open":
        raise unit.guard.not_found(
            Permission.ACCESS_REVIEW,
            action=AuditAction.ACCESS_REVIEW_CLOSE,
            resource_type="access_review",
            resource_id=review_id,
        )
    if unit.actor.member_id in (review.member_id, review.changed_by):
        raise unit.guard.refuse(
            Permission.ACCESS_REVIEW,
            action=AuditAction.ACCESS_REVIEW_CLOSE,
            resource_type="access_review",
            resource_id=review_id,
            person_id=None,
            reason="own-act",
            error=Conflict("nobody reviews their own access or a change they made"),
        )
    if outcome not in ("confirmed", "revoked"):
        raise InvalidInput("'outcome' must be 'confirmed' or 'revoked'")
    if len(note) > 2000:
        raise InvalidInput("the note is longer than 2000 characters")
    unit.guard.record(decision, ("status", "note") if note else ("status",))
    review.status, review.closed_by, review.closed_at = outcome, unit.actor.member_id, unit.now
    if note:
        review.note_ct = unit.cipher.encrypt_text("access_reviews", "note", review.id, note)
    if outcome == "revoked":
        grant = unit.session.get(TenantGrant, (unit.tenant_id, review.member_id))
        if grant is not None:
            end_standing_here(unit, grant, "access-review")
    unit.session.flush()
