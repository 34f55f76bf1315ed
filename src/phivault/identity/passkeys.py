"""Passkeys (WebAuthn) as a second factor, the phishing-resistant half of AUTH-5.

Built on py_webauthn. The server keeps only what verification needs: the credential id, its
COSE public key and the signature counter; never a private key, attestation or biometric.

Challenges are 32 random bytes held on the :class:`LoginSession` that asked for them, with
the time they were issued (they expire after :data:`CHALLENGE_TTL`). A challenge is answered
at most once: verification clears it *before* checking the response, with a conditional
update, so a response can never be replayed and two concurrent answers cannot both win.

Note for callers: a failed verification raises :class:`InvalidInput`. If the caller lets that
exception roll its transaction back, the clearing is rolled back too; callers should then call
:func:`discard_challenge` in a fresh transaction (or catch the error and commit) so that a
failed answer also uses up the challenge. Expiry bounds the window either way.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from phivault.clock import from_micros, to_micros
from phivault.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from phivault.identity.credentials import WebAuthnCredential
from phivault.identity.session_models import LoginSession

log = logging.getLogger(__name__)

CHALLENGE_BYTES = 32
CHALLENGE_TTL = timedelta(minutes=5)
# Preference order: ES256 (every platform authenticator), RS256 (Windows Hello), EdDSA.
SUPPORTED_ALGORITHMS: list[COSEAlgorithmIdentifier] = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
]
MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn level 3: credential ids are at most 1023 bytes
MAX_LABEL_CHARS = 120

_CHALLENGE_FORMAT = 1
_CHALLENGE_HEADER = struct.Struct(">Bq")  # format, issued at (UTC microseconds)
_FAILED = "the passkey response could not be verified"
# Anything py_webauthn (or the parsers beneath it) raises on a malformed or forged response.
_VERIFY_ERRORS = (
    WebAuthnException,
    InvalidSignature,
    UnsupportedAlgorithm,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    struct.error,
)


@dataclass(frozen=True)
class Passkey:
    """A registered passkey as shown to its owner (no key material)."""

    id: uuid.UUID
    label: str
    created_at: datetime
    last_used_at: datetime | None


# -- challenges ---------------------------------------------------------------------------


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _login_session(
    session: Session, login_session_id: uuid.UUID, member_id: uuid.UUID, now: datetime
) -> LoginSession:
    """The member's own live session, or :class:`Unauthenticated`."""
    row = session.get(LoginSession, login_session_id)
    if (
        row is None
        or row.member_id != member_id
        or row.revoked_at is not None
        or row.expires_at <= now
    ):
        raise Unauthenticated("the session is not valid")
    return row


def _issue_challenge(session: Session, row: LoginSession, now: datetime) -> bytes:
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    row.webauthn_challenge = _CHALLENGE_HEADER.pack(_CHALLENGE_FORMAT, to_micros(now)) + challenge
    session.flush()
    return challenge


def _take_challenge(session: Session, row: LoginSession, now: datetime) -> bytes:
    """Clear the session's challenge (exactly once) and return it if it is still fresh."""
    stored = row.webauthn_challenge
    if stored is None:
        raise InvalidInput(_FAILED)
    cleared = session.execute(
        update(LoginSession)
        .where(LoginSession.id == row.id, LoginSession.webauthn_challenge == stored)
        .values(webauthn_challenge=None)
        .execution_options(synchronize_session="fetch")
    )
    if _rowcount(cleared) != 1:
        raise InvalidInput(_FAILED)  # answered concurrently by another request
    if len(stored) != _CHALLENGE_HEADER.size + CHALLENGE_BYTES:
        raise InvalidInput(_FAILED)
    fmt, issued_micros = _CHALLENGE_HEADER.unpack_from(stored)
    issued = from_micros(issued_micros)
    if fmt != _CHALLENGE_FORMAT or not issued <= now < issued + CHALLENGE_TTL:
        raise InvalidInput(_FAILED)
    return stored[_CHALLENGE_HEADER.size :]


def discard_challenge(session: Session, login_session_id: uuid.UUID) -> None:
    """Forget any pending challenge of a session (after a failed answer was rolled back)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.id == login_session_id)
        .values(webauthn_challenge=None)
        .execution_options(synchronize_session="fetch")
    )


def _timeout_ms() -> int:
    return int(CHALLENGE_TTL.total_seconds() * 1000)


def _credential_ids(session: Session, member_id: uuid.UUID) -> list[bytes]:
    return list(
        session.scalars(
            select(WebAuthnCredential.credential_id)
            .where(WebAuthnCredential.member_id == member_id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
    )


def _origins(origin: str | Sequence[str]) -> str | list[str]:
    return origin if isinstance(origin, str) else list(origin)


# -- registration -------------------------------------------------------------------------


def registration_options(
    session: Session,
    login_session_id: uuid.UUID,
    member_id: uuid.UUID,
    *,
    username: str,
    display_name: str,
    rp_id: str,
    rp_name: str,
    now: datetime,
) -> str:
    """Options (JSON) for ``navigator.credentials.create()`` to register a new passkey.

    A fresh challenge is stored on the login session (replacing any earlier one). The member's
    existing passkeys are excluded, so an authenticator is not registered twice. The WebAuthn
    user handle is the member id (random, no personal data).
    """
    row = _login_session(session, login_session_id, member_id, now)
    if not username.strip():
        raise InvalidInput("a username is required")
    challenge = _issue_challenge(session, row, now)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_name=username.strip(),
        user_id=member_id.bytes,
        user_display_name=display_name.strip() or username.strip(),
        challenge=challenge,
        timeout=_timeout_ms(),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=cid) for cid in _credential_ids(session, member_id)
        ],
        supported_pub_key_algs=SUPPORTED_ALGORITHMS,
    )
    return options_to_json(options)


def verify_registration(
    session: Session,
    login_session_id: uuid.UUID,
    member_id: uuid.UUID,
    credential_json: str,
    *,
    rp_id: str,
    origin: str | Sequence[str],
    label: str,
    now: datetime,
) -> uuid.UUID:
    """Verify the browser's answer to :func:`registration_options` and store the passkey.

    The challenge is consumed by this call, whatever its outcome. Any verification failure
    raises :class:`InvalidInput` with a generic message; a credential id that is already
    registered raises :class:`Conflict`. Returns the new passkey's id.
    """
    clean_label = " ".join(label.split())
    if not clean_label or len(clean_label) > MAX_LABEL_CHARS:
        raise InvalidInput(f"'label' must be 1 to {MAX_LABEL_CHARS} characters")
    row = _login_session(session, login_session_id, member_id, now)
    challenge = _take_challenge(session, row, now)
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=_origins(origin),
            supported_pub_key_algs=SUPPORTED_ALGORITHMS,
        )
    except _VERIFY_ERRORS as exc:
        log.info("passkey registration refused (%s)", type(exc).__name__)
        raise InvalidInput(_FAILED) from None
    if not verified.credential_id or len(verified.credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise InvalidInput(_FAILED)
    taken = session.scalar(
        select(WebAuthnCredential.id).where(
            WebAuthnCredential.credential_id == verified.credential_id
        )
    )
    if taken is not None:
        raise Conflict("this passkey is already registered")
    passkey = WebAuthnCredential(
        member_id=member_id,
        id=uuid.uuid4(),
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        label=clean_label,
        created_at=now,
        last_used_at=None,
    )
    session.add(passkey)
    session.flush()
    return passkey.id


# -- authentication -----------------------------------------------------------------------


def authentication_options(
    session: Session,
    login_session_id: uuid.UUID,
    member_id: uuid.UUID,
    *,
    rp_id: str,
    now: datetime,
) -> str:
    """Options (JSON) for ``navigator.credentials.get()``, limited to the member's passkeys.

    Stores a fresh challenge on the login session. A member without passkeys gets
    :class:`Conflict`.
    """
    row = _login_session(session, login_session_id, member_id, now)
    credential_ids = _credential_ids(session, member_id)
    if not credential_ids:
        raise Conflict("no passkey is registered")
    challenge = _issue_challenge(session, row, now)
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=_timeout_ms(),
        allow_credentials=[PublicKeyCredentialDescriptor(id=cid) for cid in credential_ids],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


def verify_authentication(
    session: Session,
    login_session_id: uuid.UUID,
    member_id: uuid.UUID,
    credential_json: str,
    *,
    rp_id: str,
    origin: str | Sequence[str],
    now: datetime,
) -> uuid.UUID:
    """Verify an assertion from one of the member's passkeys; return that passkey's id.

    Checks, in order: the challenge (consumed by this call, whatever its outcome), that the
    credential is registered *to this member* (and the user handle, when the authenticator
    returns one), then origin, RP id, user presence and signature. When the authenticator
    keeps a signature counter, the counter must have grown (a cloned authenticator is
    refused). Updates the counter and ``last_used_at``. Every failure raises
    :class:`InvalidInput` with the same generic message.
    """
    row = _login_session(session, login_session_id, member_id, now)
    challenge = _take_challenge(session, row, now)
    try:
        parsed: AuthenticationCredential = parse_authentication_credential_json(credential_json)
    except _VERIFY_ERRORS as exc:
        log.info("passkey assertion refused (%s)", type(exc).__name__)
        raise InvalidInput(_FAILED) from None
    stored = session.scalar(
        select(WebAuthnCredential).where(WebAuthnCredential.credential_id == parsed.raw_id)
    )
    if stored is None or stored.member_id != member_id:
        log.info("passkey assertion refused (credential not registered to the member)")
        raise InvalidInput(_FAILED)
    handle = parsed.response.user_handle
    if handle is not None and not hmac.compare_digest(handle, member_id.bytes):
        log.info("passkey assertion refused (user handle mismatch)")
        raise InvalidInput(_FAILED)
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=_origins(origin),
            credential_public_key=stored.public_key,
            credential_current_sign_count=stored.sign_count,
        )
    except _VERIFY_ERRORS as exc:
        log.info("passkey assertion refused (%s)", type(exc).__name__)
        raise InvalidInput(_FAILED) from None
    updated = session.execute(
        update(WebAuthnCredential)
        .where(
            WebAuthnCredential.member_id == member_id,
            WebAuthnCredential.id == stored.id,
            WebAuthnCredential.sign_count == stored.sign_count,
        )
        .values(sign_count=verified.new_sign_count, last_used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if _rowcount(updated) != 1:
        raise InvalidInput(_FAILED)  # the counter moved under us: a concurrent assertion
    return stored.id


# -- management ---------------------------------------------------------------------------


def list_passkeys(session: Session, member_id: uuid.UUID) -> list[Passkey]:
    """The member's passkeys, oldest first."""
    rows = session.scalars(
        select(WebAuthnCredential)
        .where(WebAuthnCredential.member_id == member_id)
        .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
    )
    return [Passkey(r.id, r.label, r.created_at, r.last_used_at) for r in rows]


def remove_passkey(session: Session, member_id: uuid.UUID, passkey_id: uuid.UUID) -> None:
    """Delete one of the member's passkeys; :class:`NotFound` if it is not theirs.

    Whether removing the last second factor is allowed is the caller's policy.
    """
    row = session.get(WebAuthnCredential, (member_id, passkey_id))
    if row is None:
        raise NotFound()
    session.delete(row)
    session.flush()
