"""The content check of uploads, fed as the network delivers: in chunks of any size."""

from __future__ import annotations

import pytest

from phivault.errors import UnsupportedMediaType
from phivault.records.filetypes import FILE_TYPES, ContentCheck


def _feed(media_type: str, data: bytes, size: int) -> None:
    check = ContentCheck(media_type)
    for i in range(0, len(data), size):
        check.feed(data[i : i + size])
    check.finish()


@pytest.mark.parametrize("size", [1, 3, 7, 4096])
def test_a_signature_split_over_chunks_is_still_recognised(size: int) -> None:
    _feed("audio/wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64, size)
    _feed("text/plain", "café — naïve résumé".encode() * 20, size)


@pytest.mark.parametrize("size", [1, 5, 4096])
def test_a_mismatch_is_refused_whatever_the_chunking(size: int) -> None:
    with pytest.raises(UnsupportedMediaType):
        _feed("application/pdf", b"<html>" + b"x" * 64, size)
    with pytest.raises(UnsupportedMediaType):
        _feed("text/plain", b"ok\xc3", size)  # cut in the middle of a character


def test_a_file_shorter_than_the_head_is_checked_at_the_end() -> None:
    _feed("application/pdf", b"%PDF-", 4096)
    with pytest.raises(UnsupportedMediaType):
        _feed("image/png", b"\x89PN", 4096)


def test_every_allowed_type_has_a_test() -> None:
    assert set(FILE_TYPES) == {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/tiff",
        "audio/mpeg",
        "audio/wav",
        "audio/ogg",
        "text/plain",
    }
