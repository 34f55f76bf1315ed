"""Re-authentication, session listing and password resets (AUTH-4, AUTH-6).

A reset is authorized by a manager in the requester's reporting line, who receives a one-time
code to hand over in person; or, where every tenant of the member allows it, by the member's
own second factor. Every step is audited; requests for unknown usernames look the same as for
known ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, REFUSED
from phivault.crypto.keyring import IDENTITY_KEY_NAME
from phivault.errors import InvalidInput
from phivault.identity import passwords, sessions, throttle, totp
from phivault.identity.auth import (
    Client,
    SessionView,
    audit,
    count_failure,
    describe,
    identity_transaction,
    session_throttle_keys,
    set_password,
)
from phivault.identity.credentials import PasswordCredential
from phivault.identity.models import Member
from phivault.identity.policy import member_policy
from phivault.identity.session_models import LoginSession, ResetRequest
from phivault.vault import Vault

RESET_FAILED = "that reset code is not valid or has expired"
NO_MEMBER = uuid.UUID(int=0)  # matches no member: the lookup for an unknown username


def reauthenticate(
    vault: Vault,
    resolved: sessions.Resolved,
    *,
    password: str | None,
    code: str | None,
    client: Client,
) -> SessionView:
    """Refresh the session's proof of identity with the password or a TOTP code."""
    now = vault.clock()
    with identity_transaction(vault) as db:
        keys = session_throttle_keys(vault, db, resolved.member.username, client)
        throttle.check(db, keys, now)
        credential = db.get(PasswordCredential, resolved.member.id)
        if password is not None:
            ok = credential is not None and passwords.verify_password(credential.hash, password)
            method = "password"
        elif code is not None:
            ok = totp.verify_code(db, vault.keyring, resolved.member.id, code, now=now)
            method = "totp"
        else:
            raise InvalidInput("give your password or a code from your authenticator")
        if ok:
            login = db.get(LoginSession, resolved.login.id)
            member = db.get(Member, resolved.member.id)
            assert login is not None and member is not None
            login.fresh_auth_at = now
            audit(
                vault,
                db,
                AuditAction.AUTH_REAUTH,
                ALLOWED,
                client,
                member_id=member.id,
                session_id=login.id,
                fields=(method,),
            )
            return describe(db, login, member, now)
        count_failure(vault, db, keys, client, resolved.member.id)
        audit(
            vault,
            db,
            AuditAction.AUTH_REAUTH,
            REFUSED,
            client,
            member_id=resolved.member.id,
            session_id=resolved.login.id,
            reason="bad-credentials",
            fields=(method,),
        )
    raise InvalidInput("that did not match")


def list_sessions(db: Session, member_id: Any, now: datetime) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(LoginSession)
        .where(
            LoginSession.member_id == member_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
        .order_by(LoginSession.created_at.desc())
    )
    return [
        {
            "id": r.id,
            "created_at": r.created_at,
            "last_seen_at": r.last_seen_at,
            "expires_at": r.expires_at,
            "source": r.source,
            "user_agent": r.user_agent,
            "mfa_verified": r.mfa_verified_at is not None,
        }
        for r in rows
    ]


def request_reset(vault: Vault, username: str, client: Client) -> None:
    """Record a reset request for the member's managers to authorize (or do nothing)."""
    now = vault.clock()
    with identity_transaction(vault) as db:
        budget = (
            throttle.reset_key(vault.keyring.system_key(db, IDENTITY_KEY_NAME), client.source),
        )
        throttle.check(db, budget, now)  # per source: stops request floods
        # Every request counts, known username or not, before the name is even looked up:
        # how soon a source is throttled must not tell which names exist.
        throttle.record_failure(db, budget, now)
        member = db.scalar(select(Member).where(Member.username == username.strip().lower()))
        known = member is not None and member.status in sessions.SIGN_IN_STATUSES
        # The same queries either way (a pending request is looked up for an unknown name
        # too), so the answer's timing says as little as its text.
        pending = db.scalar(
            select(ResetRequest.id).where(
                ResetRequest.member_id == (member.id if known and member else NO_MEMBER),
                ResetRequest.status == "pending",
            )
        )
        if not known or member is None:
            audit(
                vault,
                db,
                AuditAction.AUTH_RESET_REQUEST,
                REFUSED,
                client,
                reason="unknown-or-inactive",
            )
            return
        if pending is None:
            db.add(ResetRequest(member_id=member.id, requested_at=now, status="pending"))
        audit(vault, db, AuditAction.AUTH_RESET_REQUEST, ALLOWED, client, member_id=member.id)


def complete_reset(vault: Vault, code: str, new_password: str, client: Client) -> None:
    """Use a manager-authorized reset code: new password; every session and API token of the
    member ends (a reset means the old secret may be known to someone else)."""
    now = vault.clock()
    with identity_transaction(vault) as db:
        key = vault.keyring.system_key(db, IDENTITY_KEY_NAME)
        source_key = throttle.keys_for(key, username="", source=client.source).source
        throttle.check(db, (source_key,), now)
        request = (
            db.scalar(select(ResetRequest).where(ResetRequest.token_hash == sessions.digest(code)))
            if code and len(code) < 100
            else None
        )
        valid = (
            request is not None
            and request.status == "authorized"
            and request.used_at is None
            and request.expires_at is not None
            and request.expires_at > now
        )
        if not valid:
            throttle.record_failure(db, (source_key,), now)
            audit(vault, db, AuditAction.AUTH_RESET_COMPLETE, REFUSED, client, reason="bad-code")
    if not valid:
        raise InvalidInput(RESET_FAILED)
    with identity_transaction(vault) as db:
        request = db.scalar(
            select(ResetRequest).where(ResetRequest.token_hash == sessions.digest(code))
        )
        assert request is not None
        member = db.get(Member, request.member_id)
        assert member is not None
        set_password(db, member, new_password, member_policy(db, member.id), now)
        request.status, request.used_at = "used", now
        sessions.cut_off(db, member.id, now, "password-reset")
        audit(
            vault,
            db,
            AuditAction.AUTH_RESET_COMPLETE,
            ALLOWED,
            client,
            member_id=member.id,
            actor_id=member.id,
            fields=("password",),
        )


def self_service_reset(
    vault: Vault, username: str, code: str, new_password: str, client: Client
) -> None:
    """Reset with the member's TOTP code, where every tenant of theirs allows self-service."""
    now = vault.clock()
    with identity_transaction(vault) as db:
        key = vault.keyring.system_key(db, IDENTITY_KEY_NAME)
        keys = throttle.keys_for(key, username=username, source=client.source).all
        throttle.check(db, keys, now)
        member = db.scalar(select(Member).where(Member.username == username.strip().lower()))
        allowed = (
            member is not None
            and member.status in sessions.SIGN_IN_STATUSES
            and member_policy(db, member.id).self_service_reset
            and totp.verify_code(db, vault.keyring, member.id, code, now=now)
        )
        if not allowed:
            throttle.record_failure(db, keys, now)
            audit(
                vault,
                db,
                AuditAction.AUTH_RESET_SELF,
                REFUSED,
                client,
                member_id=member.id if member else None,
                reason="not-allowed-or-bad-code",
            )
    if not allowed:
        raise InvalidInput("self-service reset is not available with that code")
    assert member is not None
    with identity_transaction(vault) as db:
        member_row = db.get(Member, member.id)
        assert member_row is not None
        set_password(db, member_row, new_password, member_policy(db, member_row.id), now)
        sessions.cut_off(db, member_row.id, now, "password-reset")
        audit(
            vault,
            db,
            AuditAction.AUTH_RESET_SELF,
            ALLOWED,
            client,
            member_id=member_row.id,
            fields=("password",),
        )
