"""The staff workspace: agencies (tenant switcher), people search by name + date of birth or
MRN, and a person's chart with records projected to the viewer's access category.

Everything goes through the guarded services: the pages only hold the session, the purpose of
use (asked once per patient context, carried in the URL — it is not PHI) and the CSRF token.
Fields a category may not see are never rendered, not even as names (ACC-2).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from phivault.access import breakglass
from phivault.access.policy import Permission, PurposeOfUse
from phivault.api.deps import declare
from phivault.errors import InvalidInput, NotFound, PurposeRequired
from phivault.records import documents, service
from phivault.records.types import RECORD_TYPES
from phivault.web.common import (
    AgencyForm,
    AgencyPageDep,
    TenantPage,
    not_found,
    offers_emergency_access,
    parse_purpose,
    path_for,
    problem_page,
    render,
)

router = APIRouter(include_in_schema=False)
# Forms of these pages: a stale token goes back to the page the form is on.
PeopleForm = Annotated[TenantPage, Depends(AgencyForm("/t/{tenant_id}/people"))]
PURPOSES = [p.value for p in PurposeOfUse if p is not PurposeOfUse.OTHER]


@router.get("/t/{tenant_id}/people", openapi_extra=declare(Permission.PEOPLE_READ))
def search_page(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    return render(request, "search.html", purposes=PURPOSES, results=None, **page.vars())


@router.post("/t/{tenant_id}/people", openapi_extra=declare(Permission.PEOPLE_READ))
def search_submit(
    request: Request,
    tenant_id: uuid.UUID,
    page: PeopleForm,
    purpose: Annotated[str, Form(max_length=16)],
    family_name: Annotated[str, Form(max_length=100)] = "",
    given_name: Annotated[str, Form(max_length=100)] = "",
    date_of_birth: Annotated[str, Form(max_length=10)] = "",
    mrn: Annotated[str, Form(max_length=40)] = "",
    emergency_reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    use = parse_purpose(purpose)
    try:
        with page.unit(use) as unit:
            found = service.search_people(
                unit,
                family_name=family_name or None,
                given_name=given_name or None,
                date_of_birth=date_of_birth or None,
                mrn=mrn or None,
                emergency_reason=emergency_reason or None,
            )
    except NotFound:
        return not_found(request, page)
    except (InvalidInput, PurposeRequired) as exc:
        return render(
            request,
            "search.html",
            exc.status,
            purposes=PURPOSES,
            results=None,
            error=exc.detail,
            emergency_reason=emergency_reason,
            **page.vars(),
        )
    return render(
        request,
        "search.html",
        purposes=PURPOSES,
        results=found,
        purpose=use.value if use else "",
        **page.vars(),
    )


LIST_PAGE = 50


@router.get("/t/{tenant_id}/people/list", openapi_extra=declare(Permission.PEOPLE_READ))
def people_list(
    request: Request,
    tenant_id: uuid.UUID,
    page: AgencyPageDep,
    kind: str = "patient",
    purpose: str = "",
    after: str = "",
    before: str = "",
) -> Response:
    """The agency's patients or caregivers, a page at a time (a census: for whom the agency
    cares, or who works for it). Names only, for a stated purpose; the listing is audited.
    Pages are found by keyset (``after``/``before`` a person), so the last page of a large
    agency is as quick as the first."""
    use = parse_purpose(purpose)
    if use is None or kind not in service.PERSON_KINDS:
        return problem_page(request, page, 422, "Choose patients or caregivers and a purpose.")
    decode = service.PersonCursor.decode  # a bad cursor is refused before any transaction
    after_person = decode(after) if after else None
    before_person = decode(before) if before else None
    with page.unit(use) as unit:
        found = service.people_page(
            unit, kind=kind, after=after_person, before=before_person, limit=LIST_PAGE
        )
    listing = path_for(request, "people_list", tenant_id=tenant_id)
    base = f"{listing}?kind={kind}&purpose={use.value}"
    return render(
        request,
        "people_list.html",
        section="people",
        people=found.people,
        kind=kind,
        purpose=use.value,
        older=f"{base}&after={found.next.encode()}" if found.next else None,
        newer=f"{base}&before={found.previous.encode()}" if found.previous else None,
        **page.vars(),
    )


@router.get(
    "/t/{tenant_id}/people/{person_id}",
    openapi_extra=declare(
        Permission.PEOPLE_READ,
        Permission.RECORDS_READ,
        Permission.DOCUMENTS_READ,
        Permission.BREAK_GLASS_INVOKE,
    ),
    dependencies=[Depends(offers_emergency_access)],
)
def chart(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str | None = None,
) -> Response:
    """A person's chart. Without a purpose of use, the purpose is asked first."""
    use = parse_purpose(purpose)
    if use is None:
        return render(
            request, "purpose.html", purposes=PURPOSES, person_id=person_id, **page.vars()
        )
    with page.unit(use) as unit:
        person = service.read_person(unit, person_id)
        records = service.list_records(unit, person_id)
        files = documents.list_documents(unit, person_id)
        emergency = breakglass.my_active_grant(unit, person_id)
        # Caregiver references are shown by name to those who may see names.
        caregivers = service.caregiver_names(
            unit,
            {v for r in records for k, v in r.fields.items() if k == "caregiver_id" and v},
        )
    groups: dict[str, list[service.RecordView]] = {}
    for record in records:
        groups.setdefault(record.record_type, []).append(record)
    return render(
        request,
        "chart.html",
        person=person,
        purpose=use.value,
        emergency=emergency,
        caregivers=caregivers,
        files=files,
        # Counted down from the server's figure, not the browser's clock, which may differ.
        emergency_seconds=(
            int((emergency.expires_at - page.vault.clock()).total_seconds()) if emergency else 0
        ),
        groups=[(RECORD_TYPES[name].label, items) for name, items in sorted(groups.items())],
        record_types=[
            (t.name, t.label) for t in RECORD_TYPES.values() if person.kind in t.subjects
        ],
        **page.vars(),
    )
