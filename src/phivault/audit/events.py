"""What an audit event says, and how it is appended inside the caller's transaction (I-3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from phivault.audit.chain import CHAINED_COLUMNS, GENESIS, link
from phivault.audit.models import AuditEvent, AuditHead
from phivault.clock import to_micros

ALLOWED = "allowed"
REFUSED = "refused"

_events = AuditEvent.__table__
_heads = AuditHead.__table__


@dataclass(frozen=True)
class EventDraft:
    """An audit event before it is chained. IDs and field names only, never PHI (AUD-6)."""

    tenant_id: uuid.UUID
    action: str
    outcome: str
    occurred_at: datetime
    actor_id: uuid.UUID | None = None
    session_id: str = ""
    resource_type: str = ""
    resource_id: uuid.UUID | str | None = None
    person_id: uuid.UUID | None = None
    purpose: str = ""
    reason: str = ""
    break_glass: bool = False
    fields: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""
    request_id: str = ""
    ref: uuid.UUID | None = None


def _text(value: object | None) -> str:
    return "" if value is None else str(value)


def start_chain(session: Session, tenant_id: uuid.UUID) -> None:
    """Create the tenant's chain head. Done when the tenant is created, so that concurrent
    first appends never race to insert it."""
    session.execute(insert(_heads).values(tenant_id=str(tenant_id), seq=0, hash=GENESIS))


def append(session: Session, key: bytes, draft: EventDraft, *, lock: bool) -> int:
    """Chain and insert one event in the session's transaction. Returns its sequence number.

    ``lock`` takes a row lock on the chain head (PostgreSQL), serialising appends per tenant;
    SQLite transactions already hold the database write lock.
    """
    tenant = str(draft.tenant_id)
    head_query = select(_heads.c.seq, _heads.c.hash).where(_heads.c.tenant_id == tenant)
    if lock:
        head_query = head_query.with_for_update()
    head = session.execute(head_query).one()
    seq = head.seq + 1
    row = {
        "tenant_id": tenant,
        "seq": seq,
        "event_id": str(uuid.uuid4()),
        "occurred_us": to_micros(draft.occurred_at),
        "actor_id": _text(draft.actor_id),
        "session_id": draft.session_id,
        "action": draft.action,
        "resource_type": draft.resource_type,
        "resource_id": _text(draft.resource_id),
        "person_id": _text(draft.person_id),
        "purpose": draft.purpose,
        "outcome": draft.outcome,
        "reason": draft.reason,
        "break_glass": 1 if draft.break_glass else 0,
        "fields": ",".join(draft.fields),
        "source": draft.source,
        "request_id": draft.request_id,
        "ref": _text(draft.ref),
    }
    row["prev_hash"] = head.hash
    row["hash"] = link(key, head.hash, [row[c] for c in CHAINED_COLUMNS])
    session.execute(insert(_events).values(row))
    session.execute(
        update(_heads).where(_heads.c.tenant_id == tenant).values(seq=seq, hash=row["hash"])
    )
    return seq

