"""Master key providers: the one key that wraps every tenant data key.

The master key never touches the database. :class:`LocalMasterKeys` reads it from key files
(mode 0600, in a 0700 directory) or from ``PHIVAULT_MASTER_KEY``; a cloud KMS plugs in by
implementing :class:`MasterKeyProvider`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from phivault.errors import KeyUnavailable

KEY_BYTES = 32
_WRAP_NONCE = 12


class MasterKeyProvider(Protocol):
    """Wraps and unwraps data keys. Implementations must never expose the master key."""

    @property
    def current_key_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """Return (master key id, wrapped key) with ``context`` bound as associated data."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes: ...


def key_id_for(key: bytes) -> str:
    """A stable, non-secret name for a key (a truncated hash under a fixed label)."""
    return "mk-" + hashlib.sha256(b"phivault/master-key-id/" + key).hexdigest()[:16]


class LocalMasterKeys:
    """Master keys held in process memory, loaded from files or the environment."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise KeyUnavailable("the current master key is not loaded")
        self._keys = {kid: AESGCM(k) for kid, k in keys.items()}
        self._current = current

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = secrets.token_bytes(_WRAP_NONCE)
        return self._current, nonce + self._keys[self._current].encrypt(nonce, data_key, context)

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise KeyUnavailable(f"master key {key_id} is not available")
        return aead.decrypt(wrapped[:_WRAP_NONCE], wrapped[_WRAP_NONCE:], context)


def _check_private(path: Path, expected: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~expected:
        raise KeyUnavailable(
            f"{path} has mode {mode:o}; it must be {expected:o} (readable by its owner only)"
        )


def ensure_key_dir(key_dir: Path) -> Path:
    master_dir = key_dir / "master"
    for folder in (key_dir, master_dir):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    return master_dir


def write_private_file(path: Path, content: bytes) -> None:
    """Create a file readable by its owner only, without a window where it is wider."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def create_master_key(key_dir: Path) -> str:
    """Generate a new master key file and make it current. Returns its id."""
    master_dir = ensure_key_dir(key_dir)
    key = secrets.token_bytes(KEY_BYTES)
    kid = key_id_for(key)
    write_private_file(master_dir / f"{kid}.key", base64.b64encode(key) + b"\n")
    current = master_dir / "CURRENT"
    tmp = master_dir / "CURRENT.tmp"
    tmp.write_text(kid + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, current)
    return kid


def load_master_keys(key_dir: Path, env_key: str | None = None) -> LocalMasterKeys:
    """Load the master keys: the environment's if given, else every key file in the key dir."""
    if env_key:
        raw = base64.b64decode(env_key, validate=True)
        if len(raw) != KEY_BYTES:
            raise KeyUnavailable("PHIVAULT_MASTER_KEY must be 32 bytes, base64-encoded")
        extra = _read_key_files(key_dir) if (key_dir / "master").is_dir() else {}
        extra[key_id_for(raw)] = raw
        return LocalMasterKeys(extra, key_id_for(raw))
    master_dir = key_dir / "master"
    if not (master_dir / "CURRENT").is_file():
        raise KeyUnavailable(f"no master key in {key_dir}; run 'phivault init' first")
    _check_private(key_dir, 0o700)
    _check_private(master_dir, 0o700)
    keys = _read_key_files(key_dir)
    return LocalMasterKeys(keys, (master_dir / "CURRENT").read_text().strip())


def _read_key_files(key_dir: Path) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for path in sorted((key_dir / "master").glob("mk-*.key")):
        _check_private(path, 0o600)
        raw = base64.b64decode(path.read_bytes().strip(), validate=True)
        if len(raw) != KEY_BYTES or key_id_for(raw) != path.stem:
            raise KeyUnavailable(f"{path.name} is not a valid phivault master key")
        keys[path.stem] = raw
    return keys
