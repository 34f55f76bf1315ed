"""People and records services: every function runs inside a guarded unit (I-1, I-7)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, bindparam, select, tuple_
from sqlalchemy.exc import IntegrityError

from phivault.access import breakglass
from phivault.access.guard import Decision, break_glass_column
from phivault.access.policy import TIER_ORDER, VISIBLE_TIERS, Permission, Sensitivity, Tier
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.clock import from_micros, to_micros
from phivault.errors import Conflict, InvalidInput
from phivault.records import credential_slots
from phivault.records.models import Document, Person, PersonVersion, Record, RecordVersion
from phivault.records.types import (
    DOB_EARLIEST,
    RECORD_TYPES,
    FieldSpec,
    RecordType,
    check_record,
    clean_value,
    record_type,
)

PERSON_KINDS = ("patient", "caregiver")
PERSON_FIELDS = ("given_name", "family_name", "date_of_birth", "mrn")
_TIER_COLUMN = {Tier.MINIMUM: "minimum_ct", Tier.SUMMARY: "summary_ct", Tier.FULL: "full_ct"}
MAX_LIST = 200
MRN_TAKEN = "another person of this agency already has this MRN"


@dataclass(frozen=True)
class PersonView:
    id: uuid.UUID
    kind: str
    fields: dict[str, str | None]


@dataclass(frozen=True)
class RecordView:
    id: uuid.UUID
    person_id: uuid.UUID
    record_type: str
    version: int
    sensitivity: list[str]
    fields: dict[str, Any]
    break_glass: bool


def _clean_name(value: object, name: str) -> str:
    """A name exactly as given, or a refusal: never trimmed behind the writer's back."""
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise InvalidInput(f"'{name}' must be 1 to 100 characters")
    if value != value.strip():
        raise InvalidInput(f"'{name}' must not start or end with a space")
    return value


def _clean_dob(value: object) -> str:
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput("'date_of_birth' must be a date (YYYY-MM-DD)") from exc
    today = date.today()
    if not DOB_EARLIEST <= parsed <= today:
        raise InvalidInput(
            f"'date_of_birth' must be a date from {DOB_EARLIEST.isoformat()} to {today.isoformat()}"
        )
    return parsed.isoformat()


def _blank(value: object) -> bool:
    """Whether a value leaves a field empty (whitespace and empty lists count as nothing)."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned = sorted(set(tags))
    allowed = {s.value for s in Sensitivity}
    unknown = [t for t in cleaned if t not in allowed]
    if unknown:
        raise InvalidInput(f"unknown sensitivity tag(s); allowed: {', '.join(sorted(allowed))}")
    return cleaned


# -- people -------------------------------------------------------------------------------
def do_create_person(
    unit: Unit,
    *,
    kind: str,
    given_name: str,
    family_name: str,
    date_of_birth: str,
    mrn: str | None = None,
) -> PersonView:
    if kind not in PERSON_KINDS:
        raise InvalidInput("'kind' must be 'patient' or 'caregiver'")
    given, family = _clean_name(given_name, "given_name"), _clean_name(family_name, "family_name")
    dob = _clean_dob(date_of_birth)
    if mrn is not None and (not mrn.strip() or len(mrn) > 40 or mrn != mrn.strip()):
        raise InvalidInput("'mrn' must be 1 to 40 characters, without spaces at either end")
    person_id = uuid.uuid4()
    decision = unit.guard.check(
        Permission.PEOPLE_WRITE,
        action=AuditAction.PERSON_CREATE,
        resource_type="person",
        resource_id=person_id,
        person_id=person_id,
        min_tier=Tier.MINIMUM,
    )
    person = Person(
        tenant_id=unit.tenant_id, id=person_id, kind=kind, created_at=unit.now, updated_at=unit.now
    )
    _seal_identity(unit, person, given, family, dob, mrn or None)
    _refuse_taken_mrn(unit, person)
    unit.session.add(person)
    _flush_person(unit)
    unit.guard.record(decision, PERSON_FIELDS if mrn else PERSON_FIELDS[:3])
    return person_view(unit, person, decision)


def _seal_identity(
    unit: Unit, person: Person, given: str, family: str, dob: str, mrn: str | None
) -> None:
    """Encrypt the identifying fields and refresh the blind indexes that find them."""
    c, pid = unit.cipher, person.id
    person.given_name_ct = c.encrypt_text("people", "given_name", pid, given)
    person.family_name_ct = c.encrypt_text("people", "family_name", pid, family)
    person.date_of_birth_ct = c.encrypt_text("people", "date_of_birth", pid, dob)
    person.mrn_ct = c.encrypt_text("people", "mrn", pid, mrn) if mrn else None
    person.bidx_name_dob = c.blind_index("name_dob", family, given, dob)
    person.bidx_mrn = c.blind_index("mrn", mrn) if mrn else None


def _refuse_taken_mrn(unit: Unit, person: Person) -> None:
    """A clear refusal when another person of the agency has this MRN. The unique index on
    the blind index (``ix_people_mrn``) is what enforces it, also against a concurrent write."""
    if person.bidx_mrn is None:
        return
    with unit.session.no_autoflush:  # the person's new values are not flushed before the check
        other = unit.session.scalar(
            select(Person.id).where(
                Person.tenant_id == unit.tenant_id,
                Person.bidx_mrn == person.bidx_mrn,
                Person.id != person.id,
            )
        )
    if other is not None:
        raise Conflict(MRN_TAKEN)


def _flush_person(unit: Unit) -> None:
    # The unit's transaction is rolled back when the Conflict leaves it.
    try:
        unit.session.flush()
    except IntegrityError as exc:
        if "ix_people_mrn" in str(exc.orig) or "bidx_mrn" in str(exc.orig):
            raise Conflict(MRN_TAKEN) from exc
        raise


def _keep_person_version(unit: Unit, person: Person) -> None:
    """Keep the identifying fields as they were, re-encrypted for their own immutable row."""
    c, version_id = unit.cipher, uuid.uuid4()

    def reseal(column: str, blob: bytes | None) -> bytes | None:
        if blob is None:
            return None
        plain = c.decrypt("people", column, person.id, blob)
        return c.encrypt("person_versions", column, version_id, plain)

    unit.session.add(
        PersonVersion(
            tenant_id=unit.tenant_id,
            id=version_id,
            person_id=person.id,
            given_name_ct=reseal("given_name", person.given_name_ct),
            family_name_ct=reseal("family_name", person.family_name_ct),
            date_of_birth_ct=reseal("date_of_birth", person.date_of_birth_ct),
            mrn_ct=reseal("mrn", person.mrn_ct),
            written_at=person.updated_at,
            replaced_at=unit.now,
            replaced_by=unit.actor.member_id,
        )
    )


def differing(changes: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The changes whose value differs from the current one: a correction writes only
    those, from the API and from a page alike (a form sends every field back)."""
    return {k: v for k, v in changes.items() if v != current.get(k)}


def do_update_person(unit: Unit, person_id: uuid.UUID, changes: Mapping[str, Any]) -> PersonView:
    """Correct a person's identifying fields (names, date of birth, MRN).

    The guard decides first; only the fields whose value differs are written (nothing
    differs: no new version, and the audit event names no field), and the earlier
    identifying fields are kept as a version, never overwritten (HIPAA 164.312(c)).
    """
    person, decision = _decide_person(
        unit, person_id, Permission.PEOPLE_WRITE, AuditAction.PERSON_UPDATE
    )
    unknown = [k for k in changes if k not in PERSON_FIELDS]
    if unknown:
        raise InvalidInput(f"people have no field '{unknown[0][:40]}'")
    current = person_view(unit, person, decision).fields
    changes = differing(changes, current)
    if not changes:
        unit.guard.record(decision, ())
        return person_view(unit, person, decision)
    merged = {**current, **changes}
    mrn = merged.get("mrn")
    if mrn is not None and (
        not isinstance(mrn, str) or not mrn.strip() or len(mrn) > 40 or mrn != mrn.strip()
    ):
        raise InvalidInput("'mrn' must be 1 to 40 characters, without spaces at either end")
    given = _clean_name(merged["given_name"], "given_name")
    family = _clean_name(merged["family_name"], "family_name")
    dob = _clean_dob(merged["date_of_birth"])
    _keep_person_version(unit, person)
    _seal_identity(unit, person, given, family, dob, mrn or None)
    _refuse_taken_mrn(unit, person)
    person.updated_at = unit.now
    _flush_person(unit)
    unit.guard.record(decision, changes)
    return person_view(unit, person, decision)


def person_view(unit: Unit, person: Person, decision: Decision) -> PersonView:
    if Tier.MINIMUM not in decision.tiers:
        return PersonView(person.id, person.kind, {})
    c = unit.cipher
    pid = person.id
    return PersonView(
        person.id,
        person.kind,
        {
            "given_name": c.decrypt_text("people", "given_name", pid, person.given_name_ct),
            "family_name": c.decrypt_text("people", "family_name", pid, person.family_name_ct),
            "date_of_birth": c.decrypt_text(
                "people", "date_of_birth", pid, person.date_of_birth_ct
            ),
            "mrn": c.decrypt_text("people", "mrn", pid, person.mrn_ct) if person.mrn_ct else None,
        },
    )


def _load_person(
    unit: Unit,
    person_id: uuid.UUID,
    permission: Permission,
    action: AuditAction,
    *,
    voided: bool = False,
) -> Person:
    """Load a person; one voided (filed in error) is absent unless ``voided`` is asked for."""
    person = unit.session.get(Person, (unit.tenant_id, person_id))
    if person is None or (person.voided_at is not None and not voided):
        raise unit.guard.not_found(
            permission, action=action, resource_type="person", resource_id=person_id
        )
    return person


def _decide_person(
    unit: Unit, person_id: uuid.UUID, permission: Permission, action: AuditAction
) -> tuple[Person, Decision]:
    """Load a person and decide an access to their identifying (Minimum-tier) fields."""
    person = _load_person(unit, person_id, permission, action)
    decision = unit.guard.check(
        permission,
        action=action,
        resource_type="person",
        resource_id=person_id,
        person_id=person_id,
        min_tier=Tier.MINIMUM,
    )
    return person, decision


def _read_person(unit: Unit, person_id: uuid.UUID, permission: Permission) -> PersonView:
    person, decision = _decide_person(unit, person_id, permission, AuditAction.PERSON_READ)
    view = person_view(unit, person, decision)
    unit.guard.record(decision, [k for k, v in view.fields.items() if v is not None])
    return view


def read_person(unit: Unit, person_id: uuid.UUID) -> PersonView:
    return _read_person(unit, person_id, Permission.PEOPLE_READ)


def open_person_for_correction(unit: Unit, person_id: uuid.UUID) -> PersonView:
    """A person's identifying fields for a correction form: needs the write permission (a
    reader who may not correct is refused before anything is shown), audited as a read."""
    return _read_person(unit, person_id, Permission.PEOPLE_WRITE)


def search_people(
    unit: Unit,
    *,
    family_name: str | None = None,
    given_name: str | None = None,
    date_of_birth: str | None = None,
    mrn: str | None = None,
    emergency_reason: str | None = None,
) -> list[PersonView]:
    """Exact-match search by name + date of birth, or by MRN, through the blind indexes.

    Emergency-only staff may search (to open break-glass on the right person) but see ids only,
    and only as an emergency act with a reason (``breakglass.emergency_search``).
    """
    # The guard decides before anything else (an unknown tenant is a 404, not a missing key).
    decision = unit.guard.check(
        Permission.PEOPLE_READ, action=AuditAction.PERSON_SEARCH, resource_type="person"
    )
    # Emergency-only staff give the reason before the search looks at anything.
    breakglass.emergency_search(unit, decision, emergency_reason)
    c = unit.cipher
    probe: ColumnElement[bool]
    if mrn:
        probe = Person.bidx_mrn == c.blind_index("mrn", mrn)
        criteria = ["mrn"]
    elif family_name and given_name and date_of_birth:
        dob = _clean_dob(date_of_birth)
        probe = Person.bidx_name_dob == c.blind_index("name_dob", family_name, given_name, dob)
        criteria = ["family_name", "given_name", "date_of_birth"]
    else:
        raise InvalidInput("search by 'mrn', or by 'family_name', 'given_name' and 'date_of_birth'")
    people = unit.session.scalars(
        select(Person)
        .where(Person.tenant_id == unit.tenant_id, probe, Person.voided_at.is_(None))
        .limit(MAX_LIST)
    ).all()
    views = [person_view(unit, p, decision) for p in people]
    shown = [k for k in PERSON_FIELDS if any(v.fields.get(k) for v in views)]
    unit.guard.record(decision, [*criteria, *(f"result:{f}" for f in shown)])
    return views


@dataclass(frozen=True)
class PersonCursor:
    """A place in the agency's list of people: the creation time and id of a person (no PHI),
    so that any page is found through the index, however far down (keyset paging)."""

    created_us: int
    id: uuid.UUID

    def encode(self) -> str:
        return f"{self.created_us}.{self.id.hex}"

    @classmethod
    def decode(cls, text: str) -> PersonCursor:
        gone = InvalidInput("That page of the list does not exist; start again.")
        if len(text) > 80:
            raise gone
        moment, _, ident = text.partition(".")
        try:
            cursor = cls(int(moment), uuid.UUID(hex=ident))
            from_micros(cursor.created_us)  # a moment a date can hold
        except (ValueError, OverflowError):
            raise gone from None
        return cursor

    @classmethod
    def of(cls, person: Person) -> PersonCursor:
        return cls(to_micros(person.created_at), person.id)


@dataclass(frozen=True)
class PeoplePage:
    people: list[PersonView]
    next: PersonCursor | None  # the page after this one, if any
    previous: PersonCursor | None  # the page before this one, if any


def _decide_people_list(unit: Unit) -> Decision:
    """A list of people shows their names: any view that shows the Minimum tier."""
    return unit.guard.check(
        Permission.PEOPLE_READ,
        action=AuditAction.PERSON_LIST,
        resource_type="person",
        min_tier=Tier.MINIMUM,
    )


def people_query(
    tenant_id: uuid.UUID,
    kind: str,
    *,
    after: PersonCursor | None = None,
    before: PersonCursor | None = None,
    limit: int,
) -> Select[Person]:
    """The keyset query behind :func:`people_page`: one range of ``ix_people_list``, in
    the order people were added (backwards for the page before ``before``)."""
    key = tuple_(Person.created_at, Person.id)
    query = select(Person).where(
        Person.tenant_id == tenant_id, Person.kind == kind, Person.voided_at.is_(None)
    )
    if after is not None:
        query = query.where(key > tuple_(from_micros(after.created_us), after.id))
        return query.order_by(Person.created_at, Person.id).limit(limit)
    if before is not None:
        query = query.where(key < tuple_(from_micros(before.created_us), before.id))
        return query.order_by(Person.created_at.desc(), Person.id.desc()).limit(limit)
    return query.order_by(Person.created_at, Person.id).limit(limit)


def people_page(
    unit: Unit,
    *,
    kind: str,
    after: PersonCursor | None = None,
    before: PersonCursor | None = None,
    limit: int = 50,
) -> PeoplePage:
    """One page of the agency's patients or caregivers in the order they were added: the
    first, the one after ``after`` or the one before ``before``. Audited as a listing."""
    if kind not in PERSON_KINDS:
        raise InvalidInput("'kind' must be 'patient' or 'caregiver'")
    if not 0 < limit <= MAX_LIST:
        raise InvalidInput(f"'limit' must be 1 to {MAX_LIST}")
    decision = _decide_people_list(unit)
    backwards = before is not None and after is None
    query = people_query(unit.tenant_id, kind, after=after, before=before, limit=limit + 1)
    rows = list(unit.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    views = [person_view(unit, p, decision) for p in rows]
    unit.guard.record(decision, PERSON_FIELDS)
    first, last = (PersonCursor.of(rows[0]), PersonCursor.of(rows[-1])) if rows else (None, None)
    has_next = more if not backwards else True
    has_previous = (after is not None) if not backwards else more
    return PeoplePage(
        views, last if has_next and rows else None, first if has_previous and rows else None
    )


def list_people(
    unit: Unit, *, kind: str | None, offset: int = 0, limit: int = 50
) -> list[PersonView]:
    if kind is not None and kind not in PERSON_KINDS:
        raise InvalidInput("'kind' must be 'patient' or 'caregiver'")
    if not 0 < limit <= MAX_LIST or offset < 0:
        raise InvalidInput(f"'limit' must be 1 to {MAX_LIST} and 'offset' not negative")
    decision = _decide_people_list(unit)
    query = select(Person).where(Person.tenant_id == unit.tenant_id, Person.voided_at.is_(None))
    if kind:
        query = query.where(Person.kind == kind)
    people = unit.session.scalars(
        query.order_by(Person.created_at, Person.id).offset(offset).limit(limit)
    ).all()
    views = [person_view(unit, p, decision) for p in people]
    unit.guard.record(decision, PERSON_FIELDS)
    return views


# -- records ------------------------------------------------------------------------------
def _tiers_of(unit: Unit, fields: Mapping[str, Any], rt: RecordType) -> dict[Tier, dict[str, Any]]:
    """Validate every field (declared in records/types.py) and group them by tier."""
    grouped: dict[Tier, dict[str, Any]] = {}
    today = unit.now.date()
    for name, value in fields.items():
        spec = rt.field(name)
        if spec is None:
            raise InvalidInput(f"record type '{rt.name}' has no field '{name[:40]}'")
        cleaned = clean_value(spec, value, today)
        if spec.kind == "caregiver" and cleaned is not None:
            _check_caregiver(unit, spec, cleaned)
        grouped.setdefault(spec.tier, {})[name] = cleaned
    return grouped


def _check_caregiver(unit: Unit, spec: FieldSpec, value: str) -> None:
    """A caregiver reference names a caregiver (not voided) of this agency."""
    found = unit.session.scalar(
        select(Person.id).where(
            Person.tenant_id == unit.tenant_id,
            Person.id == uuid.UUID(value),
            Person.kind == "caregiver",
            Person.voided_at.is_(None),
        )
    )
    if found is None:
        raise InvalidInput(f"field '{spec.name}' must name a caregiver of the agency")


def _asked_tier(rt: RecordType | None, fields: Mapping[str, Any]) -> Tier:
    """The highest tier among the known fields asked for (for the guard, before validation)."""
    tiers = [spec.tier for name in fields if rt and (spec := rt.field(name)) is not None]
    return max(tiers, key=TIER_ORDER.index) if tiers else Tier.MINIMUM


def tier_fields(unit: Unit, record: Record, tier: Tier) -> dict[str, Any]:
    """The fields of one tier of a record (its own ciphertext; empty if it has none)."""
    blob = getattr(record, _TIER_COLUMN[tier])
    if blob is None:
        return {}
    fields: dict[str, Any] = unit.cipher.decrypt_json(
        "records", _TIER_COLUMN[tier], record.id, blob
    )
    return fields


def visible_fields(
    unit: Unit, record: Record, decision: Decision
) -> tuple[dict[str, Any], list[str]]:
    """The fields of every tier the decision shows (no other tier is decrypted)."""
    data: dict[str, Any] = {}
    for tier in TIER_ORDER:
        if tier in decision.tiers:
            data.update(tier_fields(unit, record, tier))
    return data, sorted(data)


def record_tags(unit: Unit, record: Record) -> list[str]:
    tags: list[str] = unit.cipher.decrypt_json("records", "tags_ct", record.id, record.tags_ct)
    return tags


def do_create_record(
    unit: Unit,
    *,
    person_id: uuid.UUID,
    type_name: str,
    fields: Mapping[str, Any],
    sensitivity: Iterable[str] = (),
) -> RecordView:
    """Create a record. The guard decides before the body is validated, so that nobody learns
    about a person they may not see from a validation message."""
    person = _load_person(unit, person_id, Permission.RECORDS_WRITE, AuditAction.RECORD_CREATE)
    record_id = uuid.uuid4()
    decision = unit.guard.check(
        Permission.RECORDS_WRITE,
        action=AuditAction.RECORD_CREATE,
        resource_type="record",
        resource_id=record_id,
        person_id=person_id,
        min_tier=_asked_tier(RECORD_TYPES.get(type_name), fields),
    )
    rt = record_type(type_name)
    tags = _clean_tags(sensitivity)
    grouped = _tiers_of(unit, fields, rt)
    if person.kind not in rt.subjects:
        raise InvalidInput(f"a {person.kind} cannot have a '{rt.name}' record")
    missing = [f.name for f in rt.fields if f.required and _blank(fields.get(f.name))]
    if missing:
        raise InvalidInput(f"missing required field(s): {', '.join(missing)}")
    check_record(rt, {k: v for values in grouped.values() for k, v in values.items()})
    c = unit.cipher
    record = Record(
        tenant_id=unit.tenant_id,
        id=record_id,
        person_id=person_id,
        record_type=rt.name,
        tags_ct=c.encrypt_json("records", "tags_ct", record_id, tags),
        version=1,
        created_by=unit.actor.member_id,
        created_at=unit.now,
        updated_at=unit.now,
    )
    for tier, values in grouped.items():
        column = _TIER_COLUMN[tier]
        setattr(record, column, c.encrypt_json("records", column, record_id, values))
    unit.session.add(record)
    unit.session.flush()
    if record.record_type == credential_slots.CREDENTIAL:
        credential_slots.refresh_person(unit, person_id)
    unit.guard.record(decision, fields)
    data, _ = visible_fields(unit, record, decision)
    return _view(record, tags, data, decision)


def _decide_record(
    unit: Unit, record: Record, permission: Permission, action: AuditAction, tags: list[str]
) -> Decision:
    rt = record_type(record.record_type)
    decision = unit.guard.check(
        permission,
        action=action,
        resource_type="record",
        resource_id=record.id,
        person_id=record.person_id,
        sensitivity=tags,
    )
    if not rt.names_in(decision.tiers):
        raise unit.guard.refuse(
            permission,
            action=action,
            resource_type="record",
            resource_id=record.id,
            person_id=record.person_id,
            reason="category",
        )
    return decision


# Built once (every record read and write starts here): the record with its person's
# voided mark and the member's open emergency grant for that person, in one statement.
_RECORD_AND_PERSON = (
    select(Record, Person.id, Person.voided_at, break_glass_column(Record.person_id))
    .outerjoin(Person, (Person.tenant_id == Record.tenant_id) & (Person.id == Record.person_id))
    .where(
        Record.tenant_id == bindparam("tenant", type_=Uuid()),
        Record.id == bindparam("record", type_=Uuid()),
    )
)


def _load_record(
    unit: Unit,
    record_id: uuid.UUID,
    permission: Permission,
    action: AuditAction,
    *,
    voided: bool = False,
) -> Record:
    """Load a record; one voided, or of a voided person, is absent unless ``voided``."""
    params = {"tenant": unit.tenant_id, "record": record_id, **unit.guard.break_glass_params()}
    row = unit.session.execute(_RECORD_AND_PERSON, params).first()
    record: Record | None = None
    if row is not None:
        record, person_id, person_voided_at, grant_id = row
        unit.guard.note_break_glass(record.person_id, grant_id)
        if not voided and (
            record.voided_at is not None or person_id is None or person_voided_at is not None
        ):
            record = None
    if record is None:
        raise unit.guard.not_found(
            permission, action=action, resource_type="record", resource_id=record_id
        )
    return record


def _view(record: Record, tags: list[str], data: dict[str, Any], decision: Decision) -> RecordView:
    return RecordView(
        record.id,
        record.person_id,
        record.record_type,
        record.version,
        tags,
        data,
        decision.break_glass,
    )


def _read(unit: Unit, record_id: uuid.UUID, permission: Permission) -> tuple[RecordView, Decision]:
    """Load, decide, decrypt and audit one record read (as a reader or as a writer)."""
    record = _load_record(unit, record_id, permission, AuditAction.RECORD_READ)
    tags = record_tags(unit, record)
    decision = _decide_record(unit, record, permission, AuditAction.RECORD_READ, tags)
    data, names = visible_fields(unit, record, decision)
    unit.guard.record(decision, names)
    return _view(record, tags, data, decision), decision


def read_record(unit: Unit, record_id: uuid.UUID) -> RecordView:
    return _read(unit, record_id, Permission.RECORDS_READ)[0]


@dataclass(frozen=True)
class RecordDraft:
    """What a correction form shows: the record as its writer may see it, and the fields of
    the tiers they may write (empty ones included, so that they can be filled in)."""

    record: RecordView
    writable: tuple[FieldSpec, ...]


def open_record_for_correction(unit: Unit, record_id: uuid.UUID) -> RecordDraft:
    """Read a record for a correction: needs the write permission, audited as a read."""
    view, decision = _read(unit, record_id, Permission.RECORDS_WRITE)
    rt = record_type(view.record_type)
    return RecordDraft(view, tuple(f for f in rt.fields if f.tier in decision.tiers))


@dataclass(frozen=True)
class NewRecordForm:
    """What a new-record form offers: the person it is for and the fields the writer may fill."""

    person: PersonView
    record_type: RecordType
    writable: tuple[FieldSpec, ...]
    may_tag: bool


def new_record_form(unit: Unit, person_id: uuid.UUID, type_name: str) -> NewRecordForm:
    """The fields a writer may give a new record of this type for this person.

    Reading the person's name for the form's heading is audited like any read; the writer's
    tiers (their category, or every tier under break-glass) decide which fields are offered.
    """
    rt = record_type(type_name)
    person, decision = _decide_person(
        unit, person_id, Permission.RECORDS_WRITE, AuditAction.RECORD_COMPOSE
    )
    if person.kind not in rt.subjects:
        raise InvalidInput(f"a {person.kind} cannot have a '{rt.name}' record")
    writable = tuple(f for f in rt.fields if f.tier in decision.tiers)
    view = person_view(unit, person, decision)
    unit.guard.record(decision, [k for k, v in view.fields.items() if v is not None])
    return NewRecordForm(view, rt, writable, decision.full)


def list_records(
    unit: Unit, person_id: uuid.UUID, type_name: str | None = None
) -> list[RecordView]:
    """The records of one person that the caller's view shows, each projected."""
    _load_person(unit, person_id, Permission.RECORDS_READ, AuditAction.RECORD_LIST)
    decision = unit.guard.check(
        Permission.RECORDS_READ,
        action=AuditAction.RECORD_LIST,
        resource_type="person",
        resource_id=person_id,
        person_id=person_id,
        min_tier=Tier.MINIMUM,
    )
    if type_name is not None:  # validated after the guard has decided
        record_type(type_name)
    query = select(Record).where(
        Record.tenant_id == unit.tenant_id,
        Record.person_id == person_id,
        Record.voided_at.is_(None),
    )
    if type_name:
        query = query.where(Record.record_type == type_name)
    views: list[RecordView] = []
    shown: set[str] = set()
    for record in unit.session.scalars(query.order_by(Record.created_at, Record.id)):
        tags = record_tags(unit, record)
        if tags and not decision.full:
            continue  # sensitive records stay out of partial views entirely
        if not record_type(record.record_type).names_in(decision.tiers):
            continue
        data, names = visible_fields(unit, record, decision)
        shown.update(names)
        views.append(_view(record, tags, data, decision))
    unit.guard.record(decision, shown)
    return views


def do_update_record(
    unit: Unit,
    record_id: uuid.UUID,
    *,
    fields: Mapping[str, Any],
    expected_version: int | None,
) -> RecordView:
    """Correct a record: the given fields that differ from the stored ones replace them;
    others stay as they are (nothing differs: no new version, and the audit event names no
    field).

    A caller may only write fields of tiers its view shows; ``expected_version`` guards
    against overwriting someone else's correction (409).
    """
    record = _load_record(unit, record_id, Permission.RECORDS_WRITE, AuditAction.RECORD_UPDATE)
    rt = record_type(record.record_type)
    tags = record_tags(unit, record)
    # The guard decides first: a caller who may not see the record gets the same 404 for a
    # valid and an invalid body (no 422 names its type or fields).
    decision = _decide_record(
        unit, record, Permission.RECORDS_WRITE, AuditAction.RECORD_UPDATE, tags
    )
    asked = {spec.tier for name in fields if (spec := rt.field(name)) is not None}
    if any(t not in decision.tiers for t in asked):
        raise unit.guard.refuse(
            Permission.RECORDS_WRITE,
            action=AuditAction.RECORD_UPDATE,
            resource_type="record",
            resource_id=record.id,
            person_id=record.person_id,
            reason="category",
        )
    grouped = _tiers_of(unit, fields, rt)
    forbidden = [t for t in grouped if t not in decision.tiers]
    if forbidden:
        raise unit.guard.refuse(
            Permission.RECORDS_WRITE,
            action=AuditAction.RECORD_UPDATE,
            resource_type="record",
            resource_id=record.id,
            person_id=record.person_id,
            reason="category",
        )
    cleared = [
        f.name for f in rt.fields if f.required and f.name in fields and _blank(fields[f.name])
    ]
    if cleared:
        raise InvalidInput(f"required field(s) cannot be emptied: {', '.join(cleared)}")
    if expected_version is not None and expected_version != record.version:
        raise Conflict("the record was changed by someone else; reload it and try again")
    shown, _ = visible_fields(unit, record, decision)
    fields = differing(fields, shown)
    if not fields:
        unit.guard.record(decision, ())
        return _view(record, tags, shown, decision)
    grouped = _tiers_of(unit, fields, rt)
    c = unit.cipher
    merged: dict[Tier, dict[str, Any]] = {}
    for tier, values in grouped.items():
        current = tier_fields(unit, record, tier)
        current.update(values)
        merged[tier] = {k: v for k, v in current.items() if v is not None}
    whole: dict[str, Any] = {}
    for tier in TIER_ORDER:
        if tier in decision.tiers:
            whole.update(merged.get(tier, tier_fields(unit, record, tier)))
    check_record(rt, whole)
    # A correction may change a credential's kind: the slot of the old kind is recomputed too.
    credential = record.record_type == credential_slots.CREDENTIAL
    old_kind = credential and tier_fields(unit, record, Tier.MINIMUM).get("credential_type")
    _keep_record_version(unit, record)
    for tier, values in merged.items():
        column = _TIER_COLUMN[tier]
        setattr(
            record,
            column,
            c.encrypt_json("records", column, record.id, values) if values else None,
        )
    record.version += 1
    record.updated_at = unit.now
    unit.session.flush()
    if credential:
        credential_slots.refresh_person(unit, record.person_id, old_kinds=[str(old_kind or "")])
    unit.guard.record(decision, fields)
    data, _ = visible_fields(unit, record, decision)
    return _view(record, tags, data, decision)


# -- history and voiding --------------------------------------------------------------------
_VERSIONED = ("tags_ct", "minimum_ct", "summary_ct", "full_ct")


def _keep_record_version(unit: Unit, record: Record) -> None:
    """Keep the record as it is now as an immutable version, re-encrypted for its own row
    (bound to that row, like every ciphertext), before a correction replaces it."""
    c, version_id = unit.cipher, uuid.uuid4()
    sealed: dict[str, bytes | None] = {}
    for column in _VERSIONED:
        blob = getattr(record, column)
        sealed[column] = (
            None
            if blob is None
            else c.encrypt(
                "record_versions", column, version_id, c.decrypt("records", column, record.id, blob)
            )
        )
    tags_ct = sealed.pop("tags_ct")
    assert tags_ct is not None
    unit.session.add(
        RecordVersion(
            tenant_id=unit.tenant_id,
            id=version_id,
            record_id=record.id,
            version=record.version,
            tags_ct=tags_ct,
            written_at=record.updated_at,
            replaced_at=unit.now,
            replaced_by=unit.actor.member_id,
            **sealed,
        )
    )


@dataclass(frozen=True)
class RecordVersionView:
    """One version of a record, projected like the record for the reader."""

    version: int
    current: bool
    written_at: datetime
    replaced_at: datetime | None
    replaced_by: uuid.UUID | None
    voided: bool
    sensitivity: list[str]
    fields: dict[str, Any]


def record_versions(unit: Unit, record_id: uuid.UUID) -> list[RecordVersionView]:
    """Every version of a record, oldest first, the current one last (HIPAA 164.312(c)).

    For full-access readers and privacy officers; a voided record's history is for the
    privacy office only. Audited through the guard like a read, naming the fields shown.
    """
    action = AuditAction.RECORD_VERSIONS
    permission = Permission.RECORDS_READ
    record = _load_record(unit, record_id, permission, action, voided=True)
    tags = record_tags(unit, record)
    decision = _decide_record(unit, record, permission, action, tags)
    standing = unit.guard.standing
    officer = standing is not None and standing.privacy_officer
    voided = record.voided_at is not None or _person_voided(unit, record.person_id)
    if not officer and (voided or not decision.full):
        raise unit.guard.refuse(
            permission,
            action=action,
            resource_type="record",
            resource_id=record.id,
            person_id=record.person_id,
            reason="voided" if voided else "category",
        )
    c = unit.cipher
    earlier = unit.session.scalars(
        select(RecordVersion)
        .where(RecordVersion.tenant_id == unit.tenant_id, RecordVersion.record_id == record.id)
        .order_by(RecordVersion.version)
    ).all()
    views: list[RecordVersionView] = []
    shown: set[str] = set()
    for old in earlier:
        data: dict[str, Any] = {}
        for tier in TIER_ORDER:
            column = _TIER_COLUMN[tier]
            blob = getattr(old, column)
            if tier in decision.tiers and blob is not None:
                data.update(c.decrypt_json("record_versions", column, old.id, blob))
        old_tags: list[str] = c.decrypt_json("record_versions", "tags_ct", old.id, old.tags_ct)
        shown.update(data)
        views.append(
            RecordVersionView(
                old.version,
                False,
                old.written_at,
                old.replaced_at,
                old.replaced_by,
                False,
                old_tags,
                data,
            )
        )
    data, names = visible_fields(unit, record, decision)
    shown.update(names)
    views.append(
        RecordVersionView(record.version, True, record.updated_at, None, None, voided, tags, data)
    )
    unit.guard.record(decision, shown)
    return views


def _person_voided(unit: Unit, person_id: uuid.UUID) -> bool:
    person = unit.session.get(Person, (unit.tenant_id, person_id))
    return person is None or person.voided_at is not None


def _clean_void_reason(reason: object) -> str:
    """A reason is a sentence (it is read by the privacy office), not a token."""
    if not isinstance(reason, str) or not 10 <= len(reason.strip()) <= 500 or len(reason) > 500:
        raise InvalidInput("'reason' must be 10 to 500 characters")
    if len(reason.split()) < 3:
        raise InvalidInput("'reason' must say in a few words why this was filed in error")
    return reason  # stored exactly as typed


Voidable = Record | Person | Document


def void(
    unit: Unit,
    row: Voidable,
    decision: Decision,
    *,
    table: str,
    permission: Permission,
    action: AuditAction,
    reason: str,
) -> None:
    """Mark a row filed in error as voided, with its reason encrypted, and audit it. Only a
    member who sees the whole object may void it; nothing is deleted. Shared by records,
    people and documents."""
    person_id = row.id if isinstance(row, Person) else row.person_id
    if not decision.full:
        raise unit.guard.refuse(
            permission,
            action=action,
            resource_type=decision.resource_type,
            resource_id=row.id,
            person_id=person_id,
            reason="category",
        )
    text = _clean_void_reason(reason)
    row.voided_at = unit.now
    row.voided_by = unit.actor.member_id
    row.void_reason_ct = unit.cipher.encrypt_text(table, "void_reason", row.id, text)
    unit.session.flush()
    unit.guard.record(decision, ["void_reason"])


def do_void_record(unit: Unit, record_id: uuid.UUID, *, reason: str) -> None:
    """Void a record filed in error: hidden from ordinary views, lists and search, kept (with
    its versions and the encrypted reason) for the privacy office and the audit; never deleted.

    Needs the write permission and a view of the whole record.
    """
    action = AuditAction.RECORD_VOID
    record = _load_record(unit, record_id, Permission.RECORDS_WRITE, action)
    decision = _decide_record(
        unit, record, Permission.RECORDS_WRITE, action, record_tags(unit, record)
    )
    void(
        unit,
        record,
        decision,
        table="records",
        permission=Permission.RECORDS_WRITE,
        action=action,
        reason=reason,
    )
    if record.record_type == credential_slots.CREDENTIAL:
        credential_slots.refresh_person(unit, record.person_id)


def do_void_person(unit: Unit, person_id: uuid.UUID, *, reason: str) -> None:
    """Void a person filed in error (with their records): hidden from ordinary views, lists
    and search, kept for the privacy office and the audit; never deleted."""
    action = AuditAction.PERSON_VOID
    person, decision = _decide_person(unit, person_id, Permission.PEOPLE_WRITE, action)
    void(
        unit,
        person,
        decision,
        table="people",
        permission=Permission.PEOPLE_WRITE,
        action=action,
        reason=reason,
    )
    if person.kind == "caregiver":
        credential_slots.refresh_person(unit, person_id)


# -- caregivers by name ---------------------------------------------------------------------
def _may_see_names(unit: Unit) -> bool:
    """Whether the caller's category shows identifying (Minimum-tier) fields at all."""
    standing = unit.guard.standing
    return standing is not None and Tier.MINIMUM in VISIBLE_TIERS[standing.category]


def caregiver_names(
    unit: Unit,
    ids: Iterable[uuid.UUID | str] | None = None,
    *,
    permission: Permission = Permission.PEOPLE_READ,
) -> dict[str, str]:
    """Caregivers of this agency by id, as "Family, Given", for those who may see names
    (empty for anyone else): a caregiver reference is shown and chosen by name, never as a
    typed id. ``ids`` None lists every caregiver (a form's choice list). Audited."""
    wanted = None if ids is None else {str(i) for i in ids}
    if wanted == set() or not _may_see_names(unit):
        return {}
    decision = unit.guard.check(
        permission, action=AuditAction.PERSON_LIST, resource_type="person", min_tier=Tier.MINIMUM
    )
    query = select(Person).where(
        Person.tenant_id == unit.tenant_id,
        Person.kind == "caregiver",
        Person.voided_at.is_(None),
    )
    if wanted is not None:
        query = query.where(Person.id.in_([uuid.UUID(i) for i in wanted if _is_uuid(i)]))
    names: dict[str, str] = {}
    for person in unit.session.scalars(query.order_by(Person.created_at).limit(MAX_LIST)):
        fields = person_view(unit, person, decision).fields
        names[str(person.id)] = f"{fields['family_name']}, {fields['given_name']}"
    unit.guard.record(decision, ["family_name", "given_name"] if names else [])
    return dict(sorted(names.items(), key=lambda item: item[1]))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class PersonVersionView:
    """One version of a person's identifying fields (the current one last)."""

    current: bool
    written_at: datetime
    replaced_at: datetime | None
    replaced_by: uuid.UUID | None
    voided: bool
    fields: dict[str, str | None]


def person_versions(unit: Unit, person_id: uuid.UUID) -> list[PersonVersionView]:
    """Every version of a person's identifying fields, oldest first, the current one last.

    For full-access readers and privacy officers; a voided person is for the privacy office
    only. Audited through the guard like a read.
    """
    action, permission = AuditAction.PERSON_VERSIONS, Permission.PEOPLE_READ
    person = _load_person(unit, person_id, permission, action, voided=True)
    decision = unit.guard.check(
        permission,
        action=action,
        resource_type="person",
        resource_id=person_id,
        person_id=person_id,
        min_tier=Tier.MINIMUM,
    )
    standing = unit.guard.standing
    officer = standing is not None and standing.privacy_officer
    voided = person.voided_at is not None
    if not officer and (voided or not decision.full):
        raise unit.guard.refuse(
            permission,
            action=action,
            resource_type="person",
            resource_id=person_id,
            person_id=person_id,
            reason="voided" if voided else "category",
        )
    c = unit.cipher
    views: list[PersonVersionView] = []
    for old in unit.session.scalars(
        select(PersonVersion)
        .where(PersonVersion.tenant_id == unit.tenant_id, PersonVersion.person_id == person_id)
        .order_by(PersonVersion.replaced_at, PersonVersion.id)
    ):

        def text(column: str, blob: bytes | None, row: PersonVersion = old) -> str | None:
            return None if blob is None else c.decrypt_text("person_versions", column, row.id, blob)

        fields = {
            "given_name": text("given_name", old.given_name_ct),
            "family_name": text("family_name", old.family_name_ct),
            "date_of_birth": text("date_of_birth", old.date_of_birth_ct),
            "mrn": text("mrn", old.mrn_ct),
        }
        views.append(
            PersonVersionView(
                False, old.written_at, old.replaced_at, old.replaced_by, False, fields
            )
        )
    current = person_view(unit, person, decision).fields
    views.append(PersonVersionView(True, person.updated_at, None, None, voided, current))
    unit.guard.record(decision, PERSON_FIELDS)
    return views
