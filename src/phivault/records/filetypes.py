"""What a document's bytes are, checked from the bytes themselves (magic numbers), not from
the label the browser or client put on them: an HTML page labelled ``application/pdf`` must
not be stored, and later served, as a PDF.

Each allowed media type is declared once here with the test its content must pass.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

from phivault.errors import UnsupportedMediaType

HEAD_BYTES = 16  # enough for every signature below (WAV needs 12)


def _mp3(head: bytes) -> bool:
    # An ID3 tag, or straight into an MPEG audio frame (11 sync bits set).
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<iframe")


def _plain_text(head: bytes) -> bool:
    # Text is checked as a whole by TextCheck; its head must not be markup a browser would
    # render if it ever ignored the declared type.
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return not any(start.startswith(marker) for marker in _MARKUP)


@dataclass(frozen=True)
class FileType:
    media_type: str
    name: str
    matches: Callable[[bytes], bool]


FILE_TYPES = {
    t.media_type: t
    for t in (
        FileType("application/pdf", "a PDF", lambda h: h.startswith(b"%PDF-")),
        FileType("image/png", "a PNG image", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
        FileType("image/jpeg", "a JPEG image", lambda h: h.startswith(b"\xff\xd8\xff")),
        FileType("image/tiff", "a TIFF image", lambda h: h.startswith((b"II*\x00", b"MM\x00*"))),
        FileType("audio/mpeg", "an MP3 recording", _mp3),
        FileType("audio/wav", "a WAV recording", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"),
        FileType("audio/ogg", "an Ogg recording", lambda h: h.startswith(b"OggS")),
        FileType("text/plain", "plain text (UTF-8)", _plain_text),
    )
}


class ContentCheck:
    """Fed the upload's chunks as they arrive; refuses as soon as the bytes contradict the
    declared type, so a mismatched file is never stored."""

    def __init__(self, media_type: str) -> None:
        self.type = FILE_TYPES[media_type]
        self.head = b""
        self.checked = False
        self.text = (
            codecs.getincrementaldecoder("utf-8")("strict") if media_type == "text/plain" else None
        )

    def feed(self, chunk: bytes) -> None:
        if not self.checked:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
            if len(self.head) >= HEAD_BYTES:
                self._check_head()
        if self.text is not None:
            try:
                decoded = self.text.decode(chunk)
            except UnicodeDecodeError:
                raise self._refusal() from None
            if "\x00" in decoded:
                raise self._refusal()

    def finish(self) -> None:
        """The whole body has arrived (a file shorter than the head is checked now)."""
        if not self.checked:
            self._check_head()
        if self.text is not None:
            try:
                self.text.decode(b"", final=True)
            except UnicodeDecodeError:
                raise self._refusal() from None

    def _check_head(self) -> None:
        self.checked = True
        if not self.type.matches(self.head):
            raise self._refusal()

    def _refusal(self) -> UnsupportedMediaType:
        return UnsupportedMediaType(
            f"the file is labelled {self.type.media_type} but its content is not "
            f"{self.type.name}; upload the file as what it is"
        )
