"""The upload protocol, one for every way a document arrives (the API today, the pages and
letters later): guarded start, the body encrypted and checked chunk by chunk as it arrives,
guarded finish, then the file is published; on any failure the partial file is discarded.

No database transaction stays open while bytes arrive: the two guarded steps run in worker
threads, each in its own unit (access may be revoked between them, so it is decided again).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool

from phivault.access.unit import Unit
from phivault.errors import InvalidInput, PayloadTooLarge
from phivault.records import documents
from phivault.records.blobs import BlobStore

OpenUnit = Callable[[], AbstractContextManager[Unit]]


@dataclass(frozen=True)
class Upload:
    """What the sender said about a document, checked before any byte is read."""

    person_id: uuid.UUID
    filename: str
    content_type: str
    kind: str
    tier: str
    sensitivity: list[str]
    limit: int

    @classmethod
    def announced(
        cls,
        person_id: uuid.UUID,
        *,
        encoded_filename: str,
        sensitivity: str,
        content_type: str,
        content_length: str | None,
        kind: str,
        tier: str,
        limit: int,
    ) -> Upload:
        """The upload as announced by its headers: the file name percent-encoded UTF-8, the
        sensitivity tags comma-separated (both may be PHI, so never in a URL, I-4); a
        declared length over the limit is refused before the body is read."""
        if content_length is not None and (
            not content_length.isdigit() or int(content_length) > limit
        ):
            raise PayloadTooLarge(f"documents may be at most {limit} bytes")
        try:
            # strict: a byte that is not UTF-8 is refused, never replaced by U+FFFD.
            filename = unquote(encoded_filename, errors="strict")
        except UnicodeDecodeError:
            raise InvalidInput("the file name is not valid percent-encoded UTF-8") from None
        return cls(
            person_id=person_id,
            filename=documents.check_filename(filename),
            content_type=content_type,
            kind=kind,
            tier=tier,
            sensitivity=[t.strip() for t in sensitivity.split(",") if t.strip()],
            limit=limit,
        )


async def receive(
    upload: Upload,
    chunks: AsyncIterator[bytes],
    *,
    tenant_id: uuid.UUID,
    open_unit: OpenUnit,
    blobs: BlobStore,
) -> documents.DocumentView:
    """Store one document from ``chunks``: begin (guarded, audited), encrypt and check the
    content while it arrives (refused past the limit, empty, or not of its type), finish
    (guarded again), publish."""

    def begin() -> documents.UploadTicket:
        with open_unit() as unit:
            return documents.begin_upload(
                unit,
                person_id=upload.person_id,
                kind=upload.kind,
                content_type=upload.content_type,
                tier=upload.tier,
            )

    ticket = await run_in_threadpool(begin)
    try:
        with blobs.writer(tenant_id, ticket.document_id) as sink:
            encryptor = documents.encrypt_body(ticket, sink)
            check = documents.content_check(ticket)
            async for chunk in chunks:
                check.feed(chunk)
                encryptor.write(chunk)
                if encryptor.plaintext_bytes > upload.limit:
                    raise PayloadTooLarge(f"documents may be at most {upload.limit} bytes")
            if encryptor.plaintext_bytes == 0:
                raise InvalidInput("the document is empty")
            check.finish()
            encryptor.finish()

        def finish() -> documents.DocumentView:
            with open_unit() as unit:
                return documents.finish_upload(
                    unit,
                    ticket,
                    filename=upload.filename,
                    size_bytes=encryptor.plaintext_bytes,
                    sensitivity=upload.sensitivity,
                )

        view = await run_in_threadpool(finish)
        blobs.publish(tenant_id, ticket.document_id)
    except BaseException:
        blobs.discard(tenant_id, ticket.document_id)
        raise
    return view
