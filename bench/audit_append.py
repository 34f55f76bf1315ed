"""Audit appends per second: one event per transaction, and batched in one transaction.

Each append is ``phivault.audit.events.append`` — read the chain head, chain the event with
its HMAC, insert it, advance the head — inside ``vault.db.transaction`` with the tenant scope:
the same transaction every guarded unit of work uses (BEGIN IMMEDIATE on SQLite in WAL mode;
the tenant's row-level-security scope and the head row lock on PostgreSQL). The modes run
interleaved (single, batched, single, ...) and the median rate is reported. Reference rows
help read the figures: the same transaction carrying only the head read (the floor any
one-event-per-transaction append pays), and the original ``events.append`` (before its
driver-level rewrite), measured side by side in the same run.

The appended chain is verified at the end. Events are synthetic (random ids).

Run: ``.venv/bin/python bench/audit_append.py [--backend ...] [--size ...]``
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable
from time import perf_counter
from typing import Any

import common
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.chain import CHAINED_COLUMNS, link
from phivault.audit.events import ALLOWED, EventDraft, _events, _heads, _text
from phivault.audit.service import verify_all
from phivault.bootstrap import initialize
from phivault.clock import to_micros
from phivault.crypto.keyring import AUDIT_KEY_NAME
from phivault.db.engine import Scope

# Events per round (one per transaction, batched) for SQLite; PostgreSQL runs a quarter of
# them (each of its commits waits for a WAL flush). Rounds per size.
SIZES = {"small": (500, 2_000, 3), "default": (2_000, 8_000, 5), "large": (5_000, 50_000, 7)}
BATCH = 100
TARGET_SINGLE_SQLITE = 5_000  # appends/s, one event per transaction, SQLite WAL

Append = Callable[..., int]


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


def run(backend: str, size_name: str) -> dict[str, Any]:
    singles, batched, rounds = SIZES[size_name]
    if backend == "postgres":
        singles //= 4
        batched //= 4
    with common.installation(backend) as inst:
        vault, first = initialize(
            inst.settings,
            tenant_name="Bench Append",
            tenant_slug="bench-append",
            username="officer",
            display_name="Bench Officer",
        )
        try:
            return _measure(vault, first.tenant.id, backend, singles, batched, rounds)
        finally:
            vault.db.dispose()


def _measure(
    vault: Any, tenant: uuid.UUID, backend: str, singles: int, batched: int, rounds: int
) -> dict[str, Any]:
    lock = vault.db.is_postgres
    scope = Scope.tenant(tenant)
    with vault.db.transaction(scope) as session:
        key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
        settings = _db_settings(session, backend)
    drafts = _drafts(tenant, max(singles, batched), vault.clock())

    def one_per_transaction(append: Append) -> Callable[[], float]:
        def go() -> float:
            start = perf_counter()
            for draft in drafts[:singles]:
                with vault.db.transaction(scope) as session:
                    append(session, key, draft, lock=lock)
            return singles / (perf_counter() - start)

        return go

    def in_batches(append: Append) -> Callable[[], float]:
        def go() -> float:
            start = perf_counter()
            for offset in range(0, batched, BATCH):
                with vault.db.transaction(scope) as session:
                    for draft in drafts[offset : offset + BATCH]:
                        append(session, key, draft, lock=lock)
            return batched / (perf_counter() - start)

        return go

    def floor() -> float:
        head = text("SELECT seq, hash FROM audit_heads WHERE tenant_id = :t")
        if lock:
            head = text("SELECT seq, hash FROM audit_heads WHERE tenant_id = :t FOR UPDATE")
        start = perf_counter()
        for _ in range(singles):
            with vault.db.transaction(scope) as session:
                session.execute(head, {"t": str(tenant)}).one()
        return singles / (perf_counter() - start)

    modes: dict[str, Callable[[], float]] = {
        "1 event per transaction": one_per_transaction(events.append),
        f"{BATCH} events per transaction": in_batches(events.append),
        "reference: transaction with the head read only": floor,
    }
    modes["baseline: original append, 1 per transaction"] = one_per_transaction(original_append)
    modes[f"baseline: original append, {BATCH} per transaction"] = in_batches(original_append)
    rates: dict[str, list[float]] = {name: [] for name in modes}
    for name, fn in modes.items():  # warm-up
        if not name.startswith(("reference", "baseline")):
            fn()
    for r in range(rounds):
        order = list(modes) if r % 2 == 0 else list(modes)[::-1]
        for name in order:
            rates[name].append(modes[name]())
    (report,) = verify_all(vault, tenant=str(tenant))
    if not report.ok:
        raise RuntimeError(f"the appended chain does not verify: {report.problem}")
    median = {name: statistics.median(values) for name, values in rates.items()}
    rows = [
        [name, f"{median[name]:,.0f}", f"{1e6 / median[name]:,.0f} us",
         f"{min(rates[name]):,.0f}-{max(rates[name]):,.0f}"]
        for name in modes
    ]  # fmt: skip
    single = median["1 event per transaction"]
    checks = []
    if backend == "sqlite":
        checks.append((backend, "audit appends, 1 per transaction (SQLite WAL)",
                       f"{single:,.0f}/s", f">= {TARGET_SINGLE_SQLITE:,}/s",
                       single >= TARGET_SINGLE_SQLITE))  # fmt: skip
    else:
        checks.append((backend, "audit appends, 1 per transaction", f"{single:,.0f}/s",
                       "(reported)", None))  # fmt: skip
    checks.append(
        (
            backend,
            f"audit appends, {BATCH} per transaction",
            f"{median[f'{BATCH} events per transaction']:,.0f}/s",
            "(reported)",
            None,
        )
    )
    return {
        "backend": backend,
        "rows": rows,
        "rounds": rounds,
        "settings": settings,
        "verified": report.events,
        "checks": checks,
    }


def _db_settings(session: Any, backend: str) -> str:
    if backend == "sqlite":
        mode = session.execute(text("PRAGMA journal_mode")).scalar()
        sync = session.execute(text("PRAGMA synchronous")).scalar()
        names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        return f"journal_mode={mode}, synchronous={names.get(sync, sync)}"
    commit = session.execute(text("SHOW synchronous_commit")).scalar()
    return f"synchronous_commit={commit}"


def report(result: dict[str, Any]) -> str:
    return "\n".join([
        f"### Audit appends - {result['backend']} ({result['settings']})",
        "",
        f"Median of {result['rounds']} interleaved rounds; the chain of "
        f"{result['verified']:,} events verified afterwards.",
        "",
        common.table(["mode", "appends/s", "per append", "range over rounds"], result["rows"]),
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
