"""Per-tenant data keys wrapped by the master key (ENC-3), with an in-memory cache.

Key versions are immutable once created, so unwrapped keys are cached by
(tenant, purpose, version). Which version is *active* can change under a running server when
an operator rotates keys, so that lookup is cached for a few seconds only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
import uuid
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.crypto import cipher
from phivault.crypto.master import KEY_BYTES, MasterKeyProvider
from phivault.crypto.models import SystemKey, TenantKey
from phivault.errors import KeyUnavailable

DATA = "data"
INDEX = "index"
ACTIVE_TTL_SECONDS = 5.0
AUDIT_KEY_NAME = "audit-hmac"
# Encrypts TOTP seeds and keys HMACs of recovery codes and throttle keys (not PHI, not audit).
IDENTITY_KEY_NAME = "identity"


def _wrap_context(tenant_id: uuid.UUID, purpose: str, version: int) -> bytes:
    return b"phivault/tenant-key|%s|%s|%d" % (tenant_id.hex.encode(), purpose.encode(), version)


def _system_context(name: str) -> bytes:
    return b"phivault/system-key|" + name.encode()


class Keyring:
    """Loads, creates and caches keys. One per process; thread-safe."""

    def __init__(self, master: MasterKeyProvider) -> None:
        self.master = master
        self._keys: dict[tuple[uuid.UUID, str, int], bytes] = {}
        self._active: dict[tuple[uuid.UUID, str], tuple[int, float]] = {}
        self._system: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # -- creation -------------------------------------------------------------------------
    def create_tenant_keys(self, session: Session, tenant_id: uuid.UUID, now: datetime) -> None:
        for purpose in (DATA, INDEX):
            self.add_key_version(session, tenant_id, purpose, 1, now)

    def add_key_version(
        self, session: Session, tenant_id: uuid.UUID, purpose: str, version: int, now: datetime
    ) -> None:
        raw = secrets.token_bytes(KEY_BYTES)
        kid, wrapped = self.master.wrap(raw, _wrap_context(tenant_id, purpose, version))
        session.add(
            TenantKey(
                tenant_id=tenant_id,
                purpose=purpose,
                version=version,
                wrapped=wrapped,
                master_key_id=kid,
                state="active",
                created_at=now,
            )
        )
        session.flush()
        with self._lock:
            self._keys[(tenant_id, purpose, version)] = raw
            self._active.pop((tenant_id, purpose), None)

    def ensure_system_key(self, session: Session, name: str, now: datetime) -> None:
        if session.get(SystemKey, name) is not None:
            return
        raw = secrets.token_bytes(KEY_BYTES)
        kid, wrapped = self.master.wrap(raw, _system_context(name))
        session.add(SystemKey(name=name, wrapped=wrapped, master_key_id=kid, created_at=now))
        session.flush()

    # -- lookup ---------------------------------------------------------------------------
    def system_key(self, session: Session, name: str) -> bytes:
        cached = self._system.get(name)
        if cached is not None:
            return cached
        row = session.get(SystemKey, name)
        if row is None:
            raise KeyUnavailable(f"system key {name} is missing; run 'phivault init'")
        raw = self.master.unwrap(row.master_key_id, row.wrapped, _system_context(name))
        self._system[name] = raw
        return raw

    def key(self, session: Session, tenant_id: uuid.UUID, purpose: str, version: int) -> bytes:
        cache_key = (tenant_id, purpose, version)
        raw = self._keys.get(cache_key)
        if raw is not None:
            return raw
        row = session.get(TenantKey, (tenant_id, purpose, version))
        if row is None:
            raise KeyUnavailable(f"key version {version} of a tenant is missing")
        raw = self.master.unwrap(
            row.master_key_id, row.wrapped, _wrap_context(tenant_id, purpose, version)
        )
        with self._lock:
            self._keys[cache_key] = raw
        return raw

    def active_version(self, session: Session, tenant_id: uuid.UUID, purpose: str) -> int:
        cached = self._active.get((tenant_id, purpose))
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        version = session.scalar(
            select(TenantKey.version)
            .where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == purpose)
            .where(TenantKey.state == "active")
            .order_by(TenantKey.version.desc())
            .limit(1)
        )
        if version is None:
            raise KeyUnavailable("the tenant has no active key")
        with self._lock:
            self._active[(tenant_id, purpose)] = (version, now + ACTIVE_TTL_SECONDS)
        return version

    def forget_active(self) -> None:
        with self._lock:
            self._active.clear()

    def for_tenant(self, session: Session, tenant_id: uuid.UUID) -> TenantCipher:
        return TenantCipher(self, session, tenant_id)


def normalize_text(value: str) -> str:
    """Case-, accent- and spacing-insensitive form used for blind indexes."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


class TenantCipher:
    """Encrypts and decrypts one tenant's values inside one transaction."""

    def __init__(self, keyring: Keyring, session: Session, tenant_id: uuid.UUID) -> None:
        self._keyring = keyring
        self._session = session
        self.tenant_id = tenant_id
        self._aeads: dict[int, AESGCM] = {}

    def _aead(self, version: int) -> AESGCM:
        aead = self._aeads.get(version)
        if aead is None:
            raw = self._keyring.key(self._session, self.tenant_id, DATA, version)
            aead = self._aeads[version] = AESGCM(raw)
        return aead

    @property
    def active_version(self) -> int:
        return self._keyring.active_version(self._session, self.tenant_id, DATA)

    def encrypt(
        self,
        table: str,
        column: str,
        row_id: uuid.UUID | str,
        plaintext: bytes,
        version: int | None = None,
    ) -> bytes:
        version = self.active_version if version is None else version
        aad = cipher.associated_data(self.tenant_id, table, column, str(row_id))
        return cipher.seal(self._aead(version), version, plaintext, aad)

    def decrypt(self, table: str, column: str, row_id: uuid.UUID | str, blob: bytes) -> bytes:
        version = cipher.key_version_of(blob)
        aad = cipher.associated_data(self.tenant_id, table, column, str(row_id))
        return cipher.open_sealed(self._aead(version), blob, aad)

    def encrypt_text(self, table: str, column: str, row_id: uuid.UUID, value: str) -> bytes:
        return self.encrypt(table, column, row_id, value.encode())

    def decrypt_text(self, table: str, column: str, row_id: uuid.UUID, blob: bytes) -> str:
        return self.decrypt(table, column, row_id, blob).decode()

    def encrypt_json(self, table: str, column: str, row_id: uuid.UUID, value: Any) -> bytes:
        return self.encrypt(table, column, row_id, cipher.dumps(value))

    def decrypt_json(self, table: str, column: str, row_id: uuid.UUID, blob: bytes) -> Any:
        return cipher.loads(self.decrypt(table, column, row_id, blob))

    def file_key(self, version: int | None = None) -> tuple[int, bytes]:
        """The data key itself: files derive a key of their own from it (crypto.stream)."""
        version = self.active_version if version is None else version
        return version, self._keyring.key(self._session, self.tenant_id, DATA, version)

    def blind_index(self, kind: str, *parts: str) -> bytes:
        """Keyed HMAC of normalized parts: equal inputs match, the index reveals nothing."""
        version = self._keyring.active_version(self._session, self.tenant_id, INDEX)
        key = self._keyring.key(self._session, self.tenant_id, INDEX, version)
        message = "\x1f".join([kind, *(normalize_text(p) for p in parts)]).encode()
        return hmac.new(key, message, hashlib.sha256).digest()
