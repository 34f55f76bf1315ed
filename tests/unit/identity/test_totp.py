"""TOTP second factor and recovery codes (AUTH-5), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import text, update

from phivault.crypto.cipher import DecryptionFailed
from phivault.db.engine import Scope
from phivault.errors import Conflict, InvalidInput
from phivault.identity import totp
from phivault.identity.credentials import TotpCredential

RECOVERY_FORMAT = re.compile(r"^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$")


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _enrol(env, member_id: uuid.UUID, username: str = "clinician") -> totp.Enrolment:
    with env.vault.db.transaction(Scope.platform()) as session:
        return totp.begin_enrolment(
            session, env.vault.keyring, member_id, username=username, now=env.clock()
        )


def _enrol_and_confirm(env, member_id: uuid.UUID) -> tuple[str, list[str]]:
    enrolment = _enrol(env, member_id)
    with env.vault.db.transaction(Scope.platform()) as session:
        codes = totp.confirm_enrolment(
            session,
            env.vault.keyring,
            member_id,
            _code(enrolment.secret, env.clock()),
            now=env.clock(),
        )
    return enrolment.secret, codes


def _verify(env, member_id: uuid.UUID, code: str, now: datetime) -> bool:
    with env.vault.db.transaction(Scope.platform()) as session:
        return totp.verify_code(session, env.vault.keyring, member_id, code, now=now)


def _recover(env, member_id: uuid.UUID, code: str) -> bool:
    with env.vault.db.transaction(Scope.platform()) as session:
        return totp.use_recovery_code(session, env.vault.keyring, member_id, code, now=env.clock())


def _raw_rows(env, table: str) -> list[bytes]:
    """Every column of every row of ``table``, as the database hands it out."""
    with env.vault.db.transaction(Scope.platform()) as session:
        rows = session.execute(text(f"SELECT * FROM {table}")).all()
    out = []
    for row in rows:
        parts = [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row]
        out.append(b"\x00".join(parts))
    return out


# -- enrolment ------------------------------------------------------------------------------


def test_enrol_and_confirm_with_a_code_from_the_app(env) -> None:
    member = env.world["clinician"].member_id
    enrolment = _enrol(env, member)

    assert re.fullmatch(r"[A-Z2-7]{32}", enrolment.secret)  # 160 bits of base32
    assert len(base64.b32decode(enrolment.secret)) == 20
    assert enrolment.provisioning_uri.startswith("otpauth://totp/phivault:clinician?")
    assert f"secret={enrolment.secret}" in enrolment.provisioning_uri
    assert "issuer=phivault" in enrolment.provisioning_uri
    svg = enrolment.qr_svg
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for external in ("href", "http:", "https:", "<image", "<script", "url("):
        assert external not in svg
    assert enrolment.secret not in repr(enrolment)
    assert pyotp.parse_uri(enrolment.provisioning_uri).secret == enrolment.secret

    with env.vault.db.transaction(Scope.platform()) as session:
        assert not totp.has_confirmed_mfa(session, member)
        assert not totp.verify_code(
            session,
            env.vault.keyring,
            member,
            _code(enrolment.secret, env.clock()),
            now=env.clock(),
        )

    with env.vault.db.transaction(Scope.platform()) as session:
        codes = totp.confirm_enrolment(
            session,
            env.vault.keyring,
            member,
            _code(enrolment.secret, env.clock()),
            now=env.clock(),
        )
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_FORMAT.match(c) for c in codes)
    with env.vault.db.transaction(Scope.platform()) as session:
        assert totp.has_confirmed_mfa(session, member)
        assert totp.remaining_recovery_codes(session, member) == 10
        row = session.get(TotpCredential, member)
        assert row is not None and row.confirmed_at == env.clock()

    # The confirming code cannot be used again to sign in; the next step's code can.
    assert not _verify(env, member, _code(enrolment.secret, env.clock()), env.clock())
    env.clock.advance(seconds=30)
    assert _verify(env, member, _code(enrolment.secret, env.clock()), env.clock())


def test_wrong_code_at_confirmation_is_refused_generically(env) -> None:
    member = env.world["clinician"].member_id
    enrolment = _enrol(env, member)
    good = _code(enrolment.secret, env.clock())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for bad in (
        wrong,
        "abcdef",
        "",
        "12345",
        _code(enrolment.secret, env.clock() - timedelta(minutes=5)),
    ):
        with (
            pytest.raises(InvalidInput) as refused,
            env.vault.db.transaction(Scope.platform()) as session,
        ):
            totp.confirm_enrolment(session, env.vault.keyring, member, bad, now=env.clock())
        assert refused.value.detail == "the code is not valid"
    with env.vault.db.transaction(Scope.platform()) as session:
        row = session.get(TotpCredential, member)
        assert row is not None and row.confirmed_at is None
        assert totp.remaining_recovery_codes(session, member) == 0
        assert not totp.has_confirmed_mfa(session, member)
        assert (
            len(totp.confirm_enrolment(session, env.vault.keyring, member, good, now=env.clock()))
            == 10
        )


def test_confirmation_without_pending_enrolment_is_a_conflict(env) -> None:
    member = env.world["clinician"].member_id
    with pytest.raises(Conflict), env.vault.db.transaction(Scope.platform()) as session:
        totp.confirm_enrolment(session, env.vault.keyring, member, "123456", now=env.clock())


def test_restarting_an_unconfirmed_enrolment_replaces_the_secret(env) -> None:
    member = env.world["clinician"].member_id
    first = _enrol(env, member)
    second = _enrol(env, member)
    assert first.secret != second.secret
    with pytest.raises(InvalidInput), env.vault.db.transaction(Scope.platform()) as session:
        totp.confirm_enrolment(
            session, env.vault.keyring, member, _code(first.secret, env.clock()), now=env.clock()
        )
    with env.vault.db.transaction(Scope.platform()) as session:
        totp.confirm_enrolment(
            session, env.vault.keyring, member, _code(second.secret, env.clock()), now=env.clock()
        )


def test_confirmed_authenticator_cannot_be_silently_replaced(env) -> None:
    member = env.world["clinician"].member_id
    secret, _ = _enrol_and_confirm(env, member)
    with pytest.raises(Conflict):
        _enrol(env, member)
    env.clock.advance(minutes=1)
    assert _verify(env, member, _code(secret, env.clock()), env.clock())


# -- storage --------------------------------------------------------------------------------


def test_secret_is_not_stored_in_plaintext(env) -> None:
    member = env.world["clinician"].member_id
    secret, _ = _enrol_and_confirm(env, member)
    raw = _raw_rows(env, "totp_credentials")
    assert len(raw) == 1
    for form in (secret.encode(), secret.lower().encode(), base64.b32decode(secret)):
        assert form not in raw[0]


def test_secret_ciphertext_is_bound_to_its_member(env) -> None:
    victim = env.world["clinician"].member_id
    attacker = env.world["coder"].member_id
    secret, _ = _enrol_and_confirm(env, victim)
    _enrol_and_confirm(env, attacker)
    with env.vault.db.transaction(Scope.platform()) as session:
        blob = session.get(TotpCredential, victim).secret_ct
        session.execute(
            update(TotpCredential)
            .where(TotpCredential.member_id == attacker)
            .values(secret_ct=blob)
        )
    env.clock.advance(minutes=1)
    with pytest.raises(DecryptionFailed):
        _verify(env, attacker, _code(secret, env.clock()), env.clock())


# -- verification ---------------------------------------------------------------------------


def test_one_step_of_clock_skew_is_accepted_either_way(env) -> None:
    member = env.world["clinician"].member_id
    secret, _ = _enrol_and_confirm(env, member)
    for offset, accepted in (
        (-30, True),
        (30, True),
        (0, True),
        (-90, False),
        (90, False),
        (-60, False),
        (60, False),
        (-31, False),
        (59, True),
    ):
        env.clock.advance(minutes=10)  # a fresh step each time, beyond any earlier one
        now = env.clock()
        assert int(now.timestamp()) % 30 == 0  # on a step boundary, so -31 s is two steps back
        code = _code(secret, now + timedelta(seconds=offset))
        assert _verify(env, member, code, now) is accepted, offset


def test_replayed_code_is_refused(env) -> None:
    member = env.world["clinician"].member_id
    secret, _ = _enrol_and_confirm(env, member)
    env.clock.advance(minutes=5)
    now = env.clock()
    code = _code(secret, now)
    assert _verify(env, member, code, now)
    assert not _verify(env, member, code, now)
    assert not _verify(env, member, code, now + timedelta(seconds=29))
    # An earlier step inside the skew window is also spent once a later one was accepted.
    assert not _verify(env, member, _code(secret, now - timedelta(seconds=30)), now)
    # A future-skewed code spends its step: the current code is then refused too.
    later = now + timedelta(minutes=5)
    assert _verify(env, member, _code(secret, later + timedelta(seconds=30)), later)
    assert not _verify(env, member, _code(secret, later), later)
    assert _verify(
        env, member, _code(secret, later + timedelta(seconds=60)), later + timedelta(seconds=60)
    )


def test_malformed_codes_just_fail(env) -> None:
    member = env.world["clinician"].member_id
    secret, _ = _enrol_and_confirm(env, member)
    env.clock.advance(minutes=5)
    now = env.clock()
    good = _code(secret, now)
    arabic = good.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for bad in ("", "12345", "1234567", "abcdef", good + "0", good[:5], arabic, "-" + good[1:]):
        assert not _verify(env, member, bad, now), bad
    assert _verify(env, member, f"{good[:3]} {good[3:]}", now)  # as apps display it


def test_no_or_unknown_member_just_fails(env) -> None:
    assert not _verify(env, env.world["coder"].member_id, "123456", env.clock())
    assert not _verify(env, uuid.uuid4(), "123456", env.clock())


# -- recovery codes -------------------------------------------------------------------------


def test_recovery_codes_are_single_use(env) -> None:
    member = env.world["clinician"].member_id
    _, codes = _enrol_and_confirm(env, member)
    assert _recover(env, member, codes[0])
    assert not _recover(env, member, codes[0])
    # Normalised: case, spaces and dashes do not matter.
    assert _recover(env, member, codes[1].upper().replace("-", " "))
    assert _recover(env, member, " " + codes[2].replace("-", "") + " ")
    assert not _recover(env, member, codes[2])
    assert not _recover(env, member, "zzzzz-zzzzz")
    assert not _recover(env, member, "not a code")
    with env.vault.db.transaction(Scope.platform()) as session:
        assert totp.remaining_recovery_codes(session, member) == 7


def test_recovery_codes_belong_to_their_member(env) -> None:
    alice, bob = env.world["clinician"].member_id, env.world["coder"].member_id
    _, alice_codes = _enrol_and_confirm(env, alice)
    _enrol_and_confirm(env, bob)
    assert not _recover(env, bob, alice_codes[0])
    assert _recover(env, alice, alice_codes[0])


def test_only_keyed_hashes_of_recovery_codes_are_stored(env) -> None:
    member = env.world["clinician"].member_id
    _, codes = _enrol_and_confirm(env, member)
    raw = b"\x01".join(_raw_rows(env, "recovery_codes"))
    for code in codes:
        for form in (code, code.replace("-", ""), code.upper(), code.replace("-", "").upper()):
            assert form.encode() not in raw
    # A plain (unkeyed) SHA-256 of a code does not appear either: the hash needs the key.
    import hashlib

    for code in codes:
        assert hashlib.sha256(code.replace("-", "").encode()).hexdigest().encode() not in raw
        assert hashlib.sha256(code.encode()).hexdigest().encode() not in raw


def test_regenerating_recovery_codes_revokes_the_old_ones(env) -> None:
    member = env.world["clinician"].member_id
    _, old = _enrol_and_confirm(env, member)
    assert _recover(env, member, old[0])
    with env.vault.db.transaction(Scope.platform()) as session:
        new = totp.regenerate_recovery_codes(session, env.vault.keyring, member, now=env.clock())
    assert len(new) == 10 and not set(new) & set(old)
    assert not _recover(env, member, old[1])
    assert _recover(env, member, new[0])
    with env.vault.db.transaction(Scope.platform()) as session:
        assert totp.remaining_recovery_codes(session, member) == 9
    with pytest.raises(Conflict), env.vault.db.transaction(Scope.platform()) as session:
        totp.regenerate_recovery_codes(
            session, env.vault.keyring, env.world["coder"].member_id, now=env.clock()
        )


def test_reset_removes_every_factor(env) -> None:
    member = env.world["clinician"].member_id
    other = env.world["coder"].member_id
    secret, codes = _enrol_and_confirm(env, member)
    _enrol_and_confirm(env, other)
    with env.vault.db.transaction(Scope.platform()) as session:
        totp.reset_mfa(session, member)
    env.clock.advance(minutes=1)
    with env.vault.db.transaction(Scope.platform()) as session:
        assert not totp.has_confirmed_mfa(session, member)
        assert totp.remaining_recovery_codes(session, member) == 0
        assert session.get(TotpCredential, member) is None
        # Other members are untouched.
        assert totp.has_confirmed_mfa(session, other)
        assert totp.remaining_recovery_codes(session, other) == 10
    assert not _verify(env, member, _code(secret, env.clock()), env.clock())
    assert not _recover(env, member, codes[0])
    # After the reset the member can enrol again.
    assert _enrol(env, member).secret != secret
