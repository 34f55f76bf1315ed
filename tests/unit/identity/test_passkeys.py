"""Passkeys (WebAuthn) with a software authenticator, on SQLite and PostgreSQL (AUTH-5)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from phivault.db.engine import Scope
from phivault.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from phivault.identity import passkeys, totp
from phivault.identity.credentials import WebAuthnCredential
from phivault.identity.session_models import LoginSession
from tests.support.authenticator import SoftwareAuthenticator, b64url, b64url_decode

RP_ID = "vault.example.test"
ORIGIN = "https://vault.example.test"
GENERIC = "the passkey response could not be verified"


def _login(env, member_id: uuid.UUID) -> uuid.UUID:
    """A signed-in (password verified, MFA pending) session for the member."""
    now = env.clock()
    with env.vault.db.transaction(Scope.platform()) as session:
        row = LoginSession(
            id=uuid.uuid4(),
            secret_hash=hashlib.sha256(secrets.token_bytes(32)).digest(),
            member_id=member_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=12),
            idle_seconds=600,
            password_verified_at=now,
            mfa_verified_at=None,
            fresh_auth_at=now,
            csrf_token=secrets.token_hex(16),
        )
        session.add(row)
    return row.id


class Member:
    """One persona at the keyboard: a login session and an authenticator."""

    def __init__(self, env, persona: str) -> None:
        self.env = env
        self.name = persona
        self.id = env.world[persona].member_id
        self.login = _login(env, self.id)
        self.authenticator = SoftwareAuthenticator(ORIGIN)

    def registration_options(self) -> str:
        with self.env.vault.db.transaction(Scope.platform()) as session:
            return passkeys.registration_options(
                session,
                self.login,
                self.id,
                username=self.name,
                display_name=self.name.title(),
                rp_id=RP_ID,
                rp_name="phivault",
                now=self.env.clock(),
            )

    def verify_registration(
        self, response: str, *, label: str = "laptop", rp_id: str = RP_ID, origin: str = ORIGIN
    ) -> uuid.UUID:
        with self.env.vault.db.transaction(Scope.platform()) as session:
            return passkeys.verify_registration(
                session,
                self.login,
                self.id,
                response,
                rp_id=rp_id,
                origin=origin,
                label=label,
                now=self.env.clock(),
            )

    def register(
        self, label: str = "laptop", authenticator: SoftwareAuthenticator | None = None
    ) -> uuid.UUID:
        device = authenticator or self.authenticator
        return self.verify_registration(device.create(self.registration_options()), label=label)

    def authentication_options(self) -> str:
        with self.env.vault.db.transaction(Scope.platform()) as session:
            return passkeys.authentication_options(
                session, self.login, self.id, rp_id=RP_ID, now=self.env.clock()
            )

    def verify_authentication(
        self, response: str, *, rp_id: str = RP_ID, origin: str = ORIGIN
    ) -> uuid.UUID:
        with self.env.vault.db.transaction(Scope.platform()) as session:
            return passkeys.verify_authentication(
                session,
                self.login,
                self.id,
                response,
                rp_id=rp_id,
                origin=origin,
                now=self.env.clock(),
            )

    def refused(self, verify, response: str, **kwargs) -> None:
        """The response is refused with the generic message; the refusal is committed."""
        with (
            self.env.vault.db.transaction(Scope.platform()) as session,
            pytest.raises(InvalidInput) as refused,
        ):
            verify(
                session,
                self.login,
                self.id,
                response,
                now=self.env.clock(),
                **{"rp_id": RP_ID, "origin": ORIGIN, **kwargs},
            )
        assert refused.value.detail == GENERIC

    def refuse_registration(self, response: str, **kwargs) -> None:
        self.refused(passkeys.verify_registration, response, label="laptop", **kwargs)

    def refuse_authentication(self, response: str, **kwargs) -> None:
        self.refused(passkeys.verify_authentication, response, **kwargs)

    def stored_challenge(self) -> bytes | None:
        with self.env.vault.db.transaction(Scope.platform()) as session:
            return session.get(LoginSession, self.login).webauthn_challenge

    def credential(self, passkey_id: uuid.UUID) -> WebAuthnCredential:
        with self.env.vault.db.transaction(Scope.platform()) as session:
            row = session.get(WebAuthnCredential, (self.id, passkey_id))
            assert row is not None
            return row


# -- the happy path ----------------------------------------------------------------------


def test_register_then_authenticate(env) -> None:
    alice = Member(env, "clinician")
    options = json.loads(alice.registration_options())
    assert options["rp"] == {"name": "phivault", "id": RP_ID}
    assert b64url_decode(options["user"]["id"]) == alice.id.bytes
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -257, -8]
    assert options["excludeCredentials"] == []
    assert len(b64url_decode(options["challenge"])) == 32
    assert alice.stored_challenge() is not None

    passkey_id = alice.verify_registration(alice.authenticator.create(options), label="  My  key ")
    assert alice.stored_challenge() is None
    stored = alice.credential(passkey_id)
    (held,) = alice.authenticator.credentials.values()
    assert stored.credential_id == held.credential_id
    assert stored.sign_count == 0 and stored.label == "My key" and stored.last_used_at is None
    with env.vault.db.transaction(Scope.platform()) as session:
        assert totp.has_confirmed_mfa(session, alice.id)
        assert [p.id for p in passkeys.list_passkeys(session, alice.id)] == [passkey_id]

    env.clock.advance(minutes=1)
    auth_options = json.loads(alice.authentication_options())
    assert auth_options["rpId"] == RP_ID
    assert auth_options["userVerification"] == "preferred"
    assert [b64url_decode(c["id"]) for c in auth_options["allowCredentials"]] == [
        held.credential_id
    ]
    assert alice.verify_authentication(alice.authenticator.get(auth_options)) == passkey_id
    assert alice.stored_challenge() is None
    stored = alice.credential(passkey_id)
    assert stored.sign_count == 1 and stored.last_used_at == env.clock()

    # A second registration excludes the first passkey, and a second authenticator works.
    options = json.loads(alice.registration_options())
    assert [b64url_decode(c["id"]) for c in options["excludeCredentials"]] == [held.credential_id]
    phone = SoftwareAuthenticator(ORIGIN)
    second = alice.verify_registration(phone.create(options), label="phone")
    env.clock.advance(minutes=1)
    assert alice.verify_authentication(phone.get(alice.authentication_options())) == second


def test_only_public_key_material_is_stored(env) -> None:
    alice = Member(env, "clinician")
    passkey_id = alice.register()
    (held,) = alice.authenticator.credentials.values()
    private = held.private_key.private_numbers().private_value.to_bytes(32, "big")
    stored = alice.credential(passkey_id)
    assert stored.public_key == held.cose_public_key()
    assert private not in stored.public_key


def test_counterless_authenticators_are_accepted(env) -> None:
    """Synced passkeys report a zero counter every time: no increase can be demanded."""
    alice = Member(env, "clinician")
    alice.authenticator = SoftwareAuthenticator(ORIGIN, counter=False)
    passkey_id = alice.register()
    for _ in range(3):
        env.clock.advance(seconds=10)
        assert (
            alice.verify_authentication(alice.authenticator.get(alice.authentication_options()))
            == passkey_id
        )
    assert alice.credential(passkey_id).sign_count == 0


# -- refusals ------------------------------------------------------------------------------


def test_wrong_origin_is_refused(env) -> None:
    alice = Member(env, "clinician")
    evil = "https://vault.example.test.evil.example"
    alice.refuse_registration(alice.authenticator.create(alice.registration_options(), origin=evil))
    alice.refuse_registration(
        alice.authenticator.create(alice.registration_options()),
        origin="https://other.example.test",
    )
    with env.vault.db.transaction(Scope.platform()) as session:
        assert passkeys.list_passkeys(session, alice.id) == []
    alice.register()
    alice.refuse_authentication(
        alice.authenticator.get(alice.authentication_options(), origin=evil)
    )
    alice.refuse_authentication(
        alice.authenticator.get(alice.authentication_options(), origin="http://vault.example.test")
    )


def test_wrong_rp_id_is_refused(env) -> None:
    alice = Member(env, "clinician")
    alice.refuse_registration(
        alice.authenticator.create(alice.registration_options(), rp_id="evil.example")
    )
    alice.refuse_registration(
        alice.authenticator.create(alice.registration_options()), rp_id="other.example.test"
    )
    passkey_id = alice.register()
    alice.refuse_authentication(
        alice.authenticator.get(alice.authentication_options(), rp_id="evil.example")
    )
    alice.refuse_authentication(
        alice.authenticator.get(alice.authentication_options()), rp_id="example.test"
    )
    assert alice.credential(passkey_id).last_used_at is None


def test_replayed_responses_are_refused(env) -> None:
    alice = Member(env, "clinician")
    registration = alice.authenticator.create(alice.registration_options())
    alice.verify_registration(registration)
    # The same registration answer again: its challenge is spent (nothing pending).
    alice.refuse_registration(registration)
    # ... or with a new challenge pending, it answers the wrong one.
    alice.registration_options()
    alice.refuse_registration(registration)

    assertion = alice.authenticator.get(alice.authentication_options())
    alice.verify_authentication(assertion)
    alice.refuse_authentication(assertion)
    alice.authentication_options()
    alice.refuse_authentication(assertion)
    # A response to an older challenge is refused once a newer one was issued.
    stale = alice.authenticator.get(alice.authentication_options())
    fresh = alice.authentication_options()
    alice.refuse_authentication(stale)
    assert alice.stored_challenge() is None
    alice.refuse_authentication(alice.authenticator.get(fresh))  # consumed by the stale answer


def test_challenge_is_single_use_even_when_the_answer_fails(env) -> None:
    alice = Member(env, "clinician")
    alice.register()
    options = alice.authentication_options()
    alice.refuse_authentication(alice.authenticator.get(options, origin="https://evil.example"))
    assert alice.stored_challenge() is None
    # A correct answer to the same challenge comes too late.
    alice.refuse_authentication(alice.authenticator.get(options))

    # Registration likewise (a second device: the first one is excluded now).
    phone = SoftwareAuthenticator(ORIGIN)
    options = alice.registration_options()
    alice.refuse_registration(phone.create(options, rp_id="evil.example"))
    alice.refuse_registration(phone.create(options))


def test_discard_challenge_after_a_rolled_back_failure(env) -> None:
    alice = Member(env, "clinician")
    alice.register()
    options = alice.authentication_options()
    with pytest.raises(InvalidInput):
        alice.verify_authentication(alice.authenticator.get(options, origin="https://evil.example"))
    # The caller's transaction rolled back, restoring the challenge; the caller discards it.
    assert alice.stored_challenge() is not None
    with env.vault.db.transaction(Scope.platform()) as session:
        passkeys.discard_challenge(session, alice.login)
    assert alice.stored_challenge() is None
    alice.refuse_authentication(alice.authenticator.get(options))


def test_expired_challenge_is_refused(env) -> None:
    alice = Member(env, "clinician")
    options = alice.registration_options()
    env.clock.advance(minutes=6)
    alice.refuse_registration(alice.authenticator.create(options))
    alice.register()
    options = alice.authentication_options()
    env.clock.advance(minutes=5)
    alice.refuse_authentication(alice.authenticator.get(options))
    env.clock.advance(seconds=1)
    alice.verify_authentication(alice.authenticator.get(alice.authentication_options()))


def test_credential_of_another_member_is_refused(env) -> None:
    alice, bob = Member(env, "clinician"), Member(env, "coder")
    alice.register()
    bob_key = bob.register()
    (alice_cid,) = alice.authenticator.credentials
    # Alice's authenticator answers Bob's challenge with Alice's (valid, signed) credential.
    forged = alice.authenticator.get(bob.authentication_options(), credential_id=alice_cid)
    bob.refuse_authentication(forged)
    # ... even claiming Bob's user handle.
    forged = alice.authenticator.get(
        bob.authentication_options(), credential_id=alice_cid, user_handle=bob.id.bytes
    )
    bob.refuse_authentication(forged)
    # Bob's own credential with a user handle that is not Bob's is refused too.
    bob.refuse_authentication(
        bob.authenticator.get(bob.authentication_options(), user_handle=alice.id.bytes)
    )
    assert bob.verify_authentication(bob.authenticator.get(bob.authentication_options())) == bob_key
    # Alice cannot use Bob's login session, nor see options for it.
    with pytest.raises(Unauthenticated), env.vault.db.transaction(Scope.platform()) as session:
        passkeys.authentication_options(session, bob.login, alice.id, rp_id=RP_ID, now=env.clock())


def test_tampered_signature_is_refused(env) -> None:
    alice = Member(env, "clinician")
    passkey_id = alice.register()
    alice.refuse_authentication(
        alice.authenticator.get(alice.authentication_options(), tamper_signature=True)
    )
    # Tampered authenticator data (e.g. a flag flipped after signing) fails the same way.
    response = json.loads(alice.authenticator.get(alice.authentication_options()))
    auth_data = bytearray(b64url_decode(response["response"]["authenticatorData"]))
    auth_data[-1] ^= 0x01
    response["response"]["authenticatorData"] = b64url(bytes(auth_data))
    alice.refuse_authentication(json.dumps(response))
    stored = alice.credential(passkey_id)
    assert stored.sign_count == 0 and stored.last_used_at is None


def test_sign_count_must_increase(env) -> None:
    alice = Member(env, "clinician")
    passkey_id = alice.register()
    alice.verify_authentication(alice.authenticator.get(alice.authentication_options()))
    alice.verify_authentication(alice.authenticator.get(alice.authentication_options()))
    assert alice.credential(passkey_id).sign_count == 2
    # A cloned authenticator replays an old or equal counter.
    for count in (2, 1, 0):
        alice.refuse_authentication(
            alice.authenticator.get(alice.authentication_options(), sign_count=count)
        )
    assert alice.credential(passkey_id).sign_count == 2
    alice.verify_authentication(
        alice.authenticator.get(alice.authentication_options(), sign_count=7)
    )
    assert alice.credential(passkey_id).sign_count == 7


def test_malformed_responses_are_refused_generically(env) -> None:
    alice = Member(env, "clinician")
    for junk in (
        "",
        "null",
        "[]",
        "{}",
        '{"id": "x", "rawId": "y", "type": "public-key"}',
        "not json",
    ):
        alice.registration_options()
        alice.refuse_registration(junk)
    alice.register()
    valid = json.loads(alice.authenticator.get(alice.authentication_options()))
    for mutate in (
        lambda r: r.update(type="password"),
        lambda r: r.update(rawId=b64url(b"\x00" * 16)),
        lambda r: r["response"].update(signature="!!!"),
        lambda r: r["response"].update(authenticatorData=b64url(b"short")),
        lambda r: r["response"].pop("clientDataJSON"),
    ):
        broken = json.loads(json.dumps(valid))
        mutate(broken)
        alice.authentication_options()
        alice.refuse_authentication(json.dumps(broken))


def test_duplicate_credential_id_is_a_conflict(env) -> None:
    alice, bob = Member(env, "clinician"), Member(env, "coder")
    alice.register()
    (cid,) = alice.authenticator.credentials
    # The same authenticator credential presented again, for Bob.
    with pytest.raises(Conflict):
        bob.verify_registration(
            alice.authenticator.create(bob.registration_options(), credential_id=cid)
        )
    with env.vault.db.transaction(Scope.platform()) as session:
        owners = session.scalars(
            select(WebAuthnCredential.member_id).where(WebAuthnCredential.credential_id == cid)
        ).all()
    assert owners == [alice.id]


def test_label_is_validated_before_the_challenge_is_spent(env) -> None:
    alice = Member(env, "clinician")
    options = alice.registration_options()
    response = alice.authenticator.create(options)
    with pytest.raises(InvalidInput):
        alice.verify_registration(response, label="   ")
    with pytest.raises(InvalidInput):
        alice.verify_registration(response, label="x" * 121)
    assert alice.verify_registration(response, label="Key") is not None


def test_session_must_be_the_members_and_alive(env) -> None:
    alice = Member(env, "clinician")
    with env.vault.db.transaction(Scope.platform()) as session:
        session.get(LoginSession, alice.login).revoked_at = env.clock()
    with pytest.raises(Unauthenticated):
        alice.registration_options()
    with pytest.raises(Unauthenticated), env.vault.db.transaction(Scope.platform()) as session:
        passkeys.registration_options(
            session,
            uuid.uuid4(),
            alice.id,
            username="x",
            display_name="X",
            rp_id=RP_ID,
            rp_name="p",
            now=env.clock(),
        )
    bob = Member(env, "coder")
    env.clock.advance(hours=13)
    with pytest.raises(Unauthenticated):
        bob.registration_options()


def test_no_passkeys_no_authentication_options(env) -> None:
    alice = Member(env, "clinician")
    with pytest.raises(Conflict):
        alice.authentication_options()


def test_list_and_remove_passkeys(env) -> None:
    alice, bob = Member(env, "clinician"), Member(env, "coder")
    first = alice.register("laptop")
    env.clock.advance(seconds=1)
    phone = SoftwareAuthenticator(ORIGIN)
    second = alice.register("phone", phone)
    bob_key = bob.register()
    with env.vault.db.transaction(Scope.platform()) as session:
        listed = passkeys.list_passkeys(session, alice.id)
        assert [(p.id, p.label) for p in listed] == [(first, "laptop"), (second, "phone")]
        with pytest.raises(NotFound):
            passkeys.remove_passkey(session, alice.id, bob_key)
        passkeys.remove_passkey(session, alice.id, first)
    with env.vault.db.transaction(Scope.platform()) as session:
        assert [p.id for p in passkeys.list_passkeys(session, alice.id)] == [second]
        assert [p.id for p in passkeys.list_passkeys(session, bob.id)] == [bob_key]
    # The removed passkey is no longer offered and no longer signs in.
    (first_cid,) = alice.authenticator.credentials
    options = json.loads(alice.authentication_options())
    assert [b64url_decode(c["id"]) for c in options["allowCredentials"]] == list(phone.credentials)
    alice.refuse_authentication(alice.authenticator.get(options, credential_id=first_cid))
    assert alice.verify_authentication(phone.get(alice.authentication_options())) == second


def test_mfa_reset_removes_passkeys(env) -> None:
    alice = Member(env, "clinician")
    alice.register()
    with env.vault.db.transaction(Scope.platform()) as session:
        totp.reset_mfa(session, alice.id)
    with env.vault.db.transaction(Scope.platform()) as session:
        assert passkeys.list_passkeys(session, alice.id) == []
        assert not totp.has_confirmed_mfa(session, alice.id)
    with pytest.raises(Conflict):
        alice.authentication_options()
