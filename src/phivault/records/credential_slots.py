"""Credential slots: what the dashboard needs to count due credentials, kept on write.

Counting the credentials that lapsed or lapse soon used to decrypt every credential record of
the agency (1.4 to 1.9 s at 30,000 credentials) on every dashboard view of those who track
them. A credential's type and expiry are record fields, encrypted like every other (I-6; the
security model promises that a stolen database reveals no record value and no sensitivity
tag), so they cannot simply be copied into clear columns of the record.

Instead each caregiver's latest expiry of each credential kind is kept in a *slot*: a row
holding only a date, under a keyed hash of (person, kind, view) made with the tenant's
blind-index key. A stolen database learns from these rows how many caregiver-and-kind pairs
an agency tracks and the dates their current credentials lapse — not whose they are, not of
which kind, not which record. Two views are kept because a partial view counts only records
without sensitivity tags (as ``credentials_due`` does): ``all`` and ``untagged``; comparing
the two sets of dates shows at most how many current credentials carry a tag, again linked
to nobody.

The slots of one caregiver are recomputed, by decrypting only that caregiver's credential
records, whenever a service creates, corrects or voids one of them or voids the caregiver.
A tenant's slots are built once, the first time they are needed after migration 0012
(``ensure_built``), by reading every credential record as the old count did.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, bindparam, case, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from phivault.access.unit import Unit
from phivault.records.models import CredentialSlot, CredentialSlotBuild, Person, Record

CREDENTIAL = "credential"
ALL, UNTAGGED = "all", "untagged"
VIEWS = (ALL, UNTAGGED)
_SLOT_INDEX = "credential-slot"


def _slot(unit: Unit, person_id: uuid.UUID, kind: str, view: str) -> bytes:
    # A blind index: the same inputs give the same slot, and the slot reveals none of them.
    # The kind goes in as hex: a blind index normalises text (case, accents, spacing) for
    # search, and two kinds the listing tells apart must not share a slot (migration 0016).
    return unit.cipher.blind_index(_SLOT_INDEX, str(person_id), kind.encode().hex(), view)


def _kind_and_expiry(unit: Unit, record: Record) -> tuple[str, date | None]:
    """The credential's kind and expiry: its Minimum tier only, as the listing reads."""
    if record.minimum_ct is None:
        return "", None
    fields = unit.cipher.decrypt_json("records", "minimum_ct", record.id, record.minimum_ct)
    return str(fields.get("credential_type", "")), _date(fields.get("expires_on"))


def _tagged(unit: Unit, record: Record) -> bool:
    return bool(unit.cipher.decrypt_json("records", "tags_ct", record.id, record.tags_ct))


def _latest(
    unit: Unit, records: Iterable[Record], live: bool
) -> tuple[dict[tuple[str, str], date], set[str]]:
    """Latest expiry per (kind, view) among live records, and every kind seen (voided records
    included, so that a slot they left behind is found and removed)."""
    latest: dict[tuple[str, str], date] = {}
    kinds: set[str] = set()
    for record in records:
        kind, expires = _kind_and_expiry(unit, record)
        kinds.add(kind)
        if not live or record.voided_at is not None or expires is None:
            continue
        views = (ALL,) if _tagged(unit, record) else VIEWS
        for view in views:
            if expires > latest.get((kind, view), date.min):
                latest[(kind, view)] = expires
    return latest, kinds


def is_built(unit: Unit) -> bool:
    return unit.session.get(CredentialSlotBuild, unit.tenant_id) is not None


def refresh_person(unit: Unit, person_id: uuid.UUID, *, old_kinds: Iterable[str] = ()) -> None:
    """Recompute one caregiver's slots after a credential of theirs was written or voided, or
    they were. ``old_kinds``: kinds a correction has just replaced. Before the tenant's first
    build nothing is kept (the build reads everything)."""
    if not is_built(unit):
        return
    session = unit.session
    session.flush()
    person = session.get(Person, (unit.tenant_id, person_id))
    records = session.scalars(
        select(Record).where(
            Record.tenant_id == unit.tenant_id,
            Record.person_id == person_id,
            Record.record_type == CREDENTIAL,
        )
    )
    live = person is not None and person.voided_at is None
    latest, kinds = _latest(unit, records, live)
    for kind in kinds | set(old_kinds):
        for view in VIEWS:
            _put(unit, _slot(unit, person_id, kind, view), view, latest.get((kind, view)))


def _put(unit: Unit, slot: bytes, view: str, expires: date | None) -> None:
    row = unit.session.get(CredentialSlot, (unit.tenant_id, slot))
    if expires is None:
        if row is not None:
            unit.session.delete(row)
    elif row is None:
        unit.session.add(
            CredentialSlot(tenant_id=unit.tenant_id, slot=slot, view=view, expires_on=expires)
        )
    else:
        row.expires_on = expires


def ensure_built(unit: Unit) -> None:
    """Build the tenant's slots from its credential records unless that was done: once per
    tenant after migration 0012, reading (and decrypting) every credential record once.

    The build claims the tenant first (an insert that does nothing if the row exists), so of
    two first dashboards on PostgreSQL one builds and the other waits for it and counts."""
    if is_built(unit):
        return
    values = {"tenant_id": unit.tenant_id, "built_at": unit.now}
    dialect_insert = pg_insert if unit.vault.db.is_postgres else sqlite_insert
    claimed = unit.session.execute(
        dialect_insert(CredentialSlotBuild).values(values).on_conflict_do_nothing()
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return
    _build(unit)


def _build(unit: Unit) -> None:
    session = unit.session
    session.execute(delete(CredentialSlot).where(CredentialSlot.tenant_id == unit.tenant_id))
    voided = set(
        session.scalars(
            select(Person.id).where(
                Person.tenant_id == unit.tenant_id, Person.voided_at.is_not(None)
            )
        )
    )
    records = session.scalars(
        select(Record)
        .where(Record.tenant_id == unit.tenant_id, Record.record_type == CREDENTIAL)
        .order_by(Record.person_id)
    )
    rows = []
    by_person: dict[uuid.UUID, list[Record]] = {}
    for record in records:
        by_person.setdefault(record.person_id, []).append(record)
    for person_id, own in by_person.items():
        latest, _ = _latest(unit, own, person_id not in voided)
        rows += [
            {
                "tenant_id": unit.tenant_id,
                "slot": _slot(unit, person_id, kind, view),
                "view": view,
                "expires_on": expires,
            }
            for (kind, view), expires in latest.items()
        ]
    if rows:
        session.execute(insert(CredentialSlot), rows)


def due_query(tenant_id: uuid.UUID, *, full: bool) -> Select[Any]:
    """Count the slots of one view lapsing by ``:until``, and those lapsed before ``:today``:
    one range of ix_credential_slots_due (tenant_id, view, expires_on)."""
    s = CredentialSlot
    lapsed = case((s.expires_on < bindparam("today", type_=Date()), 1), else_=0)
    return select(func.count(), func.coalesce(func.sum(lapsed), 0)).where(
        s.tenant_id == tenant_id,
        s.view == (ALL if full else UNTAGGED),
        s.expires_on <= bindparam("until", type_=Date()),
    )


def count_due(unit: Unit, until: date, today: date, *, full: bool) -> tuple[int, int]:
    """How many current credentials lapse on or before ``until``, and how many of them have
    lapsed before ``today``. ``full``: the caller sees tagged records too. The caller has
    been allowed the listing by the guard."""
    ensure_built(unit)
    row = unit.session.execute(
        due_query(unit.tenant_id, full=full), {"until": until, "today": today}
    ).one()
    return int(row[0]), int(row[1])


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
