"""Sign-in flows: password, second factor, password change, re-authentication, sign-out.

Every step — success or failure — is chained in the system audit log (AUTH-7). Unknown users
are checked against a dummy hash so that timing does not tell them apart from known ones.
Messages never say which of username and password was wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.unit import Assurance
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, REFUSED, EventDraft
from phivault.crypto.keyring import IDENTITY_KEY_NAME
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import InvalidInput, MfaRequired, TooManyAttempts, Unauthenticated
from phivault.identity import passwords, sessions, throttle, totp
from phivault.identity.credentials import PasswordCredential, PasswordHistory
from phivault.identity.models import Member
from phivault.identity.policy import MemberPolicy, member_policy
from phivault.identity.session_models import LoginSession
from phivault.vault import Vault

BAD_CREDENTIALS = "wrong username or password"
PASSWORD_CHANGE = "password-change-required"  # noqa: S105 - a stage name
MFA_ENROL = "mfa-enrolment-required"
MFA_VERIFY = "mfa-required"
COMPLETE = "complete"


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for the audit trail and throttling."""

    source: str = ""
    user_agent: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class SessionView:
    session_id: uuid.UUID
    member_id: uuid.UUID
    username: str
    display_name: str
    stage: str
    csrf_token: str
    idle_seconds: int
    expires_at: datetime
    password_expires_in_days: int | None
    mfa_enrolled: bool
    assurance: Assurance
    # Set when this step gave the session a new secret (password change, second factor):
    # the caller sets it as the new cookie; the old one no longer works.
    session_secret: str | None = None


@dataclass(frozen=True)
class SignedIn:
    view: SessionView
    secret: str


def audit(
    vault: Vault,
    db: Session,
    action: AuditAction,
    outcome: str,
    client: Client,
    *,
    member_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    reason: str = "",
    fields: tuple[str, ...] = (),
) -> None:
    """Chain an identity event in the system log (IDs and codes only)."""
    vault.append_in(
        db,
        EventDraft(
            tenant_id=SYSTEM_TENANT,
            action=action,
            outcome=outcome,
            occurred_at=vault.clock(),
            actor_id=actor_id or member_id,
            session_id=f"session:{session_id}" if session_id else "",
            resource_type="member",
            resource_id=member_id,
            reason=reason,
            fields=fields,
            source=client.source[:64],
            request_id=client.request_id,
        ),
    )


@contextmanager
def identity_transaction(vault: Vault) -> Iterator[Session]:
    """Identity work reads several tenants' settings and platform tables, never PHI."""
    with vault.db.transaction(Scope.everything()) as db:
        yield db


NO_EXPIRY = datetime(9999, 1, 1, tzinfo=UTC)


def password_ok_until(
    db: Session, member_id: uuid.UUID, policy: MemberPolicy, now: datetime
) -> datetime | None:
    """Until when the member's password is settled; None if it must be changed now."""
    credential = db.get(PasswordCredential, member_id)
    if credential is None or credential.must_change:
        return None
    expires = passwords.expiry(credential.changed_at, policy.password_rules) or NO_EXPIRY
    return expires if now < expires else None


def session_assurance(login: LoginSession, now: datetime) -> Assurance:
    settled = login.password_ok_until is not None and now < login.password_ok_until
    return Assurance(password_ok=settled, mfa=login.mfa_verified_at is not None)


def describe(
    db: Session,
    login: LoginSession,
    member: Member,
    now: datetime,
    policy: MemberPolicy | None = None,
) -> SessionView:
    """Where the session stands: what the person must do next before reaching PHI."""
    policy = policy or member_policy(db, member.id)
    login.password_ok_until = password_ok_until(db, member.id, policy, now)
    password_ok = session_assurance(login, now).password_ok
    credential = db.get(PasswordCredential, member.id)
    warning = (
        passwords.expiry_warning(credential.changed_at, now, policy.password_rules)
        if credential is not None and password_ok
        else None
    )
    enrolled = totp.has_confirmed_mfa(db, member.id)
    mfa_done = login.mfa_verified_at is not None
    if enrolled and not mfa_done:
        # An enrolled second factor comes before anything else, a password change included:
        # knowing (or having been handed) the password alone changes no credential.
        stage = MFA_VERIFY
    elif not password_ok:
        stage = PASSWORD_CHANGE
    elif policy.mfa_required and not enrolled:
        stage = MFA_ENROL
    elif (policy.mfa_required or enrolled) and not mfa_done:
        stage = MFA_VERIFY
    else:
        stage = COMPLETE
    return SessionView(
        session_id=login.id,
        member_id=member.id,
        username=member.username,
        display_name=member.display_name,
        stage=stage,
        csrf_token=login.csrf_token,
        idle_seconds=login.idle_seconds,
        expires_at=login.expires_at,
        password_expires_in_days=warning,
        mfa_enrolled=enrolled,
        assurance=session_assurance(login, now),
    )


def sign_in(
    vault: Vault, *, username: str, password: str, client: Client, device_secret: str | None
) -> SignedIn:
    """Check a password and open a session, or count a failure and refuse."""
    now = vault.clock()
    name = username.strip().lower()
    with identity_transaction(vault) as db:
        key = vault.keyring.system_key(db, IDENTITY_KEY_NAME)
        keys = throttle.keys_for(key, username=name, source=client.source)
        try:
            throttle.check(db, keys.all, now)
        except TooManyAttempts as locked_out:
            # Audited in this transaction, which commits; the refusal is raised after it.
            lockout: TooManyAttempts | None = locked_out
            member_id = db.scalar(select(Member.id).where(Member.username == name))
            audit(
                vault,
                db,
                AuditAction.AUTH_LOGIN,
                REFUSED,
                client,
                member_id=member_id,
                reason="locked",
            )
            ok, member, credential = False, None, None
        else:
            lockout = None
            member, credential, ok = _check_password(vault, db, name, password, keys, client, now)
    if lockout is not None:
        raise lockout
    if not ok:
        raise Unauthenticated(BAD_CREDENTIALS)
    assert member is not None and credential is not None
    with identity_transaction(vault) as db:
        throttle.record_success(db, keys)
        member = db.get(Member, member.id)
        credential = db.get(PasswordCredential, member.id) if member else None
        assert member is not None and credential is not None
        if passwords.needs_rehash(credential.hash):
            credential.hash = passwords.hash_password(password)
        policy = member_policy(db, member.id)
        remembered = sessions.device_remembered(db, member.id, device_secret, policy, now)
        login, secret = sessions.open_session(
            db,
            member,
            policy,
            now=now,
            source=client.source,
            user_agent=client.user_agent,
            mfa_verified=remembered and totp.has_confirmed_mfa(db, member.id),
        )
        audit(
            vault,
            db,
            AuditAction.AUTH_LOGIN,
            ALLOWED,
            client,
            member_id=member.id,
            session_id=login.id,
            fields=("password", "remembered-device") if login.mfa_verified_at else ("password",),
        )
        return SignedIn(describe(db, login, member, now, policy), secret)


def _check_password(
    vault: Vault,
    db: Session,
    name: str,
    password: str,
    keys: throttle.Keys,
    client: Client,
    now: datetime,
) -> tuple[Member | None, PasswordCredential | None, bool]:
    """Verify (a dummy hash for unknown users); count and audit a failure."""
    member = db.scalar(select(Member).where(Member.username == name))
    credential = db.get(PasswordCredential, member.id) if member else None
    if credential is None:
        passwords.verify_dummy(password)
        ok = False
    else:
        ok = passwords.verify_password(credential.hash, password)
    reason = "" if ok else "bad-credentials"
    if ok and member is not None and member.status not in sessions.SIGN_IN_STATUSES:
        ok, reason = False, f"member-{member.status}"
    if not ok:
        member_id = member.id if member else None
        locked = throttle.record_failure(db, keys.all, now)
        audit(
            vault, db, AuditAction.AUTH_LOGIN, REFUSED, client, member_id=member_id, reason=reason
        )
        if locked:
            _audit_lockout(vault, db, client, member_id)
    return member, credential, ok


def context_words(member: Member, policy: MemberPolicy) -> list[str]:
    return [member.username, *member.display_name.split(), *policy.tenant_names, "phivault"]


def set_password(
    db: Session,
    member: Member,
    new_password: str,
    policy: MemberPolicy,
    now: datetime,
    *,
    must_change: bool = False,
    check: bool = True,
) -> None:
    """Validate against every applicable profile, keep history, store the new hash."""
    credential = db.get(PasswordCredential, member.id)
    history = db.scalars(
        select(PasswordHistory.hash)
        .where(PasswordHistory.member_id == member.id)
        .order_by(PasswordHistory.retired_at.desc())
    ).all()
    if check:
        refusals = passwords.check_password(
            new_password,
            profiles=policy.password_rules,
            mfa=policy.mfa_required,
            context=context_words(member, policy),
            current_hash=credential.hash if credential else None,
            history_hashes=list(history),
        )
        if refusals:
            raise InvalidInput("; ".join(r.message for r in refusals))
    if credential is None:
        db.add(
            PasswordCredential(
                member_id=member.id,
                hash=passwords.hash_password(new_password),
                changed_at=now,
                must_change=must_change,
            )
        )
    else:
        db.add(
            PasswordHistory(
                id=uuid.uuid4(), member_id=member.id, hash=credential.hash, retired_at=now
            )
        )
        credential.hash = passwords.hash_password(new_password)
        credential.changed_at = now
        credential.must_change = must_change
        _trim_history(
            db, member.id, max((r.history_count for r in policy.password_rules), default=0)
        )
    db.flush()


def _trim_history(db: Session, member_id: uuid.UUID, keep: int) -> None:
    rows = db.scalars(
        select(PasswordHistory)
        .where(PasswordHistory.member_id == member_id)
        .order_by(PasswordHistory.retired_at.desc())
    ).all()
    for row in rows[max(keep, 0) :]:
        db.delete(row)


def session_throttle_keys(
    vault: Vault, db: Session, username: str, client: Client
) -> tuple[str, str]:
    """The throttle keys of a password or code checked inside a session: that account from
    that source, and the gentler account-wide key (the same throttle as the sign-in)."""
    key = vault.keyring.system_key(db, IDENTITY_KEY_NAME)
    return throttle.keys_for(key, username=username, source=client.source).account_keys


def count_failure(
    vault: Vault, db: Session, keys: Sequence[str], client: Client, member_id: uuid.UUID
) -> None:
    """Count a failed password or code check; audit the lockout it may cause."""
    if throttle.record_failure(db, keys, vault.clock()):
        _audit_lockout(vault, db, client, member_id)


def _audit_lockout(vault: Vault, db: Session, client: Client, member_id: uuid.UUID | None) -> None:
    """The throttle locked an account or a source out: said once, in the system chain."""
    audit(
        vault, db, AuditAction.AUTH_LOCKOUT, REFUSED, client, member_id=member_id, reason="throttle"
    )


def may_change_credentials(view: SessionView) -> bool:
    """No credential changes before the sign-in is complete, except the forced password change
    (which, for a member with a second factor, comes only after that factor: see describe)."""
    return view.stage in (COMPLETE, PASSWORD_CHANGE)


def change_password(
    vault: Vault, resolved: sessions.Resolved, *, current: str, new: str, client: Client
) -> SessionView:
    """The signed-in member changes their password; their other sessions end and this one gets
    a new secret (``session_secret`` of the answer: the caller sets the new cookie).

    Refused (MfaRequired) before the sign-in is complete, except the forced change; the
    current password is checked through the sign-in throttle (TooManyAttempts)."""
    now = vault.clock()
    refusal: Exception | None = None
    with identity_transaction(vault) as db:
        member = db.get(Member, resolved.member.id)
        login = db.get(LoginSession, resolved.login.id)
        credential = db.get(PasswordCredential, resolved.member.id)
        assert member is not None and login is not None
        keys = session_throttle_keys(vault, db, member.username, client)
        throttle.check(db, keys, now)
        reason = ""
        if not may_change_credentials(describe(db, login, member, now)):
            reason, refusal = (
                "sign-in-incomplete",
                MfaRequired("complete the sign-in with your second factor first"),
            )
        elif credential is None or not passwords.verify_password(credential.hash, current):
            count_failure(vault, db, keys, client, member.id)
            reason = "bad-current-password"
            refusal = InvalidInput("the current password is not right")
        if refusal is not None:
            # Audited in this transaction, which commits; the refusal is raised after it.
            audit(
                vault,
                db,
                AuditAction.AUTH_PASSWORD_CHANGE,
                REFUSED,
                client,
                member_id=member.id,
                session_id=login.id,
                reason=reason,
            )
    if refusal is not None:
        raise refusal
    with identity_transaction(vault) as db:
        member = db.get(Member, resolved.member.id)
        login = db.get(LoginSession, resolved.login.id)
        assert member is not None and login is not None
        policy = member_policy(db, member.id)
        set_password(db, member, new, policy, now)
        if member.status == "invited":
            member.status, member.status_changed_at = "active", now
        others = [
            s
            for s in db.scalars(
                select(LoginSession).where(
                    LoginSession.member_id == member.id,
                    LoginSession.revoked_at.is_(None),
                    LoginSession.id != login.id,
                )
            )
        ]
        for other in others:
            other.revoked_at, other.revoked_reason = now, "password-changed"
        login.fresh_auth_at = now
        secret = sessions.rotate_secret(db, login)
        audit(
            vault,
            db,
            AuditAction.AUTH_PASSWORD_CHANGE,
            ALLOWED,
            client,
            member_id=member.id,
            session_id=login.id,
            fields=("password",),
        )
        return replace(describe(db, login, member, now, policy), session_secret=secret)


def mark_mfa_verified(
    vault: Vault,
    db: Session,
    login: LoginSession,
    member: Member,
    method: str,
    client: Client,
    *,
    remember: bool,
) -> tuple[SessionView, str | None]:
    """The second factor is verified: the session gets a new secret (the answer's
    ``session_secret``, for the caller to set as the cookie), so that a secret learnt before
    the sign-in was complete is worth nothing after it."""
    now = vault.clock()
    login.mfa_verified_at = now
    login.fresh_auth_at = now
    secret = sessions.rotate_secret(db, login)
    policy = member_policy(db, member.id)
    device = sessions.remember_device(db, member.id, policy, now) if remember else None
    audit(
        vault,
        db,
        AuditAction.AUTH_MFA_VERIFY,
        ALLOWED,
        client,
        member_id=member.id,
        session_id=login.id,
        fields=(method, "remember-device") if device else (method,),
    )
    return replace(describe(db, login, member, now, policy), session_secret=secret), device


def refuse_mfa(
    vault: Vault, resolved: sessions.Resolved, method: str, client: Client, reason: str
) -> None:
    """Record a failed second factor (it counts towards the account's throttle) and raise."""
    with identity_transaction(vault) as db:
        keys = session_throttle_keys(vault, db, resolved.member.username, client)
        count_failure(vault, db, keys, client, resolved.member.id)
        audit(
            vault,
            db,
            AuditAction.AUTH_MFA_VERIFY,
            REFUSED,
            client,
            member_id=resolved.member.id,
            session_id=resolved.login.id,
            reason=reason,
            fields=(method,),
        )
    raise InvalidInput("that code is not valid")


def check_mfa_throttle(vault: Vault, resolved: sessions.Resolved, client: Client) -> None:
    with identity_transaction(vault) as db:
        keys = session_throttle_keys(vault, db, resolved.member.username, client)
        throttle.check(db, keys, vault.clock())


def sign_out(vault: Vault, resolved: sessions.Resolved, client: Client) -> None:
    now = vault.clock()
    with identity_transaction(vault) as db:
        login = db.get(LoginSession, resolved.login.id)
        assert login is not None
        login.revoked_at, login.revoked_reason = now, "signed-out"
        audit(
            vault,
            db,
            AuditAction.AUTH_LOGOUT,
            ALLOWED,
            client,
            member_id=login.member_id,
            session_id=login.id,
        )


def revoke_sessions(
    vault: Vault,
    db: Session,
    member_id: uuid.UUID,
    ids: Sequence[uuid.UUID] | None,
    *,
    actor_id: uuid.UUID,
    client: Client,
    reason: str,
) -> int:
    """Revoke some (or all) sessions of a member, audited."""
    now = vault.clock()
    query = select(LoginSession).where(
        LoginSession.member_id == member_id, LoginSession.revoked_at.is_(None)
    )
    if ids is not None:
        query = query.where(LoginSession.id.in_(list(ids)))
    rows = list(db.scalars(query))
    for row in rows:
        row.revoked_at, row.revoked_reason = now, reason
    audit(
        vault,
        db,
        AuditAction.AUTH_SESSION_REVOKE,
        ALLOWED,
        client,
        member_id=member_id,
        actor_id=actor_id,
        reason=reason,
        fields=tuple(str(r.id) for r in rows)[:20],
    )
    return len(rows)
