"""AES-256-GCM field encryption: round trip and binding to tenant, table, column and row."""

from __future__ import annotations

import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from phivault.crypto.cipher import (
    DecryptionFailed,
    associated_data,
    key_version_of,
    open_sealed,
    seal,
)

KEY = AESGCM(secrets.token_bytes(32))
TENANT = uuid.uuid4()

places = st.tuples(
    st.uuids(),
    st.sampled_from(["people", "records", "documents"]),
    st.sampled_from(["given_name", "full_ct", "tags_ct"]),
    st.uuids().map(str),
)


@given(plaintext=st.binary(max_size=4096), version=st.integers(0, 65535), place=places)
def test_round_trip(plaintext: bytes, version: int, place: tuple) -> None:
    aad = associated_data(*place)
    blob = seal(KEY, version, plaintext, aad)
    assert key_version_of(blob) == version
    assert open_sealed(KEY, blob, aad) == plaintext


@given(plaintext=st.binary(min_size=1, max_size=256), here=places, there=places)
def test_ciphertext_moved_elsewhere_does_not_decrypt(
    plaintext: bytes, here: tuple, there: tuple
) -> None:
    if here == there:
        return
    blob = seal(KEY, 1, plaintext, associated_data(*here))
    with pytest.raises(DecryptionFailed):
        open_sealed(KEY, blob, associated_data(*there))


@given(plaintext=st.binary(min_size=1, max_size=256), position=st.integers(0, 10_000))
def test_any_flipped_bit_is_detected(plaintext: bytes, position: int) -> None:
    aad = associated_data(TENANT, "records", "full_ct", "r1")
    blob = bytearray(seal(KEY, 1, plaintext, aad))
    index = 3 + position % (len(blob) - 3)  # beyond the version header
    blob[index] ^= 0x01
    with pytest.raises(DecryptionFailed):
        open_sealed(KEY, bytes(blob), aad)


def test_same_plaintext_encrypts_differently_each_time() -> None:
    aad = associated_data(TENANT, "people", "given_name", "p1")
    assert seal(KEY, 1, b"same", aad) != seal(KEY, 1, b"same", aad)


def test_wrong_key_fails() -> None:
    aad = associated_data(TENANT, "people", "given_name", "p1")
    blob = seal(KEY, 1, b"value", aad)
    with pytest.raises(DecryptionFailed):
        open_sealed(AESGCM(secrets.token_bytes(32)), blob, aad)


def test_unknown_format_refused() -> None:
    with pytest.raises(DecryptionFailed):
        key_version_of(b"\x09\x00\x01" + b"\x00" * 40)
