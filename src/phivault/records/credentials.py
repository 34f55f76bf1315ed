"""Caregiver credential tracking (BOC: the back office tracks licences, CPR cards, TB tests):
which credentials have lapsed or lapse soon. Guarded, audited reads like any other (I-1).

A renewal is recorded as a new credential record, so only the latest expiry of each kind per
caregiver counts: a CPR card renewed last month does not stay "lapsed" because the old card's
record is still on file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from phivault.access.policy import Permission, Tier
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.records import credential_slots
from phivault.records.models import Person, Record
from phivault.records.service import person_view, record_tags, tier_fields

SOON_DAYS = 30
_SHOWN = ("credential_type", "expires_on")
_NAMES = ("family_name", "given_name")


@dataclass(frozen=True)
class CredentialDue:
    record_id: uuid.UUID
    person_id: uuid.UUID
    credential_type: str
    expires_on: date
    days_left: int  # negative: lapsed that many days ago
    family_name: str = ""
    given_name: str = ""


def credentials_due(unit: Unit, *, within_days: int = SOON_DAYS) -> list[CredentialDue]:
    """Credentials that lapsed, or lapse within ``within_days``, soonest first — without the
    caregivers' names. Reads each credential's type and expiry (its Minimum tier, which every
    category with a record view sees); audited as one listing of those two fields."""
    decision = unit.guard.check(
        Permission.RECORDS_READ,
        action=AuditAction.RECORD_LIST,
        resource_type="record",
        min_tier=Tier.MINIMUM,
    )
    latest: dict[tuple[uuid.UUID, str], tuple[Record, date]] = {}
    # Records filed in error, and those of people filed in error, are not tracked.
    records = unit.session.scalars(
        select(Record)
        .join(Person, (Person.tenant_id == Record.tenant_id) & (Person.id == Record.person_id))
        .where(
            Record.tenant_id == unit.tenant_id,
            Record.record_type == "credential",
            Record.voided_at.is_(None),
            Person.voided_at.is_(None),
        )
    )
    for record in records:
        if record_tags(unit, record) and not decision.full:
            continue  # sensitive records stay out of partial views
        fields = tier_fields(unit, record, Tier.MINIMUM)  # type and expiry: nothing more
        expires = _date(fields.get("expires_on"))
        if expires is None:
            continue
        key = (record.person_id, str(fields.get("credential_type", "")))
        if key not in latest or latest[key][1] < expires:
            latest[key] = (record, expires)
    unit.guard.record(decision, _SHOWN)
    today = unit.now.date()
    due = [
        CredentialDue(record.id, person_id, kind, expires, (expires - today).days)
        for (person_id, kind), (record, expires) in latest.items()
        if expires <= today + timedelta(days=within_days)
    ]
    return sorted(due, key=lambda c: (c.expires_on, c.credential_type))


@dataclass(frozen=True)
class DueCount:
    due: int  # lapsed or lapsing within the window
    lapsed: int


def count_credentials_due(unit: Unit, *, within_days: int = SOON_DAYS) -> DueCount:
    """How many credentials :func:`credentials_due` would list, and how many have lapsed, for
    the dashboard — from the credential slots (records/credential_slots.py): one index range,
    whatever the number of credentials, instead of decrypting every one. Guarded and audited
    as the same listing of type and expiry."""
    decision = unit.guard.check(
        Permission.RECORDS_READ,
        action=AuditAction.RECORD_LIST,
        resource_type="record",
        min_tier=Tier.MINIMUM,
    )
    today = unit.now.date()
    due, lapsed = credential_slots.count_due(
        unit, today + timedelta(days=within_days), today, full=decision.full
    )
    unit.guard.record(decision, _SHOWN)
    return DueCount(due, lapsed)


def expiring_credentials(unit: Unit, *, within_days: int = SOON_DAYS) -> list[CredentialDue]:
    """:func:`credentials_due` with each caregiver's name. Every name shown is its own
    audited read of that person (``person.read``), so the caregiver's access history names
    whoever looked at the list."""
    due = credentials_due(unit, within_days=within_days)
    names: dict[uuid.UUID, tuple[str, str]] = {}
    for person_id in dict.fromkeys(c.person_id for c in due):
        person = unit.session.get(Person, (unit.tenant_id, person_id))
        if person is None:
            continue
        decision = unit.guard.allow(
            Permission.PEOPLE_READ,
            action=AuditAction.PERSON_READ,
            resource_type="person",
            resource_id=person_id,
            person_id=person_id,
            min_tier=Tier.MINIMUM,
            fields=_NAMES,
        )
        fields = person_view(unit, person, decision).fields
        names[person_id] = (fields.get("family_name") or "", fields.get("given_name") or "")
    return sorted(
        (
            CredentialDue(
                c.record_id,
                c.person_id,
                c.credential_type,
                c.expires_on,
                c.days_left,
                *names.get(c.person_id, ("", "")),
            )
            for c in due
        ),
        key=lambda c: (c.expires_on, c.family_name),
    )


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
