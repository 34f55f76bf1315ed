"""Audit appends per second against the floor: a raw INSERT of one row per transaction.

(a) The append: ``phivault.audit.events.append`` (read the chain head, chain the event with
its HMAC, insert it, advance the head) inside ``vault.db.transaction`` with the tenant scope,
the transaction every guarded unit of work uses: BEGIN IMMEDIATE on SQLite in WAL mode; the
tenant's row-level-security scope and the head row lock on PostgreSQL. One event per
transaction, and 100 per transaction.

(b) The floor: one driver-level INSERT of a ready-made row into ``audit_events`` (same table,
same indexes) per transaction, through the same engine (its pool, its BEGIN IMMEDIATE on
SQLite, the same tenant scope statement on PostgreSQL) and nothing else: no ORM session, no
head, no HMAC. Its rows go to a second tenant's range of the table, so that the bench
tenant's chain stays verifiable.

The goal (issue 9 section 3) is a/b >= 0.6 for one event per transaction. Reference rows
help read the figures: the floor inside ``vault.db.transaction`` (the ORM session's own
cost), an empty ``vault.db.transaction``, and the append as it was before this round,
kept verbatim in this script. Every mode runs interleaved with the others, round by round
(A B C / C B A), and reports its median; the ratio is of those medians, and the per-round
ratios give its range.

The appended chain is verified at the end. Events are synthetic (random ids).

Run: ``.venv/bin/python bench/audit_append.py [--backend ...] [--size ...]``
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import common
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.orm import Session

from phivault.access.unit import Actor
from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.chain import CHAINED_COLUMNS, link
from phivault.audit.events import ALLOWED, EventDraft, _events, _heads, _text
from phivault.audit.service import verify_all
from phivault.bootstrap import initialize
from phivault.clock import to_micros
from phivault.crypto.keyring import AUDIT_KEY_NAME
from phivault.db.engine import Scope, driver_execute
from phivault.tenancy.service import do_create_tenant

# Operations per side and round (one per transaction; batched, a multiple of BATCH) for
# SQLite, and rounds; PostgreSQL runs a quarter of the operations (each of its commits
# waits for a WAL flush).
# Short rounds, many of them: on a shared machine the load changes within seconds, and
# short alternating rounds let every mode see the same load.
SIZES = {"small": (20, 400, 20), "default": (40, 1_000, 60), "large": (100, 4_000, 100)}
BATCH = 100
TARGET_RATIO = 0.6  # append / raw INSERT, one per transaction (issue 9 section 3)
SCOPE_SQL = "SELECT set_config('app.tenant_id', %s, true), set_config('app.scope', 'tenant', true)"
COLUMNS = [*CHAINED_COLUMNS, "prev_hash", "hash"]

Append = Callable[..., int]

SINGLE = "a: append, 1 event per transaction"
FLOOR = "b: floor, raw INSERT, 1 row per transaction"
BATCHED = f"append, {BATCH} events per transaction"
ORM_FLOOR = "reference: raw INSERT in vault.db.transaction"
EMPTY = "reference: empty vault.db.transaction"
PREVIOUS = "baseline: append before this round, 1 per transaction"
BARE = "reference: raw INSERT on a bare sqlite3 connection"


def _drafts(tenant: uuid.UUID, count: int, now: Any) -> list[EventDraft]:
    actor = uuid.uuid4()
    return [
        EventDraft(
            tenant_id=tenant,
            action=AuditAction.RECORD_READ,
            outcome=ALLOWED,
            occurred_at=now,
            actor_id=actor,
            session_id=f"token:{actor}",
            resource_type="record",
            resource_id=uuid.uuid4(),
            person_id=uuid.uuid4(),
            purpose="treatment",
            fields=("assessment_summary", "note_date", "text"),
            source="10.0.0.7",
            request_id=f"{i:016x}",
        )
        for i in range(count)
    ]


def _floor_rows(tenant: uuid.UUID, count: int, now: Any) -> Iterator[tuple[object, ...]]:
    """Ready-made rows shaped like the appended ones (the same kinds of random ids, so the
    same index pages are touched), numbered far above the floor tenant's own chain."""
    for i, draft in enumerate(_drafts(tenant, count, now)):
        yield (
            str(tenant), 1_000_000_000 + i, str(uuid.uuid4()), to_micros(draft.occurred_at),
            _text(draft.actor_id), draft.session_id, draft.action.value, draft.resource_type,
            _text(draft.resource_id), _text(draft.person_id), draft.purpose, draft.outcome,
            "", 0, ",".join(draft.fields), draft.source, draft.request_id, "",
            os.urandom(32).hex(), os.urandom(32).hex(),
        )  # fmt: skip


def original_append(session: Session, key: bytes, draft: EventDraft, *, lock: bool) -> int:
    """``events.append`` as it was before the driver-level rewrite (SQLAlchemy Core
    statements built per call), kept here verbatim as the baseline."""
    tenant = str(draft.tenant_id)
    head_query = select(_heads.c.seq, _heads.c.hash).where(_heads.c.tenant_id == tenant)
    if lock:
        head_query = head_query.with_for_update()
    head = session.execute(head_query).one()
    seq: int = head.seq + 1
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


def _previous_statements(dialect: str, lock: bool) -> tuple[str, tuple[str, ...]]:
    """The driver-level SQL of one append, built once per (dialect, lock).

    Appends sit on every guarded request, so they skip SQLAlchemy's statement construction,
    cache-key generation and execution context (most of their cost) and run on a driver
    cursor of the session's connection, inside its transaction. (So SQLAlchemy's engine
    events and echo do not see these statements; driver errors are still raised as
    SQLAlchemy's ``DBAPIError``.)
    Returns the head query and the statements that write the event and advance the head;
    on PostgreSQL both writes travel in one statement (one round trip).
    """
    key = (dialect, lock)
    cached = _PREVIOUS_SQL.get(key)
    if cached is not None:
        return cached
    # Placeholders in the driver's own style: sqlite3 named, psycopg pyformat.
    mark = ":{}".format if dialect == "sqlite" else "%({})s".format
    columns = [*CHAINED_COLUMNS, "prev_hash", "hash"]
    # Only constant identifiers and placeholders are formatted in; values are always bound.
    head = f"SELECT seq, hash FROM audit_heads WHERE tenant_id = {mark('tenant_id')}"
    if lock:
        head += " FOR UPDATE"
    insert_event = (
        f"INSERT INTO audit_events ({', '.join(columns)}) "
        f"VALUES ({', '.join(mark(c) for c in columns)})"
    )
    advance = (
        f"UPDATE audit_heads SET seq = {mark('seq')}, hash = {mark('hash')} "
        f"WHERE tenant_id = {mark('tenant_id')}"
    )
    if dialect == "postgresql":
        writes: tuple[str, ...] = (f"WITH inserted AS ({insert_event}) {advance}",)
    else:
        writes = (insert_event, advance)
    _PREVIOUS_SQL[key] = (head, writes)
    return head, writes


_PREVIOUS_SQL: dict[tuple[str, bool], tuple[str, tuple[str, ...]]] = {}


def previous_append(session: Session, key: bytes, draft: EventDraft, *, lock: bool) -> int:
    """``events.append`` before this round (kept verbatim as the baseline): a new HMAC
    context per event, named parameters, and on PostgreSQL always two round trips.

    ``lock`` takes a row lock on the chain head (PostgreSQL), serialising appends per tenant;
    SQLite transactions already hold the database write lock.
    """
    if session.autoflush:
        session.flush()  # as session.execute() would: pending changes reach the database first
    conn = session.connection()  # begins the transaction (BEGIN IMMEDIATE on SQLite) if need be
    dialect = conn.dialect
    head_sql, writes = _previous_statements(dialect.name, lock)
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
        row: dict[str, object] = {
            "tenant_id": tenant,
            "seq": seq,
            "event_id": str(uuid.uuid4()),
            "occurred_us": to_micros(draft.occurred_at),
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
        message = (
            prev_hash.encode()
            + b"\x1e"
            + "\x1f".join(str(row[c]) for c in CHAINED_COLUMNS).encode()
        )
        row["hash"] = hmac.new(key, message, hashlib.sha256).hexdigest()
        params = row
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


def run(backend: str, size_name: str) -> dict[str, Any]:
    singles, batched, rounds = SIZES[size_name]
    if backend == "postgres":
        singles //= 4
        batched = max(BATCH, batched // 4 // BATCH * BATCH)
    singles = max(singles, 10)
    with common.installation(backend) as inst:
        vault, first = initialize(
            inst.settings,
            tenant_name="Bench Append",
            tenant_slug="bench-append",
            username="officer",
            display_name="Bench Officer",
        )
        floor_tenant = do_create_tenant(
            vault, name="Bench Floor", slug="bench-floor", actor=Actor(first.member_id)
        ).id
        try:
            return _measure(vault, first.tenant.id, floor_tenant, backend, singles, batched,
                            rounds)  # fmt: skip
        finally:
            vault.db.dispose()


def _measure(
    vault: Any,
    tenant: uuid.UUID,
    floor_tenant: uuid.UUID,
    backend: str,
    singles: int,
    batched: int,
    rounds: int,
) -> dict[str, Any]:
    lock = vault.db.is_postgres
    scope = Scope.tenant(tenant)
    with vault.db.transaction(scope) as session:
        key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
        settings = _db_settings(session, backend)
    # Enough drafts and floor rows for the warm-up and every round (each used once).
    per_side = (rounds + 1) * max(singles, batched)
    drafts = iter(_drafts(tenant, 3 * per_side, vault.clock()))
    rows = _floor_rows(floor_tenant, 2 * per_side, vault.clock())
    mark = "%s" if lock else "?"
    insert_sql = (
        f"INSERT INTO audit_events ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(COLUMNS))})"
    )
    engine = vault.db.engine

    def one_per_transaction(append: Append) -> Callable[[int], None]:
        def go(n: int) -> None:
            for _ in range(n):
                with vault.db.transaction(scope) as session:
                    append(session, key, next(drafts), lock=lock)

        return go

    def in_batches(n: int) -> None:
        for _ in range(0, n, BATCH):
            with vault.db.transaction(scope) as session:
                for _ in range(BATCH):
                    events.append(session, key, next(drafts), lock=lock)

    def floor(n: int) -> None:
        # The same engine (pool, BEGIN IMMEDIATE, scope statement), one raw INSERT, commit.
        for _ in range(n):
            with engine.begin() as conn:
                if lock:
                    driver_execute(conn, SCOPE_SQL, (str(floor_tenant),))
                driver_execute(conn, insert_sql, next(rows))

    def orm_floor(n: int) -> None:
        for _ in range(n):
            with vault.db.transaction(Scope.tenant(floor_tenant)) as session:
                driver_execute(session.connection(), insert_sql, next(rows))

    def empty(n: int) -> None:
        for _ in range(n):
            with vault.db.transaction(scope) as session:
                session.connection()

    singles_sides = {
        SINGLE: one_per_transaction(events.append),
        FLOOR: floor,
        ORM_FLOOR: orm_floor,
        EMPTY: empty,
        PREVIOUS: one_per_transaction(previous_append),
    }
    bare = None
    if backend == "sqlite":
        # No SQLAlchemy at all: the driver's own connection with the engine's settings.
        bare = sqlite3.connect(engine.url.database, isolation_level=None)
        bare.execute("PRAGMA synchronous=NORMAL")
        bare.execute("PRAGMA busy_timeout=15000")

        def bare_floor(n: int) -> None:
            assert bare is not None
            for _ in range(n):
                bare.execute("BEGIN IMMEDIATE")
                bare.execute(insert_sql, next(rows))
                bare.execute("COMMIT")

        singles_sides[BARE] = bare_floor
    try:
        timed = common.interleave(singles_sides, rounds=rounds, per_round=singles, warmup=singles)
    finally:
        if bare is not None:
            bare.close()
    # Batches take another per_round (a multiple of BATCH): measured in their own rounds,
    # interleaved with the single appends again for a comparison within the same minutes.
    batch_timed = common.interleave(
        {BATCHED: in_batches, SINGLE: one_per_transaction(events.append)},
        rounds=max(3, rounds // 10),
        per_round=batched,
        warmup=BATCH,
    )
    (report,) = verify_all(vault, tenant=str(tenant))
    if not report.ok:
        raise RuntimeError(f"the appended chain does not verify: {report.problem}")
    rows_out = [
        [name, f"{1 / timed.median(name):,.0f}", common.us(timed.median(name)),
         f"{1 / max(timed.rounds[name]):,.0f}-{1 / min(timed.rounds[name]):,.0f}"]
        for name in singles_sides
    ]  # fmt: skip
    rows_out.append(
        [BATCHED, f"{1 / batch_timed.median(BATCHED):,.0f}", common.us(batch_timed.median(BATCHED)),
         f"{1 / max(batch_timed.rounds[BATCHED]):,.0f}-{1 / min(batch_timed.rounds[BATCHED]):,.0f}"]
    )  # fmt: skip
    ratio = timed.ratio(FLOOR, SINGLE)  # rates: a / b = time(b) / time(a)
    per_round = timed.round_ratios(FLOOR, SINGLE)
    orm_ratio = timed.ratio(ORM_FLOOR, SINGLE)
    ratios = [
        ["a / b (the goal)", f"{ratio:.2f}x", f"{min(per_round):.2f}-{max(per_round):.2f}",
         f">= {TARGET_RATIO}x", "met" if ratio >= TARGET_RATIO else "MISSED"],
        ["a / raw INSERT in vault.db.transaction (reference)", f"{orm_ratio:.2f}x",
         _range(timed.round_ratios(ORM_FLOOR, SINGLE)), "", ""],
        ["a / append before this round (speed-up)", f"{timed.ratio(PREVIOUS, SINGLE):.2f}x",
         _range(timed.round_ratios(PREVIOUS, SINGLE)), "", ""],
    ]  # fmt: skip
    if BARE in singles_sides:
        ratios.append(["a / raw INSERT on a bare sqlite3 connection (reference)",
                       f"{timed.ratio(BARE, SINGLE):.2f}x",
                       _range(timed.round_ratios(BARE, SINGLE)), "", ""])  # fmt: skip
    single_rate = 1 / timed.median(SINGLE)
    checks = [
        (backend, "audit append / raw INSERT, 1 per transaction", f"{ratio:.2f}x",
         f">= {TARGET_RATIO}x", ratio >= TARGET_RATIO),
        (backend, "audit appends, 1 per transaction", f"{single_rate:,.0f}/s", "(reported)",
         None),
        (backend, f"audit appends, {BATCH} per transaction",
         f"{1 / batch_timed.median(BATCHED):,.0f}/s", "(reported)", None),
    ]  # fmt: skip
    return {
        "backend": backend,
        "rows": rows_out,
        "ratios": ratios,
        "rounds": rounds,
        "per_round": (singles, batched),
        "settings": settings,
        "verified": report.events,
        "checks": checks,
    }


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def _db_settings(session: Any, backend: str) -> str:
    if backend == "sqlite":
        mode = session.execute(text("PRAGMA journal_mode")).scalar()
        sync = session.execute(text("PRAGMA synchronous")).scalar()
        names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        return f"journal_mode={mode}, synchronous={names.get(sync, sync)}"
    commit = session.execute(text("SHOW synchronous_commit")).scalar()
    return f"synchronous_commit={commit}"


def report(result: dict[str, Any]) -> str:
    singles, batched = result["per_round"]
    return "\n".join([
        f"### Audit appends - {result['backend']} ({result['settings']})",
        "",
        f"Median of {result['rounds']} interleaved rounds of {singles:,} transactions per mode "
        f"(batched: {batched:,} events per round); the chain of {result['verified']:,} "
        "events verified afterwards.",
        "",
        common.table(["mode", "per second", "per operation", "range over rounds"],
                     result["rows"]),
        "",
        common.table(["ratio of rates", "median", "per-round range", "target", "status"],
                     result["ratios"]),
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    results = []
    for backend in common.backends(args.backend):
        result = run(backend, args.size)
        print(report(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
