"""Documents in the browser: a viewer page that shows a PDF, an image, a recording or a text
inside phivault's own page, and downloads. Both stream the decrypted file after the guarded,
audited transaction has committed (AUTH-9: a link alone grants nothing; the session and the
guard decide every time).

The viewer embeds the content rather than opening it bare in a tab, so that the idle logoff,
which removes the page's content from the screen, removes the document with it (AUTH-6).
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from phivault.access.policy import Permission
from phivault.api.deps import declare
from phivault.api.routes_people import content_disposition
from phivault.audit.actions import AuditAction
from phivault.records import documents
from phivault.records.blobs import BlobStore
from phivault.web.common import (
    PAGE_CSP,
    AgencyPageDep,
    TenantPage,
    parse_purpose,
    path_for,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
READ = declare(Permission.DOCUMENTS_READ)
# How each stored type is shown; anything else (TIFF) is offered for download only.
EMBED = {
    "application/pdf": "frame",
    "text/plain": "frame",
    "image/png": "image",
    "image/jpeg": "image",
    "audio/mpeg": "audio",
    "audio/wav": "audio",
    "audio/ogg": "audio",
}
# The viewer page may frame and play phivault's own content, nothing else.
VIEWER_CSP = PAGE_CSP + "; frame-src 'self'; media-src 'self'"
# Embedded content: framed by phivault's own pages only, never by another site.
CONTENT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}


def _stream(
    request: Request,
    page: TenantPage,
    document_id: uuid.UUID,
    purpose: str | None,
    action: AuditAction,
) -> Response:
    blobs = BlobStore(page.vault.settings.blob_dir)
    inline = action == AuditAction.DOCUMENT_VIEW
    with page.unit(parse_purpose(purpose)) as unit:
        opened = documents.open_document(
            unit,
            blobs,
            document_id,
            action=action,
            content_types=frozenset(EMBED) if inline else None,
        )
    view = opened.view
    headers = {
        "Content-Disposition": content_disposition(
            view.filename or "document", "inline" if inline else "attachment"
        ),
        "Content-Length": str(view.size_bytes),
        **(CONTENT_HEADERS if inline else {}),
    }
    return StreamingResponse(
        documents.stream_document(opened), media_type=view.content_type, headers=headers
    )


@router.get(
    "/t/{tenant_id}/documents/{document_id}/download", name="document_download", openapi_extra=READ
)
def download(
    request: Request,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str | None = None,
) -> Response:
    """Stream a document to a signed-in browser as a download."""
    return _stream(request, page, document_id, purpose, AuditAction.DOCUMENT_DOWNLOAD)


@router.get(
    "/t/{tenant_id}/documents/{document_id}/content", name="document_content", openapi_extra=READ
)
def content(
    request: Request,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str | None = None,
) -> Response:
    """The document's content for the viewer page to embed (inline, same-origin frames only).
    Opened as a page of its own it would escape the idle logoff, so a browser navigating to
    it is sent to the viewer instead."""
    if request.headers.get("sec-fetch-dest") == "document":
        query = f"?purpose={quote(purpose)}" if purpose else ""
        viewer = path_for(request, "document_viewer", tenant_id=tenant_id, document_id=document_id)
        return redirect(viewer + query)
    return _stream(request, page, document_id, purpose, AuditAction.DOCUMENT_VIEW)


@router.get("/t/{tenant_id}/documents/{document_id}", name="document_viewer", openapi_extra=READ)
def viewer(
    request: Request,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str | None = None,
) -> Response:
    """A document shown inside phivault's page, with its description and a download link."""
    use = parse_purpose(purpose)
    with page.unit(use) as unit:
        view = documents.read_document(unit, document_id)
    response = render(
        request,
        "document.html",
        section="people",
        document=view,
        embed=EMBED.get(view.content_type),
        purpose=use.value if use else "",
        may_void=page.can(Permission.DOCUMENTS_WRITE),
        **page.vars(),
    )
    response.headers["Content-Security-Policy"] = VIEWER_CSP
    return response
