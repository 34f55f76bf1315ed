"""The privacy officer's audit viewer: filtered entries (IDs and field names only, AUD-6) with
the actors' names, paging, a CSV export, on-demand chain verification with its last result,
and the break-glass review queue."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse

from phivault.access import breakglass
from phivault.access.policy import Permission
from phivault.api.deps import declare
from phivault.audit import service as audit_service
from phivault.audit.actions import grouped
from phivault.notifications import service as notifications
from phivault.web.common import (
    OFFSET_PROBLEM,
    AgencyForm,
    AgencyPageDep,
    TenantPage,
    page_offset,
    path_for,
    problem_page,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
# Forms of these pages: a stale token goes back to the page the form is on.
AuditForm = Annotated[TenantPage, Depends(AgencyForm("/t/{tenant_id}/audit"))]
PAGE_SIZE = 100
DECIDED_SHOWN = 50
FILTERS = ("person_id", "actor_id", "action", "outcome", "since", "until", "break_glass")
# The filter offers every action there is, grouped (generated from the one enum).
ACTIONS = grouped()


def _day(raw: str, *, end: bool = False) -> datetime | None:
    """A date filter as a UTC instant (the viewer shows UTC); ``end`` includes the whole day."""
    if not raw:
        return None
    day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    try:
        return day + timedelta(days=1) if end else day
    except OverflowError:  # 9999-12-31: past the last day there is
        raise ValueError(raw) from None


def _filter(params: dict[str, str], *, offset: int = 0) -> audit_service.EventFilter:
    """The viewer's query parameters as a filter; ValueError when one is not valid."""
    return audit_service.EventFilter(
        person_id=uuid.UUID(params["person_id"]) if params.get("person_id") else None,
        actor_id=uuid.UUID(params["actor_id"]) if params.get("actor_id") else None,
        action=params.get("action") or None,
        outcome=params.get("outcome") or None,
        since=_day(params.get("since", "")),
        until=_day(params.get("until", ""), end=True),
        break_glass=True if params.get("break_glass") else None,
        limit=PAGE_SIZE + 1,  # one more, to know whether an older page exists
        offset=offset,
    )


def _params(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip()[:64] for k in FILTERS}


@router.get(
    "/t/{tenant_id}/audit",
    openapi_extra=declare(Permission.AUDIT_READ, Permission.BREAK_GLASS_REVIEW),
)
def audit_viewer(
    request: Request, tenant_id: uuid.UUID, page: AgencyPageDep, offset: str = ""
) -> Response:
    """Audit entries, newest first, a page at a time, and the break-glass review queue."""
    params = _params(request)
    start = page_offset(offset)
    if start is None:
        return problem_page(request, page, 422, OFFSET_PROBLEM)
    try:
        flt = _filter(params, offset=start)
    except ValueError:
        return problem_page(request, page, 422, "A filter is not valid: check the ids and dates.")
    with page.unit() as unit:
        shown = audit_service.audit_page(unit, flt)
        pending = breakglass.list_break_glass(unit)
        decided = breakglass.recent_reviews(unit, limit=DECIDED_SHOWN)
        notices = notifications.unread_notices(unit)
        names = shown.actor_names | audit_service.member_names(
            unit.session,
            [g.member_id for g in (*pending, *decided)]
            + [g.reviewed_by for g in decided if g.reviewed_by],
        )
    query = {k: v for k, v in params.items() if v}
    export = path_for(request, "export_csv", tenant_id=tenant_id)
    return render(
        request,
        "audit.html",
        section="audit",
        entries=shown.entries[:PAGE_SIZE],
        names=names,
        verification=shown.verification,
        verifier=names.get(shown.verification.actor_id if shown.verification else ""),
        pending=pending,
        # Newest decisions first: who decided, when, what, with the note (sanctions follow
        # from the 'inappropriate' ones).
        decided=decided,
        notices=notices,
        me=str(page.actor.member_id),
        actions=ACTIONS,
        filters=params,
        offset=flt.offset,
        older=_link(request, tenant_id, query, flt.offset + PAGE_SIZE)
        if len(shown.entries) > PAGE_SIZE
        else None,
        newer=_link(request, tenant_id, query, max(flt.offset - PAGE_SIZE, 0))
        if flt.offset
        else None,
        export=export + (f"?{urlencode(query)}" if query else ""),
        **page.vars(),
    )


def _link(request: Request, tenant_id: uuid.UUID, query: dict[str, str], offset: int) -> str:
    viewer = path_for(request, "audit_viewer", tenant_id=tenant_id)
    return f"{viewer}?{urlencode({**query, 'offset': offset})}"


@router.get("/t/{tenant_id}/audit/export.csv", openapi_extra=declare(Permission.AUDIT_READ))
def export_csv(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    """The filtered entries as CSV. It carries IDs and field names only, no PHI values, so
    unlike a PHI export it needs no fresh re-authentication; it is audited with its size."""
    try:
        flt = _filter(_params(request))
    except ValueError:
        return problem_page(request, page, 422, "A filter is not valid: check the ids and dates.")
    with page.unit() as unit:
        export = audit_service.begin_export(unit, flt)
    stamp = page.vault.clock().strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'}
    if export.truncated:
        headers["X-Phivault-Truncated"] = str(audit_service.MAX_EXPORT)
    rows = audit_service.export_rows(page.vault, export)
    return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


def _csv(rows: Iterable[tuple[str, ...]], batch: int = 1000) -> Iterator[str]:
    """CSV text a batch of rows at a time, as the rows arrive."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(audit_service.EXPORT_HEADER)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.post(
    "/t/{tenant_id}/audit/verify",
    name="audit_verify_submit",
    openapi_extra=declare(Permission.AUDIT_VERIFY),
)
def verify(
    request: Request,
    tenant_id: uuid.UUID,
    page: AuditForm,
) -> Response:
    """Walk the agency's whole chain now; the viewer then shows the recorded result."""
    audit_service.verify_tenant_chain(page.unit)
    return redirect(path_for(request, "audit_viewer", tenant_id=tenant_id))


@router.post(
    "/t/{tenant_id}/break-glass/{grant_id}/review",
    name="review_break_glass_submit",
    openapi_extra=declare(Permission.BREAK_GLASS_REVIEW),
)
def review(
    request: Request,
    tenant_id: uuid.UUID,
    grant_id: uuid.UUID,
    page: AuditForm,
    disposition: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    with page.unit() as unit:
        breakglass.do_review_break_glass(unit, grant_id, disposition=disposition, note=note)
    return redirect(path_for(request, "audit_viewer", tenant_id=tenant_id))


@router.post(
    "/t/{tenant_id}/notifications/{notice_id}/read",
    name="mark_notification_read_submit",
    openapi_extra=declare(Permission.BREAK_GLASS_REVIEW),
)
def mark_read(
    request: Request,
    tenant_id: uuid.UUID,
    notice_id: uuid.UUID,
    page: AuditForm,
) -> Response:
    """Acknowledge a notice; the audit viewer then no longer lists it."""
    with page.unit() as unit:
        notifications.do_mark_read(unit, notice_id)
    return redirect(path_for(request, "audit_viewer", tenant_id=tenant_id) + "#notices")
