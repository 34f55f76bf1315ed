"""Chunked AES-256-GCM for documents, streamed in and out without holding a file in memory.

File layout: ``b"PVF1" | key version (2) | salt (16)`` then chunks, each
``length (4) | ciphertext+tag``. Every file gets its own AES-256 key, derived with HKDF from the
tenant data key, the random salt and the file's place (tenant, table, column, row), so nonces
never repeat across files however many a tenant stores. A chunk's nonce is its 4-byte counter
and a final-chunk flag, so reordering, dropping or cutting off chunks fails authentication.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from phivault.crypto.cipher import DecryptionFailed

MAGIC = b"PVF1"
CHUNK_BYTES = 64 * 1024
SALT_BYTES = 16
_HEADER = struct.Struct(">4sH16s")
_LEN = struct.Struct(">I")
TAG_BYTES = 16


def _nonce(counter: int, final: bool) -> bytes:
    return struct.pack(">7xIB", counter, 1 if final else 0)


def file_aead(data_key: bytes, salt: bytes, aad: bytes) -> AESGCM:
    """The file's own key: HKDF-SHA256(data key, salt, place)."""
    info = b"phivault/file-key|" + aad
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=salt, info=info).derive(data_key))


class StreamEncryptor:
    """Feed plaintext of any size with :meth:`write`; call :meth:`finish` once at the end."""

    def __init__(self, data_key: bytes, version: int, aad: bytes, sink: BinaryIO) -> None:
        salt = secrets.token_bytes(SALT_BYTES)
        self._aead = file_aead(data_key, salt, aad)
        self._aad = aad
        self._sink = sink
        self._counter = 0
        self._buffer = bytearray()
        self.plaintext_bytes = 0
        sink.write(_HEADER.pack(MAGIC, version, salt))

    def write(self, data: bytes) -> None:
        self.plaintext_bytes += len(data)
        self._buffer += data
        # Keep at least one byte back: the last chunk must be sealed with the final flag.
        while len(self._buffer) > CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), final=False)
            del self._buffer[:CHUNK_BYTES]

    def finish(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _seal(self, chunk: bytes, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._counter, final), chunk, self._aad)
        self._sink.write(_LEN.pack(len(sealed)) + sealed)
        self._counter += 1


def read_header(source: BinaryIO) -> tuple[int, bytes]:
    raw = source.read(_HEADER.size)
    if len(raw) != _HEADER.size:
        raise DecryptionFailed("encrypted file is truncated")
    magic, version, salt = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise DecryptionFailed("not a phivault encrypted file")
    return int(version), bytes(salt)


def decrypt_chunks(data_key: bytes, aad: bytes, salt: bytes, source: BinaryIO) -> Iterator[bytes]:
    """Yield plaintext chunks; raises :class:`DecryptionFailed` on any tampering."""
    aead = file_aead(data_key, salt, aad)
    counter = 0
    pending = source.read(_LEN.size)
    while True:
        if len(pending) != _LEN.size:
            raise DecryptionFailed("encrypted file is truncated")
        (length,) = _LEN.unpack(pending)
        if length < TAG_BYTES or length > CHUNK_BYTES + TAG_BYTES:
            raise DecryptionFailed("encrypted file is corrupt")
        sealed = source.read(length)
        if len(sealed) != length:
            raise DecryptionFailed("encrypted file is truncated")
        pending = source.read(_LEN.size)
        final = not pending
        try:
            yield aead.decrypt(_nonce(counter, final), sealed, aad)
        except InvalidTag as exc:
            raise DecryptionFailed("encrypted file was altered or cut short") from exc
        if final:
            return
        counter += 1


def encrypt_iterable(
    data_key: bytes, version: int, aad: bytes, chunks: Iterable[bytes], sink: BinaryIO
) -> int:
    encryptor = StreamEncryptor(data_key, version, aad, sink)
    for chunk in chunks:
        encryptor.write(chunk)
    encryptor.finish()
    return encryptor.plaintext_bytes
