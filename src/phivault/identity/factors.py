"""Second-factor flows shared by the API and the web pages: starting and confirming TOTP
enrolment, registering a passkey, verifying a factor, and managing one's factors (new recovery
codes, removing a passkey), with throttling and auditing. The interfaces parse and render;
every decision about factors is made here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.unit import Assurance
from phivault.audit.actions import AuditAction
from phivault.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MfaRequired,
    NotFound,
    PasswordChangeRequired,
)
from phivault.identity import auth, passkeys, sessions, totp
from phivault.identity.credentials import TotpCredential, WebAuthnCredential
from phivault.identity.models import Member
from phivault.identity.passkeys import Passkey
from phivault.identity.policy import member_policy
from phivault.identity.session_models import LoginSession
from phivault.vault import Vault

FactorCheck = Callable[[Session, uuid.UUID, datetime], bool]


@dataclass(frozen=True)
class Verified:
    view: auth.SessionView
    device_secret: str | None
    remember_days: int


def _reload(db: Session, resolved: sessions.Resolved) -> tuple[LoginSession, Member]:
    login = db.get(LoginSession, resolved.login.id)
    member = db.get(Member, resolved.member.id)
    assert login is not None and member is not None
    return login, member


@dataclass(frozen=True)
class RelyingParty:
    """The WebAuthn relying party: the host name passkeys are bound to and the origin the
    browser reports (from the configured public URL, else the address the request came to)."""

    rp_id: str
    origin: str

    @classmethod
    def of(cls, public_url: str | None, base_url: str) -> RelyingParty:
        parts = urlsplit(public_url or base_url)
        return cls(parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}")


def may_change_factors(
    db: Session, assurance: Assurance, member_id: uuid.UUID, login: LoginSession, now: datetime
) -> None:
    """Adding a factor needs a settled password; when one factor exists already, also that
    factor verified in this session and a fresh proof of identity."""
    if not assurance.password_ok:
        raise PasswordChangeRequired()
    if totp.has_confirmed_mfa(db, member_id):
        if login.mfa_verified_at is None:
            raise MfaRequired()
        sessions.require_fresh(login, now)


def begin_totp(
    vault: Vault,
    resolved: sessions.Resolved,
    assurance: Assurance,
    client: auth.Client,
    *,
    reuse_pending: bool = False,
) -> totp.Enrolment:
    """Start adding an authenticator app: a new secret (audited), or with ``reuse_pending``
    the one already offered and not yet confirmed, so that a reloaded page needs no new
    scan."""
    now = vault.clock()
    with auth.identity_transaction(vault) as db:
        login, member = _reload(db, resolved)
        may_change_factors(db, assurance, member.id, login, now)
        if reuse_pending:
            pending = totp.pending_enrolment(db, vault.keyring, member.id, username=member.username)
            if pending is not None:
                return pending
        enrolment = totp.begin_enrolment(
            db, vault.keyring, member.id, username=member.username, now=now
        )
        auth.audit(
            vault,
            db,
            AuditAction.AUTH_MFA_TOTP_BEGIN,
            "allowed",
            client,
            member_id=member.id,
            session_id=login.id,
        )
        return enrolment


def passkey_registration_options(
    vault: Vault, resolved: sessions.Resolved, assurance: Assurance, rp: RelyingParty
) -> str:
    """The WebAuthn options (JSON) for registering a passkey, with this session's challenge."""
    now = vault.clock()
    with auth.identity_transaction(vault) as db:
        login, member = _reload(db, resolved)
        may_change_factors(db, assurance, member.id, login, now)
        return passkeys.registration_options(
            db,
            login.id,
            member.id,
            username=member.username,
            display_name=member.display_name,
            rp_id=rp.rp_id,
            rp_name="phivault",
            now=now,
        )


def register_passkey(
    vault: Vault,
    resolved: sessions.Resolved,
    assurance: Assurance,
    credential: object,
    *,
    label: str,
    rp: RelyingParty,
    client: auth.Client,
) -> auth.SessionView:
    """Register a passkey from the browser's answer; as a first second factor it also counts
    as verified in this session. A bad answer consumes the challenge and is audited."""
    now = vault.clock()
    with auth.identity_transaction(vault) as db:
        login, member = _reload(db, resolved)
        may_change_factors(db, assurance, member.id, login, now)
        try:
            credential_id = passkeys.verify_registration(
                db,
                login.id,
                member.id,
                json.dumps(credential),
                rp_id=rp.rp_id,
                origin=rp.origin,
                label=label,
                now=now,
            )
        except InvalidInput:
            # Commit the consumed challenge and the refusal; then answer the error.
            passkeys.discard_challenge(db, login.id)
            auth.audit(
                vault,
                db,
                AuditAction.AUTH_MFA_PASSKEY_ENROL,
                "refused",
                client,
                member_id=member.id,
                session_id=login.id,
                reason="bad-response",
            )
            view = None
        else:
            auth.audit(
                vault,
                db,
                AuditAction.AUTH_MFA_PASSKEY_ENROL,
                "allowed",
                client,
                member_id=member.id,
                session_id=login.id,
                fields=(str(credential_id),),
            )
            view, _ = auth.mark_mfa_verified(
                vault, db, login, member, "passkey", client, remember=False
            )
    if view is None:
        raise InvalidInput("the passkey response could not be verified")
    return view


def passkey_authentication_options(
    vault: Vault, resolved: sessions.Resolved, rp: RelyingParty
) -> str:
    """The WebAuthn options (JSON) for signing in with one of the member's passkeys."""
    with auth.identity_transaction(vault) as db:
        login, member = _reload(db, resolved)
        return passkeys.authentication_options(
            db, login.id, member.id, rp_id=rp.rp_id, now=vault.clock()
        )


def passkey_check(login_id: uuid.UUID, credential: object, rp: RelyingParty) -> FactorCheck:
    """A second-factor check (for :func:`verify`) of the browser's passkey assertion."""

    def check(db: Session, member_id: uuid.UUID, now: datetime) -> bool:
        try:
            passkeys.verify_authentication(
                db,
                login_id,
                member_id,
                json.dumps(credential),
                rp_id=rp.rp_id,
                origin=rp.origin,
                now=now,
            )
        except InvalidInput:
            return False
        return True

    return check


def confirm_totp(
    vault: Vault, resolved: sessions.Resolved, code: str, client: auth.Client
) -> tuple[list[str], auth.SessionView]:
    """Confirm TOTP enrolment with a first code: recovery codes (shown once) and a session
    whose second factor counts as verified. A wrong code counts towards the throttle."""
    now = vault.clock()
    auth.check_mfa_throttle(vault, resolved, client)
    try:
        with auth.identity_transaction(vault) as db:
            login, member = _reload(db, resolved)
            codes = totp.confirm_enrolment(db, vault.keyring, member.id, code, now=now)
            auth.audit(
                vault,
                db,
                AuditAction.AUTH_MFA_TOTP_ENROL,
                "allowed",
                client,
                member_id=member.id,
                session_id=login.id,
            )
            view, _ = auth.mark_mfa_verified(
                vault, db, login, member, "totp", client, remember=False
            )
    except InvalidInput:
        auth.refuse_mfa(vault, resolved, "totp-enrol", client, "bad-code")
    return codes, view


def verify(
    vault: Vault,
    resolved: sessions.Resolved,
    client: auth.Client,
    *,
    method: str,
    check: FactorCheck,
    remember: bool,
) -> Verified:
    """Check a second factor; on success the session is verified (and the device remembered
    when asked and allowed); on failure it is audited, throttled and refused."""
    now = vault.clock()
    auth.check_mfa_throttle(vault, resolved, client)
    with auth.identity_transaction(vault) as db:
        login, member = _reload(db, resolved)
        ok = check(db, member.id, now)
        if ok:
            view, device = auth.mark_mfa_verified(
                vault, db, login, member, method, client, remember=remember
            )
            days = member_policy(db, member.id).mfa_reverify_days
    if not ok:
        auth.refuse_mfa(vault, resolved, method, client, "bad-code")
    return Verified(view, device, days)


def totp_check(vault: Vault, code: str) -> FactorCheck:
    """A second-factor check (for :func:`verify`) of a code from the authenticator app."""
    return lambda db, member_id, now: totp.verify_code(db, vault.keyring, member_id, code, now=now)


def recovery_check(vault: Vault, code: str) -> FactorCheck:
    """A second-factor check of a single-use recovery code (used up when it matches)."""
    return lambda db, member_id, now: totp.use_recovery_code(
        db, vault.keyring, member_id, code, now=now
    )


def totp_or_recovery(vault: Vault, code: str) -> tuple[str, FactorCheck]:
    """A code from the authenticator (digits) or a recovery code (letters and digits)."""
    if code.replace(" ", "").isdigit():
        return "totp", totp_check(vault, code)
    return "recovery-code", recovery_check(vault, code)


# -- managing one's factors -----------------------------------------------------------------

LAST_FACTOR = "add another passkey or an authenticator app before removing your only second factor"


def require_complete_and_fresh(assurance: Assurance, login: LoginSession, now: datetime) -> None:
    """Managing one's factors needs a complete sign-in confirmed in the last minutes."""
    if not (assurance.password_ok and assurance.mfa):
        raise Forbidden("complete sign-in (password and second factor) first")
    sessions.require_fresh(login, now)


def regenerate_recovery_codes(
    vault: Vault, resolved: sessions.Resolved, assurance: Assurance, client: auth.Client
) -> list[str]:
    """New recovery codes for the session's member (the old ones stop working at once),
    returned this once. Needs a complete, fresh sign-in."""
    now = vault.clock()
    require_complete_and_fresh(assurance, resolved.login, now)
    member_id = resolved.member.id
    with auth.identity_transaction(vault) as db:
        codes = totp.regenerate_recovery_codes(db, vault.keyring, member_id, now=now)
        auth.audit(
            vault,
            db,
            AuditAction.AUTH_MFA_RECOVERY_REGENERATE,
            "allowed",
            client,
            member_id=member_id,
        )
    return codes


def _has_authenticator_app(db: Session, member_id: uuid.UUID) -> bool:
    confirmed = db.scalar(
        select(TotpCredential.member_id).where(
            TotpCredential.member_id == member_id, TotpCredential.confirmed_at.is_not(None)
        )
    )
    return confirmed is not None


def _keeps_a_factor(db: Session, member_id: uuid.UUID, passkey_id: uuid.UUID) -> bool:
    """Whether the member still has a second factor once ``passkey_id`` is gone."""
    other = db.scalar(
        select(WebAuthnCredential.id)
        .where(WebAuthnCredential.member_id == member_id, WebAuthnCredential.id != passkey_id)
        .limit(1)
    )
    return other is not None or _has_authenticator_app(db, member_id)


def remove_passkey(
    vault: Vault,
    resolved: sessions.Resolved,
    assurance: Assurance,
    passkey_id: uuid.UUID,
    client: auth.Client,
) -> None:
    """Remove one of the session's member's passkeys. Needs a complete, fresh sign-in.

    :class:`NotFound` if the passkey is not theirs. Where the member's policy requires a
    second factor, the only one left is not removed (:class:`Conflict`, audited): without any,
    the next sign-in would let whoever knows the password enrol a factor of their own.
    """
    now = vault.clock()
    require_complete_and_fresh(assurance, resolved.login, now)
    member_id = resolved.member.id
    with auth.identity_transaction(vault) as db:
        if db.get(WebAuthnCredential, (member_id, passkey_id)) is None:
            raise NotFound()
        keeps = _keeps_a_factor(db, member_id, passkey_id)
        refused = not keeps and member_policy(db, member_id).mfa_required
        if refused:
            # Audited in this transaction, which commits; the refusal is raised after it.
            auth.audit(
                vault,
                db,
                AuditAction.AUTH_MFA_PASSKEY_REMOVE,
                "refused",
                client,
                member_id=member_id,
                reason="last-factor",
                fields=(str(passkey_id),),
            )
        else:
            passkeys.remove_passkey(db, member_id, passkey_id)
            auth.audit(
                vault,
                db,
                AuditAction.AUTH_MFA_PASSKEY_REMOVE,
                "allowed",
                client,
                member_id=member_id,
                fields=(str(passkey_id),),
            )
    if refused:
        raise Conflict(LAST_FACTOR)


@dataclass(frozen=True)
class Overview:
    """A member's second factors as shown to them (no secret, no key material)."""

    authenticator_app: bool
    passkeys: list[Passkey]
    recovery_codes_left: int


def overview(db: Session, member_id: uuid.UUID) -> Overview:
    """The member's authenticator app (confirmed or not), passkeys and unused recovery codes."""
    return Overview(
        authenticator_app=_has_authenticator_app(db, member_id),
        passkeys=passkeys.list_passkeys(db, member_id),
        recovery_codes_left=totp.remaining_recovery_codes(db, member_id),
    )
