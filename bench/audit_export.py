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
import random
import sys
import tracemalloc
import uuid
from collections.abc import Iterator
from time import perf_counter

import common
from sqlalchemy import text

from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit_service
from phivault.audit.models import AuditEvent
from phivault.db.engine import Scope
from phivault.vault import Vault
from phivault.web.audit import _csv

ACTIONS = ("record.read", "person.read", "record.list", "audit.query", "person.search")


def _events(
    tenant: str, start: int, count: int, spacing_us: int = 1_000_000, first_us: int = 0
) -> Iterator[dict[str, object]]:
    """Plausible events: 1 in 50 refused, 1 in 1,000 under emergency access."""
    rng = random.Random(start)
    first_us = first_us or 1_700_000_000_000_000
    for seq in range(start, start + count):
        yield {
            "tenant_id": tenant,
            "seq": seq,
            "event_id": str(uuid.uuid4()),
            "occurred_us": first_us + seq * spacing_us,
            "actor_id": str(uuid.UUID(int=rng.randrange(50))),
            "session_id": "",
            "action": rng.choice(ACTIONS),
            "resource_type": "record",
            "resource_id": str(uuid.UUID(int=rng.randrange(10_000))),
            "person_id": str(uuid.UUID(int=rng.randrange(5_000) + 1)),
            "purpose": "treatment",
            "outcome": "refused" if seq % 50 == 0 else "allowed",
            "reason": "",
            "break_glass": 1 if seq % 1000 == 0 else 0,
            "fields": "family_name,given_name",
            "source": "bench",
            "request_id": "",
            "ref": "",
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }


def _fill(
    vault: Vault, tenant_id: uuid.UUID, count: int, spacing_us: int = 1_000_000, first_us: int = 0
) -> None:
    tenant = str(tenant_id)
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        last = session.scalar(
            text("SELECT coalesce(max(seq), 0) FROM audit_events WHERE tenant_id = :t"),
            {"t": tenant},
        )
    start, left = int(last) + 1, count
    while left:
        n = min(50_000, left)
        with vault.db.transaction(Scope.tenant(tenant_id)) as session:
            rows = list(_events(tenant, start, n, spacing_us, first_us))
            session.execute(AuditEvent.__table__.insert(), rows)
        start, left = start + n, left - n
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        # The head follows the bulk rows, so that the export's own audit event chains on.
        session.execute(
            text("UPDATE audit_heads SET seq = :s, hash = :h WHERE tenant_id = :t"),
            {"s": start - 1, "h": "0" * 64, "t": tenant},
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
