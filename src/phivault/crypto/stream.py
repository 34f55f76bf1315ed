"""Chunked AES-256-GCM for documents, streamed in and out without holding a file in memory.

File layout: ``b"PVF1" | key version (2) | nonce prefix (7)`` then chunks, each
``length (4) | ciphertext+tag``. A chunk's nonce is the prefix, its 4-byte counter and a
final-chunk flag, so reordering, dropping or cutting off chunks fails authentication.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from phivault.crypto.cipher import DecryptionFailed

MAGIC = b"PVF1"
CHUNK_BYTES = 64 * 1024
_PREFIX_BYTES = 7
_HEADER = struct.Struct(">4sH7s")
_LEN = struct.Struct(">I")
TAG_BYTES = 16


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if final else 0)


class StreamEncryptor:
    """Feed plaintext of any size with :meth:`write`; call :meth:`finish` once at the end."""

    def __init__(self, aead: AESGCM, version: int, aad: bytes, sink: BinaryIO) -> None:
        self._aead = aead
        self._aad = aad
        self._sink = sink
        self._prefix = secrets.token_bytes(_PREFIX_BYTES)
        self._counter = 0
        self._buffer = bytearray()
        self.plaintext_bytes = 0
        sink.write(_HEADER.pack(MAGIC, version, self._prefix))

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
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, final), chunk, self._aad)
        self._sink.write(_LEN.pack(len(sealed)) + sealed)
        self._counter += 1


def read_header(source: BinaryIO) -> tuple[int, bytes]:
    raw = source.read(_HEADER.size)
    if len(raw) != _HEADER.size:
        raise DecryptionFailed("encrypted file is truncated")
    magic, version, prefix = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise DecryptionFailed("not a phivault encrypted file")
    return int(version), bytes(prefix)


def decrypt_chunks(aead: AESGCM, aad: bytes, prefix: bytes, source: BinaryIO) -> Iterator[bytes]:
    """Yield plaintext chunks; raises :class:`DecryptionFailed` on any tampering."""
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
            yield aead.decrypt(_nonce(prefix, counter, final), sealed, aad)
        except InvalidTag as exc:
            raise DecryptionFailed("encrypted file was altered or cut short") from exc
        if final:
            return
        counter += 1


def encrypt_iterable(
    aead: AESGCM, version: int, aad: bytes, chunks: Iterable[bytes], sink: BinaryIO
) -> int:
    encryptor = StreamEncryptor(aead, version, aad, sink)
    for chunk in chunks:
        encryptor.write(chunk)
    encryptor.finish()
    return encryptor.plaintext_bytes
