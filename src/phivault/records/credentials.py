"""Caregiver credential tracking (BOC: the back office tracks licences, CPR cards, TB tests):
which credentials have lapsed or lapse soon. A guarded, audited read like any other (I-1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from phivault.access.guard import Decision
from phivault.access.policy import Permission, Tier
from phivault.access.unit import Unit
from phivault.records.models import Person, Record
from phivault.records.service import person_view, record_tags, visible_fields

SOON_DAYS = 30


@dataclass(frozen=True)
class CredentialDue:
    record_id: uuid.UUID
    person_id: uuid.UUID
    family_name: str
    given_name: str
    credential_type: str
    expires_on: date
    days_left: int  # negative: lapsed that many days ago


def expiring_credentials(unit: Unit, *, within_days: int = SOON_DAYS) -> list[CredentialDue]:
    """Credentials that lapsed or lapse within ``within_days``, soonest first.

    Only the Minimum tier (type and expiry) is decrypted, and names only of the people listed;
    the audit event names exactly those fields.
    """
    decision = unit.guard.check(
        Permission.RECORDS_READ,
        action="record.list",
        resource_type="record",
        min_tier=Tier.MINIMUM,
    )
    horizon = unit.now.date() + timedelta(days=within_days)
    records = unit.session.scalars(
        select(Record).where(Record.tenant_id == unit.tenant_id, Record.record_type == "credential")
    )
    due: list[tuple[Record, date, str]] = []
    for record in records:
        if record_tags(unit, record) and not decision.full:
            continue  # sensitive records stay out of partial views
        fields, _ = visible_fields(unit, record, decision)
        expires = _date(fields.get("expires_on"))
        if expires is not None and expires <= horizon:
            due.append((record, expires, str(fields.get("credential_type", ""))))
    people = _people(unit, {record.person_id for record, _, _ in due}, decision)
    unit.guard.record(
        decision,
        ["credential_type", "expires_on", "family_name", "given_name"] if due else ["expires_on"],
    )
    today = unit.now.date()
    listed = [
        CredentialDue(
            record.id,
            record.person_id,
            people[record.person_id][0],
            people[record.person_id][1],
            kind,
            expires,
            (expires - today).days,
        )
        for record, expires, kind in due
    ]
    return sorted(listed, key=lambda c: (c.expires_on, c.family_name))


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _people(
    unit: Unit, ids: set[uuid.UUID], decision: Decision
) -> dict[uuid.UUID, tuple[str, str]]:
    if not ids:
        return {}
    rows = unit.session.scalars(
        select(Person).where(Person.tenant_id == unit.tenant_id, Person.id.in_(ids))
    )
    names: dict[uuid.UUID, tuple[str, str]] = {}
    for person in rows:
        fields = person_view(unit, person, decision).fields
        names[person.id] = (fields.get("family_name") or "", fields.get("given_name") or "")
    return names
