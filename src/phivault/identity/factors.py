"""Second-factor flows shared by the API and the web pages: confirming TOTP enrolment and
verifying a factor, with throttling and auditing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from phivault.access.unit import Vault
from phivault.errors import InvalidInput
from phivault.identity import auth, sessions, totp
from phivault.identity.models import Member
from phivault.identity.policy import member_policy
from phivault.identity.session_models import LoginSession

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
                "auth.mfa.totp.enrol",
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


def totp_or_recovery(vault: Vault, code: str) -> tuple[str, FactorCheck]:
    """A code from the authenticator (digits) or a recovery code (letters and digits)."""
    if code.replace(" ", "").isdigit():
        return "totp", lambda db, member_id, now: totp.verify_code(
            db, vault.keyring, member_id, code, now=now
        )
    return "recovery-code", lambda db, member_id, now: totp.use_recovery_code(
        db, vault.keyring, member_id, code, now=now
    )
