"""The audit trail's CSV export at size (issue 9: streamed, with flat memory): the Python heap's
peak while a tenant's whole trail is exported, streamed row batch by row batch (what the
viewer's export does now) beside the same rows gathered in a list first (what it did), in
one run, for two sizes, so that flat means flat.

Events are inserted in bulk (random ids, plausible actions; the chain is not valid and is not
needed: an export does not verify). The peak is tracemalloc's, reset before each side.

Run: ``.venv/bin/python bench/audit_export.py [--backend sqlite|postgres|both] [--events N]``
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import sys
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from time import perf_counter

import common
from sqlalchemy import Dialect, Index, text
from sqlalchemy.dialects.postgresql import dialect as pg_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.schema import CreateIndex, DropIndex, ExecutableDDLElement

from phivault.access.policy import PurposeOfUse
from phivault.audit import hours
from phivault.audit import service as audit_service
from phivault.audit.models import AuditEvent
from phivault.db.engine import Scope
from phivault.vault import Vault
from phivault.web.audit import _csv

ACTIONS = ("record.read", "person.read", "record.list", "audit.query", "person.search")


COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns)
# Rows per executemany on SQLite; the whole load is one transaction on either backend.
CHUNK = 100_000


def _events(
    tenant: str, start: int, count: int, spacing_us: int = 1_000_000, first_us: int = 0
) -> Iterator[tuple[object, ...]]:
    """Plausible events in ``COLUMNS`` order: 1 in 50 refused, 1 in 1,000 under emergency
    access; actors, people and resources drawn from small pools of ids."""
    rng = random.Random(start)
    first_us = first_us or 1_700_000_000_000_000
    actors = [str(uuid.UUID(int=i)) for i in range(50)]
    resources = [str(uuid.UUID(int=i)) for i in range(10_000)]
    people = [str(uuid.UUID(int=i + 1)) for i in range(5_000)]
    zeros = "0" * 64
    randrange, choice, uuid4 = rng.randrange, rng.choice, uuid.uuid4
    for seq in range(start, start + count):
        actor = actors[randrange(50)]
        action = choice(ACTIONS)
        resource = resources[randrange(10_000)]
        person = people[randrange(5_000)]
        row = {
            "tenant_id": tenant,
            "seq": seq,
            "event_id": str(uuid4()),
            "occurred_us": first_us + seq * spacing_us,
            "actor_id": actor,
            "session_id": "",
            "action": action,
            "resource_type": "record",
            "resource_id": resource,
            "person_id": person,
            "purpose": "treatment",
            "outcome": "refused" if seq % 50 == 0 else "allowed",
            "reason": "",
            "break_glass": 1 if seq % 1000 == 0 else 0,
            "fields": "family_name,given_name",
            "source": "bench",
            "request_id": "",
            "ref": "",
            "prev_hash": zeros,
            "hash": zeros,
        }
        yield tuple(row[c] for c in COLUMNS)


def _secondary_indexes() -> list[Index]:
    """The audit table's own indexes (not its primary key or unique event id): dropped for a
    bulk load and built afterwards, which is several times faster than keeping them."""
    return sorted(AuditEvent.__table__.indexes, key=lambda ix: str(ix.name))


def _ddl(statement: ExecutableDDLElement, dialect: Dialect) -> str:
    return str(statement.compile(dialect=dialect))


def _load_sqlite(path: Path, rows: Iterator[tuple[object, ...]]) -> None:
    """Insert ``rows`` in one transaction with the indexes dropped, then build them."""
    dialect = sqlite_dialect()
    conn = sqlite3.connect(path, isolation_level=None)
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({marks})"
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")  # 1 GiB, this connection only
        conn.execute("BEGIN IMMEDIATE")
        for ix in _secondary_indexes():
            conn.execute(_ddl(DropIndex(ix), dialect))
        while batch := list(itertools.islice(rows, CHUNK)):
            conn.executemany(sql, batch)
        for ix in _secondary_indexes():
            conn.execute(_ddl(CreateIndex(ix), dialect))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _load_postgres(url: str, rows: Iterator[tuple[object, ...]]) -> None:
    """COPY ``rows`` in one transaction with the indexes dropped, then build them (as the
    table's owner: COPY FROM is refused under row-level security for the app role)."""
    import psycopg

    dialect = pg_dialect()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SELECT set_config('app.scope', 'system', false)")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for ix in _secondary_indexes():
            conn.execute(_ddl(DropIndex(ix), dialect))
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        for ix in _secondary_indexes():
            conn.execute(_ddl(CreateIndex(ix), dialect))
        conn.commit()


def _fill(
    vault: Vault, tenant_id: uuid.UUID, count: int, spacing_us: int = 1_000_000, first_us: int = 0
) -> None:
    """Append ``count`` fabricated events to the tenant's trail in bulk (not chained), count
    them per hour as appends would (``audit_hours``) and move the chain head past them."""
    tenant = str(tenant_id)
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        last = session.scalar(
            text("SELECT coalesce(max(seq), 0) FROM audit_events WHERE tenant_id = :t"),
            {"t": tenant},
        )
    start = int(last) + 1
    rows = _events(tenant, start, count, spacing_us, first_us)
    if vault.db.is_postgres:
        _load_postgres(vault.settings.effective_database_url, rows)
    else:
        _load_sqlite(vault.settings.sqlite_path, rows)
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        hours.recount(session, tenant)
        # The head follows the bulk rows, so that the export's own audit event chains on.
        session.execute(
            text("UPDATE audit_heads SET seq = :s, hash = :h WHERE tenant_id = :t"),
            {"s": start + count - 1, "h": "0" * 64, "t": tenant},
        )


def _peak(work: object) -> tuple[float, float, int]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    begun = perf_counter()
    size = work()  # type: ignore[operator]
    seconds = perf_counter() - begun
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, seconds, int(size)


def run(backend: str, sizes: list[int]) -> list[list[str]]:
    rows = []
    with common.installation(backend) as inst:
        vault, world = common.build_world(inst.settings, people=5, records_per_person=1)
        officer, tenant = world.officer, world.tenant_id
        filled = 0
        for size in sizes:
            _fill(vault, tenant, size - filled)
            filled = size
            with vault.unit(tenant, officer, PurposeOfUse.OPERATIONS) as unit:
                export = audit_service.begin_export(unit, audit_service.EventFilter())

            def streamed(export: audit_service.Export = export) -> int:
                rows = audit_service.export_rows(vault, export)
                return sum(len(chunk) for chunk in _csv(rows))

            def gathered(export: audit_service.Export = export) -> int:
                everything = list(audit_service.export_rows(vault, export))
                return sum(len(chunk) for chunk in _csv(everything))

            s_mib, s_sec, s_bytes = _peak(streamed)
            g_mib, g_sec, g_bytes = _peak(gathered)
            assert s_bytes == g_bytes, "both sides must write the same CSV"
            rows.append(
                [
                    backend,
                    f"{export.rows:,}",
                    f"{s_bytes / 2**20:,.0f} MiB",
                    f"{s_mib:,.1f} MiB",
                    f"{g_mib:,.1f} MiB",
                    f"{s_sec:.1f} s",
                    f"{g_sec:.1f} s",
                ]
            )
        vault.db.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--events", type=int, default=100_000, help="the larger size; also 1/10")
    args = p.parse_args(argv)
    common.check_source()
    common.print_machine()
    monkey_max = max(audit_service.MAX_EXPORT, args.events + 1_000)
    audit_service.MAX_EXPORT = monkey_max  # the whole trail, not the viewer's cap
    rows = []
    for backend in common.backends(args.backend):
        rows += run(backend, [args.events // 10, args.events])
    print()
    print(
        common.table(
            [
                "backend",
                "rows",
                "CSV",
                "heap peak, streamed",
                "heap peak, gathered",
                "time, streamed",
                "time, gathered",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
