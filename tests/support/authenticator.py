"""A software WebAuthn authenticator, for tests that need passkeys without a browser.

It plays both the authenticator and the client (browser) part of a ceremony: given the JSON
options the server produced, it returns the ``PublicKeyCredential`` JSON the browser would
post back (``id``, ``rawId``, ``type``, ``response{...}``), in the shape py_webauthn's
``verify_registration_response`` / ``verify_authentication_response`` accept.

* ``create``: a new EC P-256 key per credential; ``attestationObject`` with fmt "none" and
  authData = rpIdHash | flags (UP, UV, AT) | signCount | AAGUID (zeros) | credentialId |
  COSE key (cbor2); ``clientDataJSON`` of type ``webauthn.create``.
* ``get``: authenticatorData = rpIdHash | flags (UP, UV) | signCount, and an ES256 signature
  over authenticatorData || SHA-256(clientDataJSON). The counter grows by one per assertion
  (or stays 0 with ``counter=False``, like synced passkeys).

Every keyword override (origin, rp_id, challenge, credential_id, sign_count, tampering) exists
so tests can forge the responses an attacker or a broken client would send.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01  # user present
FLAG_UV = 0x04  # user verified
FLAG_AT = 0x40  # attested credential data included
COSE_ALG_ES256 = -7
ZERO_AAGUID = bytes(16)


class NoCredential(Exception):
    """The authenticator holds none of the credentials the options allow (or it was excluded)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _options(options: str | Mapping[str, Any]) -> Mapping[str, Any]:
    return json.loads(options) if isinstance(options, str) else options


@dataclass
class SoftCredential:
    """One credential held by the authenticator: its private key never leaves it."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: COSE_ALG_ES256,  # alg
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


class SoftwareAuthenticator:
    """A passkey provider in memory. ``origin`` is the web origin the "browser" is on."""

    def __init__(self, origin: str, *, counter: bool = True, user_verified: bool = True) -> None:
        self.origin = origin
        self.counter = counter
        self.user_verified = user_verified
        self.credentials: dict[bytes, SoftCredential] = {}

    # -- helpers -------------------------------------------------------------------------
    def _flags(self, *extra: int) -> int:
        flags = FLAG_UP | (FLAG_UV if self.user_verified else 0)
        for flag in extra:
            flags |= flag
        return flags

    @staticmethod
    def _client_data(kind: str, challenge: bytes, origin: str) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": b64url(challenge),
                "origin": origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    # -- navigator.credentials.create() --------------------------------------------------
    def create(
        self,
        options: str | Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        credential_id: bytes | None = None,
    ) -> str:
        """Register a new credential (or re-attest ``credential_id``) and return its JSON."""
        opts = _options(options)
        rp_id = rp_id if rp_id is not None else str(opts["rp"]["id"])
        challenge = challenge if challenge is not None else b64url_decode(opts["challenge"])
        algorithms = {int(p["alg"]) for p in opts["pubKeyCredParams"]}
        if COSE_ALG_ES256 not in algorithms:
            raise NoCredential("the relying party does not accept ES256")
        if credential_id is None:
            excluded = {b64url_decode(c["id"]) for c in opts.get("excludeCredentials", [])}
            if excluded & self.credentials.keys():
                raise NoCredential("a credential of this authenticator is excluded")
            credential = SoftCredential(
                credential_id=secrets.token_bytes(32),
                private_key=ec.generate_private_key(ec.SECP256R1()),
                rp_id=rp_id,
                user_handle=b64url_decode(opts["user"]["id"]),
            )
            self.credentials[credential.credential_id] = credential
        else:
            credential = self.credentials[credential_id]
        cid = credential.credential_id
        auth_data = (
            _sha256(rp_id.encode())
            + bytes([self._flags(FLAG_AT)])
            + struct.pack(">I", credential.sign_count)
            + ZERO_AAGUID
            + struct.pack(">H", len(cid))
            + cid
            + credential.cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", challenge, origin or self.origin)
        return json.dumps(
            {
                "id": b64url(cid),
                "rawId": b64url(cid),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    # -- navigator.credentials.get() -----------------------------------------------------
    def get(
        self,
        options: str | Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        credential_id: bytes | None = None,
        sign_count: int | None = None,
        tamper_signature: bool = False,
        user_handle: bytes | None = None,
    ) -> str:
        """Sign an assertion with a credential the options allow (or ``credential_id``)."""
        opts = _options(options)
        rp_id = rp_id if rp_id is not None else str(opts["rpId"])
        challenge = challenge if challenge is not None else b64url_decode(opts["challenge"])
        if credential_id is None:
            allowed = [b64url_decode(c["id"]) for c in opts.get("allowCredentials", [])]
            held = [cid for cid in allowed if cid in self.credentials]
            if not held:
                raise NoCredential("none of the allowed credentials is held here")
            credential_id = held[0]
        credential = self.credentials[credential_id]
        if sign_count is None:
            if self.counter:
                credential.sign_count += 1
            sign_count = credential.sign_count
        auth_data = _sha256(rp_id.encode()) + bytes([self._flags()]) + struct.pack(">I", sign_count)
        client_data = self._client_data("webauthn.get", challenge, origin or self.origin)
        signature = credential.private_key.sign(
            auth_data + _sha256(client_data), ec.ECDSA(hashes.SHA256())
        )
        if tamper_signature:
            # Still well-formed DER, but the last byte of "s" is wrong.
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        handle = credential.user_handle if user_handle is None else user_handle
        return json.dumps(
            {
                "id": b64url(credential_id),
                "rawId": b64url(credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(handle),
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )
