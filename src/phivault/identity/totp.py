"""Time-based one-time passwords and recovery codes: the authenticator-app half of AUTH-5.

* The TOTP seed (160 random bits, base32) is encrypted at rest with AES-256-GCM under the
  platform identity key; the associated data binds the ciphertext to its row, so a seed copied
  onto another member's row does not decrypt.
* Codes follow RFC 6238 with the parameters every authenticator app understands (SHA-1,
  6 digits, 30-second steps) and accept one step of clock skew either way. The last accepted
  step is remembered and a code is never accepted twice, not even within its own step
  (RFC 6238 section 5.2).
* Recovery codes are high-entropy (50 bits), shown once, and stored as HMAC-SHA256 keyed with
  the identity key: a copy of the database alone cannot be used to guess them offline.

Nothing here logs or puts a secret, a code or a hash into an exception message. Throttling of
failed attempts (AUTH-7) and auditing are the caller's job; every function takes the caller's
transaction and an explicit ``now`` (I-8).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import pyotp
import segno
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import CursorResult, Result, delete, func, select, update
from sqlalchemy.orm import Session

from phivault.crypto import cipher
from phivault.crypto.keyring import IDENTITY_KEY_NAME, Keyring
from phivault.db.engine import SYSTEM_TENANT
from phivault.errors import Conflict, InvalidInput
from phivault.identity.credentials import RecoveryCode, TotpCredential, WebAuthnCredential

# RFC 6238 parameters (authenticator-app defaults).
DIGITS = 6
STEP_SECONDS = 30
SKEW_STEPS = 1
SECRET_BITS = 160

# Recovery codes: Crockford's base32 alphabet (no i, l, o, u); 10 symbols = 50 bits.
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_GROUP = 5
RECOVERY_GROUPS = 2
_RECOVERY_HASH_PREFIX = "hmac-sha256:"
# Read as the symbol they are mistaken for (Crockford's decoding rules).
_RECOVERY_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})
_RECOVERY_SEPARATORS = re.compile(r"[\s\-_]+")

_TABLE = "totp_credentials"
_COLUMN = "secret"
_CODE = re.compile(f"[0-9]{{{DIGITS}}}", re.ASCII)
_KEY_VERSION = 1  # the identity key is a single, unversioned system key


@dataclass(frozen=True)
class Enrolment:
    """What the member needs to add the account to an authenticator app.

    Every field reveals the seed, so none of them appears in ``repr`` (and so in logs).
    """

    provisioning_uri: str = field(repr=False)
    secret: str = field(repr=False)
    qr_svg: str = field(repr=False)


# -- helpers ------------------------------------------------------------------------------


def _identity_key(session: Session, keyring: Keyring) -> bytes:
    return keyring.system_key(session, IDENTITY_KEY_NAME)


def _aad(member_id: uuid.UUID) -> bytes:
    return cipher.associated_data(SYSTEM_TENANT, _TABLE, _COLUMN, str(member_id))


def _seal_secret(key: bytes, member_id: uuid.UUID, secret: str) -> bytes:
    return cipher.seal(AESGCM(key), _KEY_VERSION, secret.encode("ascii"), _aad(member_id))


def _open_secret(key: bytes, member_id: uuid.UUID, blob: bytes) -> str:
    return cipher.open_sealed(AESGCM(key), blob, _aad(member_id)).decode("ascii")


def _step_of(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("naive datetime: phivault only handles timezone-aware UTC times")
    return int(now.timestamp()) // STEP_SECONDS


def _normalise_code(code: str) -> str | None:
    """Six ASCII digits (spaces allowed, as apps display '123 456'), else None."""
    compact = "".join(code.split())
    return compact if _CODE.fullmatch(compact) else None


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The latest step within the skew window whose code equals ``code``, else None.

    Every candidate is computed and compared in constant time, whatever matches.
    """
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = _step_of(now)
    found: int | None = None
    for step in range(current - SKEW_STEPS, current + SKEW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            found = step
    return found


def _rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE (the conditional updates below rely on it)."""
    return int(cast(CursorResult[Any], result).rowcount)


def _credential(session: Session, member_id: uuid.UUID) -> TotpCredential | None:
    return session.get(TotpCredential, member_id)


def _recovery_hash(key: bytes, normalised: str) -> str:
    message = b"phivault/recovery-code|" + normalised.encode("ascii")
    return _RECOVERY_HASH_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def _normalise_recovery(code: str) -> str | None:
    compact = _RECOVERY_SEPARATORS.sub("", code.strip().lower()).translate(_RECOVERY_LOOKALIKES)
    length = RECOVERY_GROUP * RECOVERY_GROUPS
    if len(compact) != length or any(ch not in RECOVERY_ALPHABET for ch in compact):
        return None
    return compact


def _new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP))
        for _ in range(RECOVERY_GROUPS)
    )
    return "-".join(groups)


def _issue_recovery_codes(
    session: Session, key: bytes, member_id: uuid.UUID, now: datetime
) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.member_id == member_id))
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = _new_recovery_code()
        if code not in codes:  # a repeat is astronomically unlikely, but cheap to rule out
            codes.append(code)
    for code in codes:
        normalised = _normalise_recovery(code)
        assert normalised is not None
        session.add(
            RecoveryCode(
                member_id=member_id,
                id=uuid.uuid4(),
                hash=_recovery_hash(key, normalised),
                created_at=now,
                used_at=None,
            )
        )
    session.flush()
    return codes


# -- enrolment ----------------------------------------------------------------------------


def begin_enrolment(
    session: Session,
    keyring: Keyring,
    member_id: uuid.UUID,
    *,
    username: str,
    issuer: str = "phivault",
    now: datetime,
) -> Enrolment:
    """Start (or restart) TOTP enrolment with a fresh 160-bit seed, stored encrypted.

    An unconfirmed enrolment is replaced; a confirmed one is refused with :class:`Conflict`,
    because replacing a working second factor must go through an explicit, audited reset.
    Returns the ``otpauth://`` URI, the base32 seed for manual entry and an inline SVG QR code.
    """
    if not username.strip() or not issuer.strip():
        raise InvalidInput("a username and an issuer are required")
    existing = _credential(session, member_id)
    if existing is not None and existing.confirmed_at is not None:
        raise Conflict("an authenticator app is already enrolled; reset it first")
    secret = pyotp.random_base32(length=SECRET_BITS // 5)
    blob = _seal_secret(_identity_key(session, keyring), member_id, secret)
    if existing is None:
        session.add(
            TotpCredential(
                member_id=member_id,
                secret_ct=blob,
                created_at=now,
                confirmed_at=None,
                last_step=0,
            )
        )
    else:
        existing.secret_ct = blob
        existing.created_at = now
        existing.last_step = 0
    session.flush()
    return _enrolment(secret, username, issuer)


def _enrolment(secret: str, username: str, issuer: str) -> Enrolment:
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username.strip(), issuer_name=issuer.strip()
    )
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title=f"{issuer.strip()} QR code")
    return Enrolment(provisioning_uri=uri, secret=secret, qr_svg=qr_svg)


def pending_enrolment(
    session: Session,
    keyring: Keyring,
    member_id: uuid.UUID,
    *,
    username: str,
    issuer: str = "phivault",
) -> Enrolment | None:
    """The enrolment started but not yet confirmed, shown again (a page reload or a mistyped
    code must not force the person to scan a new QR code); None if there is none."""
    existing = _credential(session, member_id)
    if existing is None or existing.confirmed_at is not None:
        return None
    secret = _open_secret(_identity_key(session, keyring), member_id, existing.secret_ct)
    return _enrolment(secret, username, issuer)


def confirm_enrolment(
    session: Session,
    keyring: Keyring,
    member_id: uuid.UUID,
    code: str,
    *,
    now: datetime,
) -> list[str]:
    """Confirm a pending enrolment with a current code; return 10 fresh recovery codes.

    The codes are returned this once and only their keyed hashes are stored. The step of the
    confirming code is remembered, so that code cannot also be used to sign in. A wrong code
    raises :class:`InvalidInput` with a generic message; no pending enrolment raises
    :class:`Conflict`.
    """
    credential = _credential(session, member_id)
    if credential is None or credential.confirmed_at is not None:
        raise Conflict("there is no authenticator enrolment waiting for confirmation")
    key = _identity_key(session, keyring)
    normalised = _normalise_code(code)
    step = None
    if normalised is not None:
        secret = _open_secret(key, member_id, credential.secret_ct)
        step = _matching_step(secret, normalised, now)
    if step is None or step <= credential.last_step:
        raise InvalidInput("the code is not valid")
    credential.confirmed_at = now
    credential.last_step = step
    session.flush()
    return _issue_recovery_codes(session, key, member_id, now)


# -- verification -------------------------------------------------------------------------


def verify_code(
    session: Session,
    keyring: Keyring,
    member_id: uuid.UUID,
    code: str,
    *,
    now: datetime,
) -> bool:
    """Check a TOTP code of the member's confirmed authenticator (RFC 6238, +/- 1 step).

    A code whose step is not later than the last accepted one is refused even if it is
    otherwise valid (no replay). On success the step is stored, with a conditional update so
    that two concurrent requests cannot both accept the same code. Malformed input, an
    unconfirmed enrolment or no enrolment at all simply return False.
    """
    normalised = _normalise_code(code)
    if normalised is None:
        return False
    credential = _credential(session, member_id)
    if credential is None or credential.confirmed_at is None:
        return False
    secret = _open_secret(_identity_key(session, keyring), member_id, credential.secret_ct)
    step = _matching_step(secret, normalised, now)
    if step is None or step <= credential.last_step:
        return False
    result = session.execute(
        update(TotpCredential)
        .where(TotpCredential.member_id == member_id, TotpCredential.last_step < step)
        .values(last_step=step)
    )
    return _rowcount(result) == 1


def use_recovery_code(
    session: Session,
    keyring: Keyring,
    member_id: uuid.UUID,
    code: str,
    *,
    now: datetime,
) -> bool:
    """Spend one of the member's recovery codes; True if it was valid and unused.

    Input is normalised (case, spaces, dashes, and o/i/l read as 0/1); the keyed hash is
    compared in constant time with every unused code. The code is marked used with a
    conditional update, so it works once even under concurrent requests.
    """
    normalised = _normalise_recovery(code)
    if normalised is None:
        return False
    candidate = _recovery_hash(_identity_key(session, keyring), normalised).encode()
    rows = session.execute(
        select(RecoveryCode.id, RecoveryCode.hash).where(
            RecoveryCode.member_id == member_id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    match: uuid.UUID | None = None
    for row_id, stored in rows:
        if hmac.compare_digest(stored.encode(), candidate):
            match = row_id
    if match is None:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.member_id == member_id,
            RecoveryCode.id == match,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return _rowcount(result) == 1


# -- management ---------------------------------------------------------------------------


def remaining_recovery_codes(session: Session, member_id: uuid.UUID) -> int:
    """How many unused recovery codes the member has left."""
    count = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.member_id == member_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def regenerate_recovery_codes(
    session: Session,
    keyring: Keyring,
    member_id: uuid.UUID,
    *,
    now: datetime,
) -> list[str]:
    """Replace all of the member's recovery codes (used or not) with 10 new ones.

    Only for a member with a confirmed second factor (:class:`Conflict` otherwise). The new
    codes are returned this once; the old ones stop working at once.
    """
    if not has_confirmed_mfa(session, member_id):
        raise Conflict("recovery codes need a confirmed second factor")
    return _issue_recovery_codes(session, _identity_key(session, keyring), member_id, now)


def reset_mfa(session: Session, member_id: uuid.UUID) -> None:
    """Delete the member's TOTP seed, recovery codes and passkeys (administrator reset).

    The caller authorizes and audits the reset; afterwards the member must enrol again.
    """
    session.execute(delete(RecoveryCode).where(RecoveryCode.member_id == member_id))
    session.execute(delete(TotpCredential).where(TotpCredential.member_id == member_id))
    session.execute(delete(WebAuthnCredential).where(WebAuthnCredential.member_id == member_id))


def has_confirmed_mfa(session: Session, member_id: uuid.UUID) -> bool:
    """True if the member has a confirmed authenticator app or at least one passkey."""
    totp = session.scalar(
        select(TotpCredential.member_id).where(
            TotpCredential.member_id == member_id, TotpCredential.confirmed_at.is_not(None)
        )
    )
    if totp is not None:
        return True
    passkey = session.scalar(
        select(WebAuthnCredential.id).where(WebAuthnCredential.member_id == member_id).limit(1)
    )
    return passkey is not None
