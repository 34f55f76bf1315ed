"""People, records and documents."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from phivault.access.policy import Permission
from phivault.api.deps import Ctx, declare
from phivault.api.paging import OffsetQuery
from phivault.api.schemas import (
    DocumentOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    PersonSearch,
    PersonVersionOut,
    RecordIn,
    RecordOut,
    RecordPatch,
    RecordVersionOut,
    VoidIn,
)
from phivault.errors import InvalidInput
from phivault.records import documents, service, uploads
from phivault.records.blobs import BlobStore

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["people and records"])


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition header that survives any file name: an ASCII fallback plus the
    exact UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in filename
    )
    return (
        f"{disposition}; filename=\"{fallback or 'document'}\"; filename*=UTF-8''{quote(filename)}"
    )


# vars(), not asdict(): the views hold no nested dataclass, and asdict's deep copy of every
# field value is paid on every read for nothing (pydantic builds the response's own values).
def _person(view: service.PersonView) -> PersonOut:
    return PersonOut(**vars(view))


def _record(view: service.RecordView) -> RecordOut:
    return RecordOut(**vars(view))


@router.post(
    "/people", status_code=status.HTTP_201_CREATED, openapi_extra=declare(Permission.PEOPLE_WRITE)
)
def create_person(tenant_id: uuid.UUID, body: PersonIn, ctx: Ctx) -> PersonOut:
    with ctx.unit(tenant_id) as unit:
        return _person(service.do_create_person(unit, **body.model_dump()))


@router.get("/people", openapi_extra=declare(Permission.PEOPLE_READ))
def list_people(
    request: Request,
    response: Response,
    tenant_id: uuid.UUID,
    ctx: Ctx,
    kind: str | None = None,
    offset: OffsetQuery = 0,
    after: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PersonOut]:
    """The agency's people in the order they were added. With ``kind``, pages follow a cursor
    (keyset: any page as fast as the first, however far down): the ``Link`` header names the
    next page (``rel="next"``) while there is one. ``offset`` still works, at a cost that
    grows with it."""
    if after is not None and (kind is None or offset):
        raise InvalidInput("'after' needs 'kind' and no 'offset'")
    cursor = service.PersonCursor.decode(after) if after is not None else None
    with ctx.unit(tenant_id) as unit:
        if kind is None or offset:
            views = service.list_people(unit, kind=kind, offset=offset, limit=limit)
            return [_person(v) for v in views]
        page = service.people_page(unit, kind=kind, after=cursor, limit=limit)
    if page.next is not None:
        query = urlencode({"kind": kind, "after": page.next.encode(), "limit": limit})
        response.headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return [_person(v) for v in page.people]


@router.post("/people/search", openapi_extra=declare(Permission.PEOPLE_READ))
def search_people(tenant_id: uuid.UUID, body: PersonSearch, ctx: Ctx) -> list[PersonOut]:
    """Exact match on name + date of birth, or on MRN. A POST, so that no name or date of
    birth ever appears in a URL, a proxy log or browser history (I-4)."""
    with ctx.unit(tenant_id) as unit:
        return [_person(v) for v in service.search_people(unit, **body.model_dump())]


@router.get("/people/{person_id}", openapi_extra=declare(Permission.PEOPLE_READ))
def read_person(tenant_id: uuid.UUID, person_id: uuid.UUID, ctx: Ctx) -> PersonOut:
    with ctx.unit(tenant_id) as unit:
        return _person(service.read_person(unit, person_id))


@router.patch("/people/{person_id}", openapi_extra=declare(Permission.PEOPLE_WRITE))
def update_person(
    tenant_id: uuid.UUID, person_id: uuid.UUID, body: PersonPatch, ctx: Ctx
) -> PersonOut:
    with ctx.unit(tenant_id) as unit:
        changes = body.model_dump(exclude_unset=True)
        return _person(service.do_update_person(unit, person_id, changes))


@router.get("/people/{person_id}/versions", openapi_extra=declare(Permission.PEOPLE_READ))
def person_versions(tenant_id: uuid.UUID, person_id: uuid.UUID, ctx: Ctx) -> list[PersonVersionOut]:
    """A person's identifying fields, every version oldest first (full readers, privacy
    officers; a voided person for the privacy office only)."""
    with ctx.unit(tenant_id) as unit:
        return [PersonVersionOut(**asdict(v)) for v in service.person_versions(unit, person_id)]


@router.post(
    "/people/{person_id}/void",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.PEOPLE_WRITE),
)
def void_person(tenant_id: uuid.UUID, person_id: uuid.UUID, body: VoidIn, ctx: Ctx) -> None:
    """Void a person filed in error, with a reason: hidden, kept, never deleted."""
    with ctx.unit(tenant_id) as unit:
        service.do_void_person(unit, person_id, reason=body.reason)


@router.get("/people/{person_id}/records", openapi_extra=declare(Permission.RECORDS_READ))
def list_records(
    tenant_id: uuid.UUID, person_id: uuid.UUID, ctx: Ctx, record_type: str | None = None
) -> list[RecordOut]:
    with ctx.unit(tenant_id) as unit:
        return [_record(v) for v in service.list_records(unit, person_id, record_type)]


@router.post(
    "/people/{person_id}/records",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
def create_record(
    tenant_id: uuid.UUID, person_id: uuid.UUID, body: RecordIn, ctx: Ctx
) -> RecordOut:
    with ctx.unit(tenant_id) as unit:
        return _record(
            service.do_create_record(
                unit,
                person_id=person_id,
                type_name=body.record_type,
                fields=body.fields,
                sensitivity=body.sensitivity,
            )
        )


@router.get("/records/{record_id}", openapi_extra=declare(Permission.RECORDS_READ))
def read_record(tenant_id: uuid.UUID, record_id: uuid.UUID, ctx: Ctx) -> RecordOut:
    with ctx.unit(tenant_id) as unit:
        return _record(service.read_record(unit, record_id))


@router.patch("/records/{record_id}", openapi_extra=declare(Permission.RECORDS_WRITE))
def update_record(
    tenant_id: uuid.UUID, record_id: uuid.UUID, body: RecordPatch, ctx: Ctx
) -> RecordOut:
    with ctx.unit(tenant_id) as unit:
        return _record(
            service.do_update_record(
                unit, record_id, fields=body.fields, expected_version=body.expected_version
            )
        )


@router.get("/records/{record_id}/versions", openapi_extra=declare(Permission.RECORDS_READ))
def record_versions(tenant_id: uuid.UUID, record_id: uuid.UUID, ctx: Ctx) -> list[RecordVersionOut]:
    """Every version of a record, oldest first (full-access readers, privacy officers)."""
    with ctx.unit(tenant_id) as unit:
        return [RecordVersionOut(**asdict(v)) for v in service.record_versions(unit, record_id)]


@router.post(
    "/records/{record_id}/void",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
def void_record(tenant_id: uuid.UUID, record_id: uuid.UUID, body: VoidIn, ctx: Ctx) -> None:
    """Void a record filed in error, with a reason: hidden, kept, never deleted."""
    with ctx.unit(tenant_id) as unit:
        service.do_void_record(unit, record_id, reason=body.reason)


@router.get("/people/{person_id}/documents", openapi_extra=declare(Permission.DOCUMENTS_READ))
def list_documents(tenant_id: uuid.UUID, person_id: uuid.UUID, ctx: Ctx) -> list[DocumentOut]:
    with ctx.unit(tenant_id) as unit:
        return [DocumentOut(**asdict(v)) for v in documents.list_documents(unit, person_id)]


@router.post(
    "/people/{person_id}/documents",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=declare(Permission.DOCUMENTS_WRITE)
    | {
        "requestBody": {
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in sorted(documents.CONTENT_TYPES)
            }
        }
    },
)
async def upload_document(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    ctx: Ctx,
    x_filename: Annotated[str, Header(min_length=1, max_length=600)],
    x_sensitivity: Annotated[str, Header(max_length=200)] = "",
    kind: str = "pdf",
    tier: str = "full",
) -> DocumentOut:
    """Upload a document as the raw request body, streamed and encrypted as it arrives.

    The file name (percent-encoded UTF-8) and sensitivity tags (comma-separated) travel in the
    ``X-Filename`` and ``X-Sensitivity`` headers, never in the URL: both can be PHI (I-4).
    """
    upload = uploads.Upload.announced(
        person_id,
        encoded_filename=x_filename,
        sensitivity=x_sensitivity,
        content_type=request.headers.get("content-type", ""),
        content_length=request.headers.get("content-length"),
        kind=kind,
        tier=tier,
        limit=ctx.vault.settings.max_upload_bytes,
    )
    view = await uploads.receive(
        upload,
        request.stream(),
        tenant_id=tenant_id,
        open_unit=lambda: ctx.unit(tenant_id),
        blobs=BlobStore(ctx.vault.settings.blob_dir),
    )
    return DocumentOut(**asdict(view))


@router.post(
    "/documents/{document_id}/void",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=declare(Permission.DOCUMENTS_WRITE),
)
def void_document(tenant_id: uuid.UUID, document_id: uuid.UUID, body: VoidIn, ctx: Ctx) -> None:
    """Void a document filed in error, with a reason: hidden from ordinary views, never
    deleted."""
    with ctx.unit(tenant_id) as unit:
        documents.do_void_document(unit, document_id, reason=body.reason)


@router.get(
    "/documents/{document_id}/content",
    openapi_extra=declare(Permission.DOCUMENTS_READ),
    response_class=StreamingResponse,
)
def download_document(tenant_id: uuid.UUID, document_id: uuid.UUID, ctx: Ctx) -> StreamingResponse:
    blobs = BlobStore(ctx.vault.settings.blob_dir)
    with ctx.unit(tenant_id) as unit:
        opened = documents.open_document(unit, blobs, document_id)
    return StreamingResponse(
        documents.stream_document(opened),
        media_type=opened.view.content_type,
        headers={
            "Content-Disposition": content_disposition(opened.view.filename or "document"),
            "Content-Length": str(opened.view.size_bytes),
        },
    )
