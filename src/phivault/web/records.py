"""Forms to add and correct people and records, with validation messages next to the fields.

Each form offers only the fields of the tiers its writer may see (ACC-2): a Summary writer is
never shown, and cannot post, a Full-only field. Values are checked field by field with the
same rules the services apply, so a mistake is named at its field and every value typed is
kept; the services check again and have the last word. The purpose of use travels with the
form, as it does with the chart.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from phivault.access.policy import Permission, PurposeOfUse, Sensitivity, Tier
from phivault.api.deps import declare
from phivault.errors import Conflict, InvalidInput, PhivaultError
from phivault.records import documents, service
from phivault.records.types import DOB_EARLIEST, RECORD_TYPES, FieldSpec, clean_value
from phivault.web.common import (
    AgencyForm,
    AgencyFormDep,
    AgencyPageDep,
    TenantPage,
    not_found,
    parse_purpose,
    path_for,
    problem_page,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
PURPOSES = [p.value for p in PurposeOfUse if p is not PurposeOfUse.OTHER]
FIELD_PREFIX = "f_"
SENSITIVITY = {
    Sensitivity.SUBSTANCE_USE: "Substance use",
    Sensitivity.MENTAL_HEALTH: "Mental health",
    Sensitivity.PSYCHOTHERAPY_NOTES: "Psychotherapy notes",
    Sensitivity.HIV: "HIV-related",
}
_CODE_SPLIT = re.compile(r"[\s,;]+")
TIER_NOTE = {
    Tier.MINIMUM: "",
    Tier.SUMMARY: "Summary and Full access",
    Tier.FULL: "Full access only",
}


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form, read before the (threaded) handler runs: record forms have a field
    per record-type field, so they cannot be declared one by one. Repeated keys become lists."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if len(values) > 1 else (values[0] if values else "")
    return data


FormDep = Annotated[dict[str, Any], Depends(form_data)]
# A form posted from a person's chart goes back to the chart when its token is stale.
ChartFormDep = Annotated[TenantPage, Depends(AgencyForm("/t/{tenant_id}/people/{person_id}"))]


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _raw_value(spec: FieldSpec, text: str) -> object:
    """A form's text turned into the value a field holds (``None`` for an empty field)."""
    if not text:
        return None
    if spec.kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text  # clean_value names the field: "must be a number"
        if not math.isfinite(number):
            return text  # "inf", "nan", "1e400": not amounts anyone means
        return int(number) if number.is_integer() and "." not in text else number
    if spec.kind == "codes":
        return [c for c in _CODE_SPLIT.split(text) if c]
    return text


def parse_fields(
    specs: Iterable[FieldSpec], form: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values per field, and a message per field that is not valid."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        raw = _raw_value(spec, _text(form, FIELD_PREFIX + spec.name))
        try:
            values[spec.name] = clean_value(spec, raw)
        except InvalidInput as exc:
            errors[spec.name] = _sentence(exc.detail)
        else:
            if spec.required and values[spec.name] in (None, "", []):
                errors[spec.name] = "This field is required."
    return values, errors


def _sentence(detail: str, name: str = "[^']*") -> str:
    """ "field 'x' must be a number" -> "Must be a number." (the field's label names it)."""
    rest = re.sub(rf"^(field )?'{name}' ", "", detail)
    return rest[:1].upper() + rest[1:] + ("" if rest.endswith(".") else ".")


def display_value(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.kind == "codes" and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _field_rows(
    specs: Iterable[FieldSpec],
    shown: Mapping[str, str],
    errors: Mapping[str, str],
    caregivers: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            # A caregiver reference is chosen by name from the agency's caregivers.
            "choices": (caregivers or {}) if spec.kind == "caregiver" else None,
            "spec": spec,
            "id": FIELD_PREFIX + spec.name,
            "label": spec.name.replace("_", " ").capitalize(),
            "value": shown.get(spec.name, ""),
            "error": errors.get(spec.name),
            "note": TIER_NOTE[spec.tier],
            "long": spec.kind == "text" and spec.max_length > 2000,
        }
        for spec in specs
    ]


def _chart(request: Request, page: TenantPage, person_id: uuid.UUID, purpose: PurposeOfUse) -> str:
    chart = path_for(request, "chart", tenant_id=page.tenant_id, person_id=person_id)
    return f"{chart}?purpose={purpose.value}"


# -- people -------------------------------------------------------------------------------
PERSON_SPECS = (
    FieldSpec("family_name", Tier.MINIMUM, required=True, max_length=100),
    FieldSpec("given_name", Tier.MINIMUM, required=True, max_length=100),
    FieldSpec(
        "date_of_birth", Tier.MINIMUM, "date", required=True, earliest=DOB_EARLIEST, ahead_days=0
    ),
    FieldSpec("mrn", Tier.MINIMUM, max_length=40),
)


def _person_form(
    request: Request,
    page: TenantPage,
    *,
    person: service.PersonView | None,
    purpose: str,
    shown: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "person_form.html",
        status,
        section="people",
        person=person,
        purpose=purpose,
        purposes=PURPOSES,
        kind=shown.get("kind", "patient"),
        rows=_field_rows(PERSON_SPECS, shown, errors or {}),
        error=error or ("Please correct the fields marked below." if errors else None),
        **page.vars(),
    )


@router.get("/t/{tenant_id}/people/new", openapi_extra=declare(Permission.PEOPLE_WRITE))
def new_person(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    return _person_form(request, page, person=None, purpose=page.default_purpose.value, shown={})


@router.post(
    "/t/{tenant_id}/people/new",
    name="create_person_submit",
    openapi_extra=declare(Permission.PEOPLE_WRITE),
)
def create_person(
    request: Request, tenant_id: uuid.UUID, page: AgencyFormDep, form: FormDep
) -> Response:
    shown = {s.name: _text(form, FIELD_PREFIX + s.name) for s in PERSON_SPECS}
    shown["kind"] = _text(form, "kind")
    use = parse_purpose(form.get("purpose"))
    values, errors = parse_fields(PERSON_SPECS, form)
    if use is None or shown["kind"] not in service.PERSON_KINDS:
        # Both come from fixed choices: only a tampered form gets here.
        return problem_page(request, page, 422, "Choose patient or caregiver and a purpose.")
    if errors:
        return _person_form(
            request, page, person=None, purpose=use.value, shown=shown, errors=errors, status=422
        )
    try:
        with page.unit(use) as u:
            person = service.do_create_person(u, kind=shown["kind"], **values)
    except InvalidInput as exc:
        return _person_form(
            request, page, person=None, purpose=use.value, shown=shown, **_refusal(exc, shown)
        )
    except Conflict as exc:  # the MRN is another person's: said at the MRN field
        return _person_form(
            request, page, person=None, purpose=use.value, shown=shown, **_mrn_taken(exc)
        )
    return redirect(_chart(request, page, person.id, use))


def _mrn_taken(exc: Conflict) -> dict[str, Any]:
    return {"errors": {"mrn": _sentence(exc.detail)}, "status": 409}


def _refusal(exc: InvalidInput, names: Iterable[str]) -> dict[str, Any]:
    """A service's validation message as form arguments: at its field when it names one."""
    named = _field_error(exc.detail, names)
    return {"errors": named, "error": None if named else exc.detail, "status": 422}


def _field_error(detail: str, names: Iterable[str]) -> dict[str, str]:
    """A service's message attached to the one field it names, if it names exactly one."""
    named = [n for n in names if f"'{n}'" in detail]
    if len(named) != 1:
        return {}
    return {named[0]: _sentence(detail, re.escape(named[0]))}


@router.get(
    "/t/{tenant_id}/people/{person_id}/edit", openapi_extra=declare(Permission.PEOPLE_WRITE)
)
def edit_person(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str = "",
) -> Response:
    use = parse_purpose(purpose)
    if use is None:
        return redirect(path_for(request, "chart", tenant_id=tenant_id, person_id=person_id))
    with page.unit(use) as u:
        person = service.open_person_for_correction(u, person_id)
    shown = {k: v or "" for k, v in person.fields.items()}
    return _person_form(request, page, person=person, purpose=use.value, shown=shown)


@router.post(
    "/t/{tenant_id}/people/{person_id}/edit",
    name="update_person_submit",
    openapi_extra=declare(Permission.PEOPLE_WRITE),
)
def update_person(
    request: Request, tenant_id: uuid.UUID, person_id: uuid.UUID, page: ChartFormDep, form: FormDep
) -> Response:
    """Correct a person's identifying fields; only the fields that differ are written."""
    use = parse_purpose(form.get("purpose"))
    if use is None:
        return redirect(path_for(request, "chart", tenant_id=tenant_id, person_id=person_id))
    shown = {s.name: _text(form, FIELD_PREFIX + s.name) for s in PERSON_SPECS}
    values, errors = parse_fields(PERSON_SPECS, form)
    with page.unit(use) as u:
        person = service.open_person_for_correction(u, person_id)
    if errors:
        return _person_form(
            request, page, person=person, purpose=use.value, shown=shown, errors=errors, status=422
        )
    try:
        with page.unit(use) as u:
            service.do_update_person(u, person_id, values)
    except InvalidInput as exc:
        return _person_form(
            request, page, person=person, purpose=use.value, shown=shown, **_refusal(exc, shown)
        )
    except Conflict as exc:
        return _person_form(
            request, page, person=person, purpose=use.value, shown=shown, **_mrn_taken(exc)
        )
    return redirect(_chart(request, page, person_id, use))


# -- records ------------------------------------------------------------------------------
def _record_form(
    request: Request,
    page: TenantPage,
    *,
    action: str,
    heading: str,
    person: service.PersonView | None,
    specs: Iterable[FieldSpec],
    purpose: PurposeOfUse,
    shown: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    version: int | None = None,
    may_tag: bool = False,
    tags: Iterable[str] = (),
    back: str,
) -> Response:
    specs = tuple(specs)
    caregivers: dict[str, str] = {}
    if any(s.kind == "caregiver" for s in specs):
        try:
            with page.unit(purpose) as u:
                caregivers = service.caregiver_names(u, permission=Permission.RECORDS_WRITE)
        except PhivaultError:
            caregivers = {}
    return render(
        request,
        "record_form.html",
        status,
        section="people",
        action=action,
        heading=heading,
        person=person,
        purpose=purpose.value,
        rows=_field_rows(specs, shown, errors or {}, caregivers),
        version=version,
        may_tag=may_tag,
        sensitivity=SENSITIVITY,
        tags=set(tags),
        back=back,
        error=error or ("Please correct the fields marked below." if errors else None),
        **page.vars(),
    )


def _new_record_target(request: Request, tenant_id: uuid.UUID, person_id: uuid.UUID) -> str:
    return path_for(request, "create_record_submit", tenant_id=tenant_id, person_id=person_id)


@router.get(
    "/t/{tenant_id}/people/{person_id}/records/new",
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
def new_record(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str = "",
    record_type: str = "",
) -> Response:
    use = parse_purpose(purpose)
    if use is None:
        return redirect(path_for(request, "chart", tenant_id=tenant_id, person_id=person_id))
    with page.unit(use) as u:
        offer = service.new_record_form(u, person_id, record_type)
    return _new_record_page(request, page, offer, use, {})


def _new_record_page(
    request: Request,
    page: TenantPage,
    offer: service.NewRecordForm,
    purpose: PurposeOfUse,
    shown: Mapping[str, str],
    **extra: Any,
) -> Response:
    person_id = offer.person.id
    return _record_form(
        request,
        page,
        action=f"{_new_record_target(request, page.tenant_id, person_id)}"
        f"?record_type={offer.record_type.name}",
        heading=f"New {offer.record_type.label.lower()} record",
        person=offer.person,
        specs=offer.writable,
        purpose=purpose,
        shown=shown,
        may_tag=offer.may_tag,
        back=_chart(request, page, person_id, purpose),
        **extra,
    )


@router.post(
    "/t/{tenant_id}/people/{person_id}/records/new",
    name="create_record_submit",
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
def create_record(
    request: Request,
    tenant_id: uuid.UUID,
    person_id: uuid.UUID,
    page: ChartFormDep,
    form: FormDep,
    record_type: str = "",
) -> Response:
    use = parse_purpose(form.get("purpose"))
    if use is None:
        return redirect(path_for(request, "chart", tenant_id=tenant_id, person_id=person_id))
    tags = _tag_list(form.get("sensitivity"))
    with page.unit(use) as u:
        offer = service.new_record_form(u, person_id, record_type)
    shown = {s.name: _text(form, FIELD_PREFIX + s.name) for s in offer.writable}
    values, errors = parse_fields(offer.writable, form)
    if errors:
        return _new_record_page(
            request, page, offer, use, shown, errors=errors, tags=tags, status=422
        )
    try:
        with page.unit(use) as u:
            service.do_create_record(
                u,
                person_id=person_id,
                type_name=record_type,
                fields={k: v for k, v in values.items() if v not in (None, "", [])},
                sensitivity=tags if offer.may_tag else (),
            )
    except InvalidInput as exc:
        return _new_record_page(request, page, offer, use, shown, tags=tags, **_refusal(exc, shown))
    return redirect(_chart(request, page, person_id, use))


def _tag_list(raw: object) -> list[str]:
    values = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) and raw else []
    return [v for v in values if isinstance(v, str)]


def _edit_target(request: Request, tenant_id: uuid.UUID, record_id: uuid.UUID) -> str:
    return path_for(request, "update_record_submit", tenant_id=tenant_id, record_id=record_id)


@router.get(
    "/t/{tenant_id}/records/{record_id}/edit", openapi_extra=declare(Permission.RECORDS_WRITE)
)
def edit_record(
    request: Request,
    tenant_id: uuid.UUID,
    record_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str = "",
) -> Response:
    use = parse_purpose(purpose)
    if use is None:
        return not_found(request, page)
    with page.unit(use) as u:
        draft = service.open_record_for_correction(u, record_id)
    shown = {s.name: display_value(s, draft.record.fields.get(s.name)) for s in draft.writable}
    return _correction_form(request, page, draft, use, shown)


def _correction_form(
    request: Request,
    page: TenantPage,
    draft: service.RecordDraft,
    purpose: PurposeOfUse,
    shown: Mapping[str, str],
    **extra: Any,
) -> Response:
    label = RECORD_TYPES[draft.record.record_type].label.lower()
    return _record_form(
        request,
        page,
        action=_edit_target(request, page.tenant_id, draft.record.id),
        heading=f"Correct a {label} record",
        person=None,
        specs=draft.writable,
        purpose=purpose,
        shown=shown,
        version=draft.record.version,
        back=_chart(request, page, draft.record.person_id, purpose),
        **extra,
    )


@router.post(
    "/t/{tenant_id}/records/{record_id}/edit",
    name="update_record_submit",
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
def update_record(
    request: Request, tenant_id: uuid.UUID, record_id: uuid.UUID, page: AgencyFormDep, form: FormDep
) -> Response:
    """Write the fields that differ from the stored record, guarded by its version (a
    correction made meanwhile by someone else is not overwritten)."""
    use = parse_purpose(form.get("purpose"))
    if use is None:
        return not_found(request, page)
    try:
        version = int(_text(form, "version"))
    except ValueError:
        return problem_page(request, page, 422, "The form is incomplete; open it again.")
    with page.unit(use) as u:
        draft = service.open_record_for_correction(u, record_id)
    shown = {s.name: _text(form, FIELD_PREFIX + s.name) for s in draft.writable}
    values, errors = parse_fields(draft.writable, form)
    if errors:
        return _correction_form(request, page, draft, use, shown, errors=errors, status=422)
    try:
        with page.unit(use) as u:
            service.do_update_record(u, record_id, fields=values, expected_version=version)
    except Conflict:
        return _correction_form(
            request,
            page,
            draft,
            use,
            shown,
            status=409,
            error="Someone else corrected this record meanwhile, so your changes were not "
            "saved. Open the record again to see their version, then make your correction.",
        )
    except InvalidInput as exc:
        return _correction_form(request, page, draft, use, shown, **_refusal(exc, shown))
    return redirect(_chart(request, page, draft.record.person_id, use))


# -- history and voiding --------------------------------------------------------------------
@router.get(
    "/t/{tenant_id}/records/{record_id}/versions", openapi_extra=declare(Permission.RECORDS_READ)
)
def record_history(
    request: Request,
    tenant_id: uuid.UUID,
    record_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str = "",
) -> Response:
    """A record's versions, oldest first (full-access readers and privacy officers; audited)."""
    use = parse_purpose(purpose)
    if use is None:
        return not_found(request, page)
    with page.unit(use) as u:
        versions = service.record_versions(u, record_id)
        caregivers = service.caregiver_names(
            u,
            {v.fields["caregiver_id"] for v in versions if v.fields.get("caregiver_id")},
            permission=Permission.RECORDS_READ,
        )
    return render(
        request,
        "record_versions.html",
        section="people",
        versions=versions,
        caregivers=caregivers,
        purpose=use.value,
        **page.vars(),
    )


_VOID_WHAT = {"records": "record", "people": "person", "documents": "document"}
# The route a void form posts to, by the kind of object in the address.
_VOID_SUBMIT = {
    "records": "void_record_submit",
    "people": "void_person_submit",
    "documents": "void_document_submit",
}


def _void_kind(path: str) -> str:
    """Which kind of object a void route names (its second path segment after the agency)."""
    return path.split("/")[3]


def _void_form(
    request: Request,
    page: TenantPage,
    *,
    what: str,
    target: uuid.UUID,
    purpose: PurposeOfUse,
    reason: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "void_form.html",
        status,
        section="people",
        what=_VOID_WHAT[what],
        action=path_for(request, _VOID_SUBMIT[what], tenant_id=page.tenant_id, record_id=target),
        purpose=purpose.value,
        reason=reason,
        error=error,
        **page.vars(),
    )


@router.get(
    "/t/{tenant_id}/records/{record_id}/void",
    name="void_record_page",
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
@router.get(
    "/t/{tenant_id}/people/{record_id}/void",
    name="void_person_page",
    openapi_extra=declare(Permission.PEOPLE_WRITE),
)
@router.get(
    "/t/{tenant_id}/documents/{record_id}/void",
    name="void_document_page",
    openapi_extra=declare(Permission.DOCUMENTS_WRITE),
)
def void_page(
    request: Request,
    tenant_id: uuid.UUID,
    record_id: uuid.UUID,
    page: AgencyPageDep,
    purpose: str = "",
) -> Response:
    """The form that voids a record or person filed in error (asks why; nothing is deleted)."""
    use = parse_purpose(purpose)
    if use is None:
        return not_found(request, page)
    what = _void_kind(request.url.path)
    return _void_form(request, page, what=what, target=record_id, purpose=use)


@router.post(
    "/t/{tenant_id}/records/{record_id}/void",
    name="void_record_submit",
    openapi_extra=declare(Permission.RECORDS_WRITE),
)
@router.post(
    "/t/{tenant_id}/people/{record_id}/void",
    name="void_person_submit",
    openapi_extra=declare(Permission.PEOPLE_WRITE),
)
@router.post(
    "/t/{tenant_id}/documents/{record_id}/void",
    name="void_document_submit",
    openapi_extra=declare(Permission.DOCUMENTS_WRITE),
)
def void_submit(
    request: Request, tenant_id: uuid.UUID, record_id: uuid.UUID, page: AgencyFormDep, form: FormDep
) -> Response:
    """Void with the reason given; a refused reason shows the form again, saying why."""
    what = _void_kind(request.url.path)
    use = parse_purpose(form.get("purpose"))
    if use is None:
        return not_found(request, page)
    reason = _text(form, "reason")
    try:
        with page.unit(use) as u:
            if what == "people":
                service.do_void_person(u, record_id, reason=reason)
            elif what == "documents":
                documents.do_void_document(u, record_id, reason=reason)
            else:
                service.do_void_record(u, record_id, reason=reason)
    except InvalidInput as exc:
        return _void_form(
            request,
            page,
            what=what,
            target=record_id,
            purpose=use,
            reason=reason,
            error=_sentence(exc.detail, "reason"),
            status=422,
        )
    return redirect(path_for(request, "search_page", tenant_id=tenant_id) + "?voided=1")
