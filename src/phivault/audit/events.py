"""What an audit event says, and how it is appended inside the caller's transaction (I-3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.orm import Session

from phivault.audit import hours
from phivault.audit.actions import AuditAction
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
    action: AuditAction
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
    session.add(AuditHead(tenant_id=str(tenant_id), seq=0, hash=GENESIS))
    session.flush()


def _statements(dialect: str, lock: bool) -> tuple[str, tuple[str, ...]]:
    """The driver-level SQL of one append, built once per (dialect, lock).

    Appends sit on every guarded request, so they skip SQLAlchemy's statement construction,
    cache-key generation and execution context (most of their cost) and run on a driver
    cursor of the session's connection, inside its transaction. (So SQLAlchemy's engine
    events and echo do not see these statements; driver errors are still raised as
    SQLAlchemy's ``DBAPIError``.)
    Returns the head query and the statements that write the event, count it in its hour
    (``audit_hours``, see ``audit/hours.py``) and advance the head; on PostgreSQL the three
    writes travel in one statement (one round trip).
    """
    key = (dialect, lock)
    cached = _SQL.get(key)
    if cached is not None:
        return cached
    # Placeholders in the driver's own style: sqlite3 named, psycopg pyformat.
    mark = ":{}".format if dialect == "sqlite" else "%({})s".format
    columns = [*CHAINED_COLUMNS, "prev_hash", "hash"]
    # Only constant identifiers and placeholders are formatted in; values are always bound.
    head = f"SELECT seq, hash FROM audit_heads WHERE tenant_id = {mark('tenant_id')}"  # noqa: S608
    if lock:
        head += " FOR UPDATE"
    insert_event = (
        f"INSERT INTO audit_events ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(mark(c) for c in columns)})"
    )
    advance = (
        f"UPDATE audit_heads SET seq = {mark('seq')}, hash = {mark('hash')} "  # noqa: S608
        f"WHERE tenant_id = {mark('tenant_id')}"
    )
    count = hours.upsert_sql(":{}" if dialect == "sqlite" else "%({})s")
    if dialect == "postgresql":
        writes: tuple[str, ...] = (
            f"WITH inserted AS ({insert_event}), counted AS ({count}) {advance}",
        )
    else:
        writes = (insert_event, count, advance)
    _SQL[key] = (head, writes)
    return head, writes


_SQL: dict[tuple[str, bool], tuple[str, tuple[str, ...]]] = {}


def append(session: Session, key: bytes, draft: EventDraft, *, lock: bool) -> int:
    """Chain and insert one event in the session's transaction. Returns its sequence number.

    ``lock`` takes a row lock on the chain head (PostgreSQL), serialising appends per tenant;
    SQLite transactions already hold the database write lock.
    """
    if session.autoflush:
        session.flush()  # as session.execute() would: pending changes reach the database first
    conn = session.connection()  # begins the transaction (BEGIN IMMEDIATE on SQLite) if need be
    dialect = conn.dialect
    head_sql, writes = _statements(dialect.name, lock)
    tenant = str(draft.tenant_id)
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    statement: str = head_sql
    params: dict[str, object] = {"tenant_id": tenant}
    try:
        cursor.execute(statement, params)
        head = cursor.fetchone()
        if head is None:
            raise NoResultFound(f"the audit chain of tenant {tenant} has no head")
        prev_seq, prev_hash = head
        seq = int(prev_seq) + 1
        occurred_us = to_micros(draft.occurred_at)
        row: dict[str, object] = {
            "tenant_id": tenant,
            "seq": seq,
            "event_id": str(uuid.uuid4()),
            "occurred_us": occurred_us,
            "actor_id": _text(draft.actor_id),
            "session_id": draft.session_id,
            "action": draft.action.value,
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
        row["prev_hash"] = prev_hash
        row["hash"] = link(key, prev_hash, [row[c] for c in CHAINED_COLUMNS])
        # The hour's count shares tenant_id and seq with the row and adds its own names.
        counted = hours.upsert_params(
            tenant, seq, occurred_us, draft.outcome == ALLOWED, draft.break_glass
        )
        params = {**row, **counted}
        for statement in writes:
            cursor.execute(statement, params)
    except dialect.loaded_dbapi.Error as exc:
        # Driver errors surface as SQLAlchemy's, as they did through session.execute().
        raise DBAPIError.instance(
            statement, params, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    finally:
        cursor.close()
    return seq
