"""Chunked file encryption: round trip, and every kind of tampering fails."""

from __future__ import annotations

import io
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phivault.crypto.cipher import DecryptionFailed
from phivault.crypto.stream import CHUNK_BYTES, decrypt_chunks, encrypt_iterable, read_header

KEY = secrets.token_bytes(32)
AAD = b"phivault/v1|tenant|documents|content|doc"
HEADER = 4 + 2 + 16


def _encrypt(data: bytes, pieces: int = 3) -> bytes:
    sink = io.BytesIO()
    step = max(1, len(data) // pieces)
    chunks = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
    encrypt_iterable(KEY, 7, AAD, chunks, sink)
    return sink.getvalue()


def _decrypt(blob: bytes, aad: bytes = AAD) -> bytes:
    source = io.BytesIO(blob)
    version, prefix = read_header(source)
    assert version == 7
    return b"".join(decrypt_chunks(KEY, aad, prefix, source))


@settings(max_examples=30)
@given(st.binary(max_size=3 * CHUNK_BYTES + 17), st.integers(1, 7))
def test_round_trip_any_size_and_split(data: bytes, pieces: int) -> None:
    assert _decrypt(_encrypt(data, pieces)) == data


def test_exact_chunk_multiple_round_trips() -> None:
    data = secrets.token_bytes(2 * CHUNK_BYTES)
    assert _decrypt(_encrypt(data)) == data


def test_truncated_after_a_whole_chunk_is_detected() -> None:
    data = secrets.token_bytes(2 * CHUNK_BYTES + 100)
    blob = _encrypt(data)
    first_chunk_end = HEADER + 4 + CHUNK_BYTES + 16
    with pytest.raises(DecryptionFailed):
        _decrypt(blob[:first_chunk_end])


def test_reordered_chunks_are_detected() -> None:
    data = secrets.token_bytes(3 * CHUNK_BYTES)
    blob = _encrypt(data)
    size = 4 + CHUNK_BYTES + 16
    header, c1, c2, rest = (
        blob[:13],
        blob[13 : 13 + size],
        blob[13 + size : 13 + 2 * size],
        blob[13 + 2 * size :],
    )
    with pytest.raises(DecryptionFailed):
        _decrypt(header + c2 + c1 + rest)


def test_wrong_document_binding_is_detected() -> None:
    with pytest.raises(DecryptionFailed):
        _decrypt(_encrypt(b"fabricated scan"), aad=AAD + b"-other")


def test_not_a_phivault_file() -> None:
    with pytest.raises(DecryptionFailed):
        _decrypt(b"%PDF-1.4 plain file that was never encrypted")


def test_every_file_has_its_own_key() -> None:
    """Files share the tenant data key but derive distinct keys, so GCM nonces never repeat."""
    one, two = _encrypt(b"same content"), _encrypt(b"same content")
    assert one[6:HEADER] != two[6:HEADER]  # different salts
    assert one[HEADER:] != two[HEADER:]
    swapped = two[:HEADER] + one[HEADER:]  # file one's chunks under file two's salt
    with pytest.raises(DecryptionFailed):
        _decrypt(swapped)
