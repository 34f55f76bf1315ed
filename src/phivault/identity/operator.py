"""Account administration by the operator (the ``phivault user`` and ``phivault sessions``
commands). The operator holds the keys and the database, so these bypass tenant standing, but
every change is chained in the audit log like any other."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.models import Position
from phivault.access.unit import Actor
from phivault.audit.actions import AuditAction
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import Conflict, InvalidInput, NotFound
from phivault.identity import passwords, sessions
from phivault.identity.credentials import PasswordCredential
from phivault.identity.models import Member, TenantGrant
from phivault.identity.service import create_member, grant_access
from phivault.identity.session_models import LoginSession
from phivault.tenancy.models import Tenant
from phivault.vault import Vault

OPERATOR = Actor(member_id=SYSTEM_TENANT, source="cli", request_id="operator")


OPERATOR_STATUS_ACTIONS = {
    "active": AuditAction.MEMBER_ACTIVE,
    "suspended": AuditAction.MEMBER_SUSPENDED,
    "terminated": AuditAction.MEMBER_TERMINATED,
}


def _member(db: Session, username: str) -> Member:
    member = db.scalar(select(Member).where(Member.username == username.strip().lower()))
    if member is None:
        raise NotFound(f"no member '{username[:120]}'")
    return member


@dataclass(frozen=True)
class NewAccount:
    member_id: uuid.UUID
    username: str
    initial_password: str


def add_user(
    vault: Vault,
    *,
    username: str,
    display_name: str,
    tenant_slug: str,
    position: str,
    privacy_officer: bool = False,
    administrator: bool = False,
    manager: str | None = None,
) -> NewAccount:
    """Create an invited member with standing in a tenant and a one-time initial password."""
    now = vault.clock()
    with vault.db.transaction(Scope.everything()) as db:
        tenant = db.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        if tenant is None:
            raise NotFound(f"no tenant '{tenant_slug[:64]}'")
        position_id = db.scalar(
            select(Position.id).where(Position.tenant_id == tenant.id, Position.title == position)
        )
        if position_id is None:
            raise InvalidInput(f"tenant '{tenant_slug}' has no position '{position[:120]}'")
        member = create_member(
            db, username=username, display_name=display_name, now=now, status="invited"
        )
        if manager:
            boss = _member(db, manager)
            if db.get(TenantGrant, (tenant.id, boss.id)) is None:
                raise InvalidInput("the manager must have standing in the same tenant")
            member.manager_id = boss.id
        grant_access(
            db,
            tenant_id=tenant.id,
            member_id=member.id,
            position_id=position_id,
            now=now,
            privacy_officer=privacy_officer,
            administrator=administrator,
        )
        initial = passwords.generate_initial_password()
        db.add(
            PasswordCredential(
                member_id=member.id,
                hash=passwords.hash_password(initial),
                changed_at=now,
                must_change=True,
            )
        )
        vault.setup_event(db, SYSTEM_TENANT, AuditAction.MEMBER_CREATE, OPERATOR, member.id)
        vault.setup_event(
            db,
            tenant.id,
            AuditAction.WORKFORCE_GRANT,
            OPERATOR,
            member.id,
            ("position_id", "is_privacy_officer", "is_administrator"),
        )
        return NewAccount(member.id, member.username, initial)


def set_status(vault: Vault, username: str, status: str) -> tuple[int, int]:
    """Suspend, terminate or reinstate an account everywhere. Returns (sessions, tokens)
    revoked."""
    if status not in ("active", "suspended", "terminated"):
        raise InvalidInput("status must be active, suspended or terminated")
    now = vault.clock()
    with vault.db.transaction(Scope.everything()) as db:
        member = _member(db, username)
        if member.status == "terminated":
            raise Conflict("a terminated account stays terminated")
        member.status, member.status_changed_at = status, now
        revoked = (0, 0)
        if status != "active":
            revoked = sessions.cut_off(db, member.id, now, f"member-{status}")
        if status == "terminated":
            for grant in db.scalars(select(TenantGrant).where(TenantGrant.member_id == member.id)):
                grant.status = "revoked"
        vault.setup_event(
            db, SYSTEM_TENANT, OPERATOR_STATUS_ACTIONS[status], OPERATOR, member.id, ("status",)
        )
        return revoked


def _line(db: Session, member: Member) -> list[uuid.UUID]:
    line: list[uuid.UUID] = []
    current: Member | None = member
    while current is not None and current.manager_id and current.manager_id not in line:
        line.append(current.manager_id)
        current = db.get(Member, current.manager_id)
    return line


def reset_password(vault: Vault, username: str, authorized_by: str | None) -> str:
    """A new initial password (AUTH-4), authorized by a named manager in the member's line.
    Someone at the top of a line (no manager) is reset on the operator's own authority.
    Every session and token of the member ends; they change the password at next sign-in."""
    now = vault.clock()
    with vault.db.transaction(Scope.everything()) as db:
        member = _member(db, username)
        line = _line(db, member)
        manager = _member(db, authorized_by) if authorized_by else None
        if (manager is None and line) or (manager is not None and manager.id not in line):
            vault.setup_event(
                db,
                SYSTEM_TENANT,
                AuditAction.MEMBER_PASSWORD_RESET,
                OPERATOR,
                member.id,
                ("authorized_by",),
                outcome="refused",
            )
            refused = True
        else:
            refused = False
            initial = passwords.generate_initial_password()
            credential = db.get(PasswordCredential, member.id)
            if credential is None:
                db.add(
                    PasswordCredential(
                        member_id=member.id,
                        changed_at=now,
                        must_change=True,
                        hash=passwords.hash_password(initial),
                    )
                )
            else:
                credential.hash = passwords.hash_password(initial)
                credential.changed_at, credential.must_change = now, True
            sessions.cut_off(db, member.id, now, "password-reset")
            authority = Actor(member_id=manager.id, source="cli") if manager else OPERATOR
            vault.setup_event(
                db,
                SYSTEM_TENANT,
                AuditAction.MEMBER_PASSWORD_RESET,
                authority,
                member.id,
                ("password",),
            )
    if refused:
        raise InvalidInput(
            f"a manager in {username}'s reporting line must authorize the reset "
            "(--authorized-by); only someone without a manager is reset on the operator's word"
        )
    return initial


def set_manager(vault: Vault, username: str, manager: str | None) -> None:
    """Record (or clear) who is in a member's reporting line."""
    with vault.db.transaction(Scope.everything()) as db:
        member = _member(db, username)
        boss = _member(db, manager) if manager else None
        if boss is not None and (boss.id == member.id or member.id in _line(db, boss)):
            raise InvalidInput("that would make a loop in the reporting line")
        member.manager_id = boss.id if boss else None
        vault.setup_event(
            db,
            SYSTEM_TENANT,
            AuditAction.WORKFORCE_MANAGER_SET,
            OPERATOR,
            member.id,
            ("manager_id",),
        )


@dataclass(frozen=True)
class SessionInfo:
    id: uuid.UUID
    username: str
    created_at: datetime
    last_seen_at: datetime
    source: str


def list_sessions(vault: Vault, username: str | None) -> list[SessionInfo]:
    now = vault.clock()
    with vault.db.transaction(Scope.everything()) as db:
        query = (
            select(LoginSession, Member.username)
            .join(Member, Member.id == LoginSession.member_id)
            .where(LoginSession.revoked_at.is_(None), LoginSession.expires_at > now)
        )
        if username:
            query = query.where(Member.username == username.strip().lower())
        return [
            SessionInfo(s.id, name, s.created_at, s.last_seen_at, s.source)
            for s, name in db.execute(query.order_by(LoginSession.created_at))
        ]


def revoke_sessions(vault: Vault, *, username: str | None, session_id: uuid.UUID | None) -> int:
    now = vault.clock()
    with vault.db.transaction(Scope.everything()) as db:
        if username:
            member = _member(db, username)
            count = sessions.revoke_member_sessions(db, member.id, now, "revoked-by-operator")
            vault.setup_event(
                db, SYSTEM_TENANT, AuditAction.AUTH_SESSION_REVOKE, OPERATOR, member.id
            )
            return count
        row = db.get(LoginSession, session_id) if session_id else None
        if row is None or row.revoked_at is not None:
            raise NotFound("no such open session")
        row.revoked_at, row.revoked_reason = now, "revoked-by-operator"
        vault.setup_event(
            db, SYSTEM_TENANT, AuditAction.AUTH_SESSION_REVOKE, OPERATOR, row.member_id
        )
        return 1
