"""Ed25519 signing key for audit checkpoints, kept in the key directory (not the database),
so that someone who can write the database still cannot forge a checkpoint."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from phivault.crypto.master import ensure_key_dir, write_private_file
from phivault.errors import KeyUnavailable

PRIVATE_NAME = "audit-signing.pem"
PUBLIC_NAME = "audit-signing.pub"


def create_signing_key(key_dir: Path) -> None:
    ensure_key_dir(key_dir)
    if (key_dir / PRIVATE_NAME).exists():
        return
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(key_dir / PRIVATE_NAME, pem)
    (key_dir / PUBLIC_NAME).write_text(public_key_b64(private.public_key()) + "\n")


def public_key_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private(key_dir: Path) -> Ed25519PrivateKey:
    path = key_dir / PRIVATE_NAME
    if not path.exists():
        raise KeyUnavailable("no audit signing key; run 'phivault init'")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnavailable("the audit signing key is not an Ed25519 key")
    return key


def load_public(key_dir: Path) -> Ed25519PublicKey:
    path = key_dir / PUBLIC_NAME
    if not path.exists():
        raise KeyUnavailable("no audit signing public key in the key directory")
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(path.read_text().strip()))


def verify_signature(public: Ed25519PublicKey, signature: bytes, payload: bytes) -> bool:
    try:
        public.verify(signature, payload)
    except InvalidSignature:
        return False
    return True
