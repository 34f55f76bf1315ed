"""Workforce accounts, tenant grants and API tokens.

Until the identity issue adds passwords and MFA, integrations and tests authenticate with
per-member API tokens: ``pvt_`` + 32 random bytes, shown once, stored as SHA-256 (a fast hash
is right for high-entropy secrets; passwords will get argon2id).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.models import Position
from phivault.access.policy import Permission
from phivault.access.unit import Unit
from phivault.errors import Conflict, InvalidInput, Unauthenticated
from phivault.identity.models import ApiToken, Member, TenantGrant

TOKEN_PREFIX = "pvt_"  # noqa: S105 - a public prefix, not a secret
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,119}$")


@dataclass(frozen=True)
class TokenIdentity:
    member_id: uuid.UUID
    token_id: uuid.UUID
    is_platform_admin: bool


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_member(
    session: Session,
    *,
    username: str,
    display_name: str,
    now: datetime,
    platform_admin: bool = False,
) -> Member:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("'username' must be 2-120 characters: letters, digits, . _ @ -")
    if not display_name.strip() or len(display_name) > 200:
        raise InvalidInput("'display_name' must be 1 to 200 characters")
    if session.scalar(select(Member.id).where(Member.username == username)) is not None:
        raise Conflict("that username is taken")
    member = Member(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name.strip(),
        status="active",
        is_platform_admin=platform_admin,
        created_at=now,
    )
    session.add(member)
    session.flush()
    return member


def issue_token(
    session: Session,
    *,
    member_id: uuid.UUID,
    label: str,
    now: datetime,
    lifetime: timedelta | None = timedelta(days=90),
) -> str:
    """Create an API token and return its secret: the only time it is ever visible."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            id=uuid.uuid4(),
            member_id=member_id,
            secret_hash=hash_token(token),
            label=label[:120],
            created_at=now,
            expires_at=now + lifetime if lifetime else None,
            revoked_at=None,
        )
    )
    session.flush()
    return token


def authenticate_token(session: Session, token: str, now: datetime) -> TokenIdentity:
    """Resolve a bearer token, refusing unknown, expired, revoked and inactive ones alike."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("invalid or expired credentials")
    row = session.execute(
        select(
            ApiToken.id,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            Member.id,
            Member.status,
            Member.is_platform_admin,
        )
        .join(Member, Member.id == ApiToken.member_id)
        .where(ApiToken.secret_hash == hash_token(token))
    ).first()
    if row is None or row[2] is not None or row[4] != "active":
        raise Unauthenticated("invalid or expired credentials")
    if row[1] is not None and row[1] <= now:
        raise Unauthenticated("invalid or expired credentials")
    return TokenIdentity(member_id=row[3], token_id=row[0], is_platform_admin=row[5])


def grant_access(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    position_id: uuid.UUID,
    now: datetime,
    privacy_officer: bool = False,
    administrator: bool = False,
) -> None:
    session.add(
        TenantGrant(
            tenant_id=tenant_id,
            member_id=member_id,
            position_id=position_id,
            is_privacy_officer=privacy_officer,
            is_administrator=administrator,
            status="active",
            granted_at=now,
        )
    )
    session.flush()


def _not_self(unit: Unit, member_id: uuid.UUID) -> None:
    if member_id == unit.actor.member_id:
        raise Conflict("nobody changes their own standing; ask another administrator")


def do_grant(
    unit: Unit,
    *,
    member_id: uuid.UUID,
    position_id: uuid.UUID,
    privacy_officer: bool = False,
    administrator: bool = False,
) -> None:
    """Give a workforce member standing in the unit's tenant (privacy officer or admin).

    Nobody changes their own standing: an administrator cannot promote themselves to Full
    access or privacy-officer duty; a second administrator must do it (separation of duties).
    """
    _not_self(unit, member_id)
    if unit.session.get(Member, member_id) is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action="workforce.grant",
            resource_type="member",
            resource_id=member_id,
        )
    if unit.session.get(Position, (unit.tenant_id, position_id)) is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action="workforce.grant",
            resource_type="position",
            resource_id=position_id,
        )
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action="workforce.grant",
        resource_type="member",
        resource_id=member_id,
        fields=("position_id", "is_privacy_officer", "is_administrator"),
    )
    existing = unit.session.get(TenantGrant, (unit.tenant_id, member_id))
    if existing is not None:
        existing.position_id = position_id
        existing.is_privacy_officer = privacy_officer
        existing.is_administrator = administrator
        existing.status = "active"
        unit.session.flush()
        return
    grant_access(
        unit.session,
        tenant_id=unit.tenant_id,
        member_id=member_id,
        position_id=position_id,
        now=unit.now,
        privacy_officer=privacy_officer,
        administrator=administrator,
    )


def do_revoke_grant(unit: Unit, *, member_id: uuid.UUID) -> None:
    _not_self(unit, member_id)
    grant = unit.session.get(TenantGrant, (unit.tenant_id, member_id))
    if grant is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action="workforce.revoke",
            resource_type="member",
            resource_id=member_id,
        )
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action="workforce.revoke",
        resource_type="member",
        resource_id=member_id,
        fields=("status",),
    )
    grant.status = "revoked"
    unit.session.flush()


def do_add_member(
    unit: Unit,
    *,
    username: str,
    display_name: str,
    position_id: uuid.UUID,
    privacy_officer: bool = False,
    administrator: bool = False,
) -> tuple[Member, str]:
    """Create a workforce member with standing in the unit's tenant and a first API token.

    The permission is checked before anything else, so that refused callers cannot probe
    which usernames exist.
    """
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action="workforce.member.add",
        resource_type="member",
        fields=("username", "display_name"),
        named=False,
    )
    member = create_member(unit.session, username=username, display_name=display_name, now=unit.now)
    do_grant(
        unit,
        member_id=member.id,
        position_id=position_id,
        privacy_officer=privacy_officer,
        administrator=administrator,
    )
    token = issue_token(
        unit.session, member_id=member.id, label="created by administrator", now=unit.now
    )
    return member, token
