"""Documents: PDFs, scanned forms and call recordings, encrypted and streamed (ENC-1, AUTH-9).

An upload is three steps so that no database transaction stays open while bytes arrive:
``begin_upload`` (guarded, audited) hands out a ticket with the tenant key; the body is
encrypted chunk by chunk into a partial file; ``finish_upload`` (guarded again, since access may
have been revoked meanwhile) records the document, and the file is published after commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select

from phivault.access.guard import Decision
from phivault.access.policy import Permission, Tier
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.crypto import stream
from phivault.crypto.cipher import associated_data
from phivault.errors import DocumentUnavailable, InvalidInput, UnsupportedMediaType
from phivault.records.blobs import BlobStore
from phivault.records.filetypes import FILE_TYPES, ContentCheck
from phivault.records.models import Document, Person
from phivault.records.service import _clean_tags, void

log = logging.getLogger("phivault.records")

CONTENT_TYPES = frozenset(FILE_TYPES)
DOCUMENT_KINDS = ("pdf", "scanned_form", "call_recording", "image", "letter", "other")
MAX_FILENAME = 200
_FIELDS = ("filename", "content")


@dataclass(frozen=True)
class UploadTicket:
    tenant_id: uuid.UUID
    person_id: uuid.UUID
    document_id: uuid.UUID
    kind: str
    tier: Tier
    content_type: str
    key_version: int
    data_key: bytes

    @property
    def aad(self) -> bytes:
        return associated_data(self.tenant_id, "documents", "content", str(self.document_id))


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    tier: str
    content_type: str
    filename: str | None
    size_bytes: int
    sensitivity: list[str]
    created_at: datetime


@dataclass(frozen=True)
class OpenDocument:
    """An authorized download: the file is already open, so a key rotation that swaps the
    file afterwards cannot break the stream, and its key is the one the file header names."""

    view: DocumentView
    key_version: int
    data_key: bytes
    aad: bytes
    salt: bytes
    source: BinaryIO


def check_filename(filename: str) -> str:
    """The file name exactly as given, or a refusal: it is never cut or trimmed to fit."""
    if not filename.strip():
        raise InvalidInput("give the document a file name")
    if len(filename) > MAX_FILENAME:
        raise InvalidInput(f"the file name is longer than {MAX_FILENAME} characters")
    if any(ord(c) < 32 for c in filename):
        raise InvalidInput("the file name holds control characters")
    return filename


def _tier(value: str) -> Tier:
    try:
        return Tier(value)
    except ValueError as exc:
        raise InvalidInput("'tier' must be minimum, summary or full") from exc


def begin_upload(
    unit: Unit, *, person_id: uuid.UUID, kind: str, content_type: str, tier: str = "full"
) -> UploadTicket:
    media = content_type.split(";")[0].strip().lower()
    if media not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"documents may be {', '.join(sorted(CONTENT_TYPES))}; got '{media[:60]}'"
        )
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(f"'kind' must be one of {', '.join(DOCUMENT_KINDS)}")
    level = _tier(tier)
    if unit.session.get(Person, (unit.tenant_id, person_id)) is None:
        raise unit.guard.not_found(
            Permission.DOCUMENTS_WRITE,
            action=AuditAction.DOCUMENT_UPLOAD,
            resource_type="person",
            resource_id=person_id,
        )
    document_id = uuid.uuid4()
    decision = unit.guard.check(
        Permission.DOCUMENTS_WRITE,
        action=AuditAction.DOCUMENT_UPLOAD_BEGIN,
        resource_type="document",
        resource_id=document_id,
        person_id=person_id,
        min_tier=level,
    )
    unit.guard.record(decision)
    version, data_key = unit.cipher.file_key()
    return UploadTicket(
        unit.tenant_id, person_id, document_id, kind, level, media, version, data_key
    )


def encrypt_body(ticket: UploadTicket, sink: BinaryIO) -> stream.StreamEncryptor:
    return stream.StreamEncryptor(ticket.data_key, ticket.key_version, ticket.aad, sink)


def content_check(ticket: UploadTicket) -> ContentCheck:
    """The check the upload's bytes must pass for the declared media type (magic numbers)."""
    return ContentCheck(ticket.content_type)


def finish_upload(
    unit: Unit,
    ticket: UploadTicket,
    *,
    filename: str,
    size_bytes: int,
    sensitivity: Iterable[str] = (),
) -> DocumentView:
    name = check_filename(filename)
    tags = _clean_tags(sensitivity)
    decision = unit.guard.check(
        Permission.DOCUMENTS_WRITE,
        action=AuditAction.DOCUMENT_UPLOAD,
        resource_type="document",
        resource_id=ticket.document_id,
        person_id=ticket.person_id,
        min_tier=ticket.tier,
    )
    c = unit.cipher
    doc = Document(
        tenant_id=unit.tenant_id,
        id=ticket.document_id,
        person_id=ticket.person_id,
        kind=ticket.kind,
        tier=ticket.tier.value,
        content_type=ticket.content_type,
        filename_ct=c.encrypt_text("documents", "filename", ticket.document_id, name),
        tags_ct=c.encrypt_json("documents", "tags", ticket.document_id, tags),
        size_bytes=size_bytes,
        key_version=ticket.key_version,
        created_by=unit.actor.member_id,
        created_at=unit.now,
    )
    unit.session.add(doc)
    unit.session.flush()
    unit.guard.record(decision, _FIELDS)
    return _view(unit, doc, tags, show_name=True)


def _view(unit: Unit, doc: Document, tags: list[str], *, show_name: bool) -> DocumentView:
    filename = (
        unit.cipher.decrypt_text("documents", "filename", doc.id, doc.filename_ct)
        if show_name
        else None
    )
    return DocumentView(
        doc.id,
        doc.person_id,
        doc.kind,
        doc.tier,
        doc.content_type,
        filename,
        doc.size_bytes,
        tags,
        doc.created_at,
    )


def _tags(unit: Unit, doc: Document) -> list[str]:
    tags: list[str] = unit.cipher.decrypt_json("documents", "tags", doc.id, doc.tags_ct)
    return tags


def list_documents(unit: Unit, person_id: uuid.UUID) -> list[DocumentView]:
    if unit.session.get(Person, (unit.tenant_id, person_id)) is None:
        raise unit.guard.not_found(
            Permission.DOCUMENTS_READ,
            action=AuditAction.DOCUMENT_LIST,
            resource_type="person",
            resource_id=person_id,
        )
    decision = unit.guard.check(
        Permission.DOCUMENTS_READ,
        action=AuditAction.DOCUMENT_LIST,
        resource_type="person",
        resource_id=person_id,
        person_id=person_id,
        min_tier=Tier.MINIMUM,
    )
    docs = unit.session.scalars(
        select(Document)
        .where(
            Document.tenant_id == unit.tenant_id,
            Document.person_id == person_id,
            Document.voided_at.is_(None),
        )
        .order_by(Document.created_at, Document.id)
    ).all()
    views = []
    for doc in docs:
        tags = _tags(unit, doc)
        if Tier(doc.tier) not in decision.tiers or (tags and not decision.full):
            continue
        views.append(_view(unit, doc, tags, show_name=True))
    unit.guard.record(decision, ["filename"] if views else [])
    return views


def _decide_document(
    unit: Unit,
    document_id: uuid.UUID,
    action: AuditAction,
    permission: Permission = Permission.DOCUMENTS_READ,
) -> tuple[Document, list[str], Decision]:
    """Load a document and decide an access to it (its tier and sensitivity tags apply). A
    voided document is absent to ordinary views."""
    doc = unit.session.get(Document, (unit.tenant_id, document_id))
    if doc is None or doc.voided_at is not None:
        raise unit.guard.not_found(
            permission,
            action=action,
            resource_type="document",
            resource_id=document_id,
        )
    tags = _tags(unit, doc)
    decision = unit.guard.check(
        permission,
        action=action,
        resource_type="document",
        resource_id=doc.id,
        person_id=doc.person_id,
        sensitivity=tags,
        min_tier=Tier(doc.tier),
    )
    return doc, tags, decision


def read_document(unit: Unit, document_id: uuid.UUID) -> DocumentView:
    """A document's description (name, kind, type, size) without its content, e.g. for the
    viewer page that then embeds the content."""
    doc, tags, decision = _decide_document(unit, document_id, AuditAction.DOCUMENT_READ)
    unit.guard.record(decision, ["filename"])
    return _view(unit, doc, tags, show_name=True)


def open_document(
    unit: Unit,
    blobs: BlobStore,
    document_id: uuid.UUID,
    *,
    action: AuditAction = AuditAction.DOCUMENT_DOWNLOAD,
    content_types: frozenset[str] | None = None,
) -> OpenDocument:
    """Authorize and audit a download (or, as ``AuditAction.DOCUMENT_VIEW``, a display in the
    browser, for ``content_types`` only); the caller streams it after the transaction."""
    doc, tags, decision = _decide_document(unit, document_id, action)
    if content_types is not None and doc.content_type not in content_types:
        raise UnsupportedMediaType("this format cannot be shown in a browser: download it")
    unit.guard.record(decision, _FIELDS)
    view = _view(unit, doc, tags, show_name=True)
    try:
        source = blobs.open(unit.tenant_id, doc.id)
    except FileNotFoundError:
        log.error("document %s has no stored content", doc.id)
        raise DocumentUnavailable() from None
    try:
        # The file header, not the row, names the key: rotation rewrites files one by one.
        version, salt = stream.read_header(source)
        _, data_key = unit.cipher.file_key(version)
    except BaseException:
        source.close()
        raise
    aad = associated_data(unit.tenant_id, "documents", "content", str(doc.id))
    return OpenDocument(view, version, data_key, aad, salt, source)


def stream_document(opened: OpenDocument) -> Iterator[bytes]:
    try:
        yield from stream.decrypt_chunks(opened.data_key, opened.aad, opened.salt, opened.source)
    finally:
        opened.source.close()


def do_void_document(unit: Unit, document_id: uuid.UUID, *, reason: str) -> None:
    """Void a document filed in error (the wrong patient's scan): hidden from lists, the
    viewer and downloads, kept with its encrypted reason for the privacy office and the
    audit; never deleted. Needs the write permission and a view of the whole document."""
    action = AuditAction.DOCUMENT_VOID
    doc, _, decision = _decide_document(unit, document_id, action, Permission.DOCUMENTS_WRITE)
    void(
        unit,
        doc,
        decision,
        table="documents",
        permission=Permission.DOCUMENTS_WRITE,
        action=action,
        reason=reason,
    )
