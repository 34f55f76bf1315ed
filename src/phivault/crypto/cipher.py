"""AES-256-GCM for PHI fields, bound to their place (I-6).

Ciphertext layout: ``0x01 | key version (2 bytes, big-endian) | nonce (12) | ciphertext+tag``.
The associated data names tenant, table, column and row, so a ciphertext copied to another
row, column or tenant fails authentication instead of decrypting.
"""

from __future__ import annotations

import json
import secrets
import struct
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = 1
_HEADER = struct.Struct(">BH")
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A ciphertext did not authenticate for the place it was read from."""


def associated_data(tenant_id: uuid.UUID, table: str, column: str, row_id: str) -> bytes:
    return b"phivault/v1|%s|%s|%s|%s" % (
        tenant_id.hex.encode(),
        table.encode(),
        column.encode(),
        row_id.encode(),
    )


def key_version_of(blob: bytes) -> int:
    fmt, version = _HEADER.unpack_from(blob)
    if fmt != FORMAT_V1:
        raise DecryptionFailed("unknown ciphertext format")
    return int(version)


def seal(aead: AESGCM, version: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return _HEADER.pack(FORMAT_V1, version) + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    start = _HEADER.size
    nonce = blob[start : start + NONCE_BYTES]
    try:
        return aead.decrypt(nonce, blob[start + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionFailed("ciphertext does not belong here or was altered") from exc


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw)
