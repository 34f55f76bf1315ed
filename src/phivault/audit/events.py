"""What an audit event says, and how it is appended inside the caller's transaction (I-3)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.orm import Session

from phivault.audit import hours
from phivault.audit.actions import AuditAction
from phivault.audit.chain import CHAINED_COLUMNS, GENESIS, Signer, signer
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


# A statement of an append and the parts its parameters are made of, in order: "event" (the
# CHAINED_COLUMNS values, prev_hash, hash), "new" (the new head's seq and hash), "tenant",
# "old" (the head's seq and hash the write expects).
_Statement = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Statements:
    """The driver-level SQL of one append for one (dialect, lock), with positional
    placeholders in the driver's own style (sqlite3 qmark, psycopg format).

    * ``head`` reads the chain head (``FOR UPDATE`` with ``lock``); parameter: the tenant.
    * ``write`` inserts the event and advances the head. PostgreSQL: one statement (one round
      trip); SQLite: two, the insert first.
    * ``write_after`` (PostgreSQL only) does the same in one statement only if the head is
      still the expected one: it advances the head under its row lock, then inserts, or
      writes nothing if the head moved on. (SQLite gains nothing from it: reading the head
      under the write lock costs next to nothing, and an ``INSERT ... SELECT`` conditional
      on the head costs more than the read it saves; bench/audit_append.py.)
    """

    head: str
    write: tuple[_Statement, ...]
    write_after: tuple[_Statement, ...] | None


def _statements(dialect: str, lock: bool) -> _Statements:
    """The statements of an append, built once per (dialect, lock).

    Appends sit on every guarded request, so they skip SQLAlchemy's statement construction,
    cache-key generation and execution context (most of their cost) and run on a driver
    cursor of the session's connection, inside its transaction. (So SQLAlchemy's engine
    events and echo do not see these statements; driver errors are still raised as
    SQLAlchemy's ``DBAPIError``.)
    The writes also count the event in its hour (``audit_hours``, see ``audit/hours.py``).
    """
    cached = _SQL.get((dialect, lock))
    if cached is not None:
        return cached
    mark = "?" if dialect == "sqlite" else "%s"
    names = ", ".join([*CHAINED_COLUMNS, "prev_hash", "hash"])
    marks = ", ".join([mark] * (len(CHAINED_COLUMNS) + 2))
    # Only constant identifiers and placeholders are formatted in; values are always bound.
    head = f"SELECT seq, hash FROM audit_heads WHERE tenant_id = {mark}"  # noqa: S608
    if lock:
        head += " FOR UPDATE"
    insert = f"INSERT INTO audit_events ({names}) VALUES ({marks})"  # noqa: S608
    advance = f"UPDATE audit_heads SET seq = {mark}, hash = {mark} WHERE tenant_id = {mark}"  # noqa: S608
    count = hours.upsert_sql(mark)
    if dialect == "postgresql":
        statements = _Statements(
            head,
            (
                (
                    f"WITH inserted AS ({insert}), counted AS ({count}) {advance}",
                    ("event", "hour", "new", "tenant"),
                ),
            ),
            (
                (
                    f"WITH advanced AS ({advance} AND seq = {mark} AND hash = {mark}"  # noqa: S608
                    f" RETURNING 1), inserted AS (INSERT INTO audit_events ({names})"
                    f" SELECT {marks} FROM advanced RETURNING 1)"
                    f" {hours.upsert_sql(mark, only_after='inserted')}",
                    ("new", "tenant", "old", "event", "hour"),
                ),
            ),
        )
    else:
        statements = _Statements(
            head,
            ((insert, ("event",)), (count, ("hour",)), (advance, ("new", "tenant"))),
            None,
        )
    _SQL[(dialect, lock)] = statements
    return statements


_SQL: dict[tuple[str, bool], _Statements] = {}

# PostgreSQL: the last head this process wrote, per (engine, tenant). An append first tries
# the write that is valid only if the head is still this one (checked by the server in the
# same statement, under the head's row lock), which saves the round trip reading the head.
# Anything stale (another process appended; the transaction that wrote it rolled back) only
# costs the fallback: read the head and write unconditionally, as every append did before.
# So an entry is never trusted, only tried: a wrong one cannot put a wrong event in a chain.
_HEADS: dict[tuple[int, str], tuple[int, str]] = {}
_HEADS_MAX = 10_000


def _row(draft: EventDraft, tenant: str, event_id: str) -> list[object]:
    """The event's chained column values in CHAINED_COLUMNS order; seq (index 1) still 0."""
    return [
        tenant,
        0,
        event_id,
        to_micros(draft.occurred_at),
        _text(draft.actor_id),
        draft.session_id,
        draft.action.value,
        draft.resource_type,
        _text(draft.resource_id),
        _text(draft.person_id),
        draft.purpose,
        draft.outcome,
        draft.reason,
        1 if draft.break_glass else 0,
        ",".join(draft.fields),
        draft.source,
        draft.request_id,
        _text(draft.ref),
    ]


class _Writer:
    """Runs an append's statements on one driver cursor, remembering the last one (and its
    parameters) for the error report."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.statement = ""
        self.params: Sequence[object] = ()

    def run(self, statement: str, params: Sequence[object]) -> int:
        self.statement, self.params = statement, params
        self.cursor.execute(statement, params)
        return int(self.cursor.rowcount)

    def write(
        self, statements: tuple[_Statement, ...], parts: dict[str, tuple[object, ...]]
    ) -> bool:
        """Run the statements; False (and nothing written) if the first one wrote no row."""
        for i, (statement, names) in enumerate(statements):
            params: tuple[object, ...] = ()
            for name in names:
                params += parts[name]
            if self.run(statement, params) != 1 and i == 0:
                return False
        return True


def append(session: Session, key: bytes, draft: EventDraft, *, lock: bool) -> int:
    """Chain and insert one event in the session's transaction. Returns its sequence number.

    ``lock`` takes a row lock on the chain head (PostgreSQL), serialising appends per tenant;
    SQLite transactions already hold the database write lock.
    """
    if session.autoflush:
        session.flush()  # as session.execute() would: pending changes reach the database first
    conn = session.connection()  # begins the transaction (BEGIN IMMEDIATE on SQLite) if need be
    dialect = conn.dialect
    sql = _statements(dialect.name, lock)
    tenant = str(draft.tenant_id)
    cache_key = (id(conn.engine), tenant)
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    sign = signer(key)
    row = _row(draft, tenant, str(uuid.uuid4()))
    writer = _Writer(dbapi_connection.cursor())
    try:
        head = _HEADS.get(cache_key) if sql.write_after is not None else None
        written = False
        if head is not None and sql.write_after is not None:
            seq, digest, parts = _chain(sign, row, head, tenant, draft)
            written = writer.write(sql.write_after, parts)
        if not written:
            writer.run(sql.head, (tenant,))
            found = writer.cursor.fetchone()
            if found is None:
                raise NoResultFound(f"the audit chain of tenant {tenant} has no head")
            seq, digest, parts = _chain(sign, row, (int(found[0]), found[1]), tenant, draft)
            writer.write(sql.write, parts)
    except dialect.loaded_dbapi.Error as exc:
        _HEADS.pop(cache_key, None)
        # Driver errors surface as SQLAlchemy's, as they did through session.execute().
        raise DBAPIError.instance(
            writer.statement, writer.params, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    finally:
        writer.cursor.close()
    if sql.write_after is not None:
        if len(_HEADS) >= _HEADS_MAX:
            _HEADS.clear()
        _HEADS[cache_key] = (seq, digest)
    return seq


def _chain(
    sign: Signer, row: list[object], head: tuple[int, str], tenant: str, draft: EventDraft
) -> tuple[int, str, dict[str, tuple[object, ...]]]:
    """Number and hash the event after ``head``; returns its seq, hash and statement parts."""
    prev_seq, prev_hash = head
    row[1] = seq = prev_seq + 1
    digest = sign.link(prev_hash, row)
    parts = {
        "event": (*row, prev_hash, digest),
        "new": (seq, digest),
        "tenant": (tenant,),
        "old": head,
        # row: CHAINED_COLUMNS order (occurred_us at 3, outcome at 11, break_glass at 13).
        "hour": hours.upsert_params(
            tenant, seq, int(str(row[3])), row[11] == ALLOWED, bool(row[13])
        ),
    }
    return seq, digest, parts
