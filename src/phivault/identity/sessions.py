"""Server-side sessions (AUTH-6): idle timeout, absolute lifetime, fresh re-authentication,
instant revocation (AUTH-8), remembered MFA devices (AUTH-5)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from phivault.errors import ReauthRequired, Unauthenticated
from phivault.identity.models import ApiToken, Member, TenantGrant
from phivault.identity.policy import ABSOLUTE_SESSION_HOURS, MemberPolicy
from phivault.identity.session_models import LoginSession, RememberedDevice

SESSION_COOKIE = "phivault_session"
DEVICE_COOKIE = "phivault_device"
FRESH_AUTH = timedelta(minutes=5)
# Writing last_seen on every request would make every read a write; a few seconds of slack
# cannot stretch a 5-15 minute idle timeout meaningfully.
TOUCH_EVERY = timedelta(seconds=15)
SESSION_EXPIRED = "your session has ended; sign in again"
# Invited members sign in only to set their own password; the guard still refuses them PHI.
SIGN_IN_STATUSES = ("invited", "active")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def open_session(
    session: Session,
    member: Member,
    policy: MemberPolicy,
    *,
    now: datetime,
    source: str,
    user_agent: str,
    mfa_verified: bool,
) -> tuple[LoginSession, str]:
    """Start a session after a correct password. Returns the row and the cookie secret."""
    secret = new_secret()
    row = LoginSession(
        id=uuid.uuid4(),
        secret_hash=digest(secret),
        member_id=member.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=ABSOLUTE_SESSION_HOURS),
        idle_seconds=policy.idle_minutes * 60,
        password_verified_at=now,
        mfa_verified_at=now if mfa_verified else None,
        fresh_auth_at=now,
        csrf_token=secrets.token_urlsafe(32),
        source=source[:64],
        user_agent=user_agent[:200],
        revoked_reason="",
    )
    session.add(row)
    session.flush()
    return row, secret


def rotate_secret(session: Session, login: LoginSession) -> str:
    """Give a session a new cookie secret (at a password change and at the second factor), so
    that a secret planted or seen before that step no longer opens the session."""
    secret = new_secret()
    login.secret_hash = digest(secret)
    session.flush()
    return secret


@dataclass(frozen=True)
class Resolved:
    login: LoginSession
    member: Member


def resolve(session: Session, secret: str, now: datetime) -> Resolved:
    """The live session behind a cookie, or Unauthenticated. An idle or expired session is
    revoked on the spot, and so is one whose member is no longer active."""
    if not secret or len(secret) > 100:
        raise Unauthenticated(SESSION_EXPIRED)
    row = session.scalar(select(LoginSession).where(LoginSession.secret_hash == digest(secret)))
    if row is None or row.revoked_at is not None:
        raise Unauthenticated(SESSION_EXPIRED)
    member = session.get(Member, row.member_id)
    reason = ""
    if member is None or member.status not in SIGN_IN_STATUSES:
        reason = "member-inactive"
    elif now >= row.expires_at:
        reason = "absolute-timeout"
    elif now - row.last_seen_at > timedelta(seconds=row.idle_seconds):
        reason = "idle-timeout"
    if reason:
        row.revoked_at, row.revoked_reason = now, reason
        session.flush()
        raise Unauthenticated(SESSION_EXPIRED)
    assert member is not None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return Resolved(row, member)


def require_fresh(login: LoginSession, now: datetime) -> None:
    """Break-glass, exports, key rotation and user administration need a recent proof."""
    if now - login.fresh_auth_at > FRESH_AUTH:
        raise ReauthRequired("confirm your password or second factor to continue")


def revoke_member_sessions(
    session: Session, member_id: uuid.UUID, now: datetime, reason: str
) -> int:
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.member_id == member_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    session.execute(
        update(RememberedDevice)
        .where(RememberedDevice.member_id == member_id, RememberedDevice.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lower_idle_timeout(session: Session, tenant_id: uuid.UUID, idle_seconds: int) -> int:
    """An agency lowered its idle timeout: the open sessions of its members take it at once,
    so their next request is judged by it (a member lives under the shortest timeout of their
    agencies; a raised timeout waits for the next sign-in)."""
    members = select(TenantGrant.member_id).where(
        TenantGrant.tenant_id == tenant_id, TenantGrant.status == "active"
    )
    result = session.execute(
        update(LoginSession)
        .where(
            LoginSession.member_id.in_(members),
            LoginSession.revoked_at.is_(None),
            LoginSession.idle_seconds > idle_seconds,
        )
        .values(idle_seconds=idle_seconds)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def revoke_member_tokens(session: Session, member_id: uuid.UUID, now: datetime) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.member_id == member_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cut_off(session: Session, member_id: uuid.UUID, now: datetime, reason: str) -> tuple[int, int]:
    """Revoke every session, remembered device and API token of a member (AUTH-8)."""
    return (
        revoke_member_sessions(session, member_id, now, reason),
        revoke_member_tokens(session, member_id, now),
    )


def remember_device(
    session: Session, member_id: uuid.UUID, policy: MemberPolicy, now: datetime
) -> str | None:
    """Remember this browser's MFA for the policy's N days (none when N is 0: every login)."""
    if policy.mfa_reverify_days <= 0:
        return None
    secret = new_secret()
    session.add(
        RememberedDevice(
            id=uuid.uuid4(),
            member_id=member_id,
            secret_hash=digest(secret),
            created_at=now,
            expires_at=now + timedelta(days=policy.mfa_reverify_days),
        )
    )
    session.flush()
    return secret


def device_remembered(
    session: Session, member_id: uuid.UUID, secret: str | None, policy: MemberPolicy, now: datetime
) -> bool:
    if not secret or policy.mfa_reverify_days <= 0 or len(secret) > 100:
        return False
    row = session.scalar(
        select(RememberedDevice).where(RememberedDevice.secret_hash == digest(secret))
    )
    return (
        row is not None
        and row.member_id == member_id
        and row.revoked_at is None
        and row.expires_at > now
        # The device is trusted for N days from when MFA was done, even if the policy tightened.
        and now - row.created_at <= timedelta(days=policy.mfa_reverify_days)
    )
