"""The audit viewer and the dashboard's audit panel on a long trail (issue 9: < 100 ms at 1M
events, < 200 ms at 10M): each page the privacy officer opens, timed as the server runs it (a
guarded, audited unit around the service call), median of several, on one tenant's trail of
N events spread over the last 90 days (1 in 50 refused, 1 in 1,000 under emergency access).

Events are bulk-loaded as bench/audit_export.py loads them (COPY on PostgreSQL, executemany
in one transaction on SQLite, the indexes built afterwards; the chain is not valid and not
needed: nothing here verifies it), and counted per hour as appends count them. Statistics are
refreshed as production keeps them (the vault's optimize on SQLite when it opens; ANALYZE on
PostgreSQL, as autovacuum would). The load's and the statistics' times are printed.

Run: ``.venv/bin/python bench/audit_viewer.py [--backend sqlite|postgres|both] [--events N]``
(``--events 10000000`` builds about 8 GB per backend; see docs/performance.md for its time.)
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import common
from audit_export import _fill

from phivault.access.policy import Permission, PurposeOfUse
from phivault.audit import service as audit
from phivault.audit.actions import AuditAction
from phivault.bootstrap import open_vault
from phivault.clock import to_micros

DAYS = 90


def target_ms(events: int) -> float:
    """Issue 9's goal for a trail of this length: < 100 ms up to 1M events, < 200 ms at 10M."""
    return 100.0 if events <= 1_000_000 else 200.0


def _build(inst: common.Installation, events: int) -> tuple[Any, common.World, datetime]:
    """The trail, loaded and with statistics; prints how long each part took."""
    vault, world = common.build_world(inst.settings, people=2, records_per_person=1)
    now = datetime.now(UTC)
    first = to_micros(now - timedelta(days=DAYS))
    begun = time.perf_counter()
    _fill(vault, world.tenant_id, events, (DAYS * 86_400_000_000) // events, first)
    loaded = time.perf_counter()
    vault.db.dispose()
    if inst.settings.database_url:
        import psycopg

        with psycopg.connect(inst.settings.database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE audit_events")
            conn.execute("ANALYZE audit_hours")
    vault = open_vault(inst.settings)  # SQLite: the vault's optimize analyzes the new rows
    analyzed = time.perf_counter()
    print(
        f"{inst.backend}: {events:,} events loaded in {loaded - begun:,.0f} s,"
        f" statistics in {analyzed - loaded:,.0f} s",
        flush=True,
    )
    return vault, world, now


def _plans(vault: Any, world: common.World, flt: audit.EventFilter) -> None:
    """Print the plan of the date filter's page (read from the database)."""
    from phivault.db.engine import Scope
    from phivault.db.explain import explain

    with vault.db.transaction(Scope.tenant(world.tenant_id)) as session:
        plan = explain(session.connection(), audit._filtered_in(world.tenant_id, flt).limit(101))
    print("  plan of one day:", plan.replace("\n", " | "), flush=True)


def _before(
    vault: Any, world: common.World, flt: audit.EventFilter, now: datetime
) -> dict[str, Any]:
    """What the two pages ran before migration 0015, in the same guarded unit: the one-day
    page without the seq bounds, and the panel counting 14 days of events."""
    from sqlalchemy import func, select

    from phivault.audit.models import AuditEvent as E

    tenant = str(world.tenant_id)
    assert flt.since is not None and flt.until is not None
    page = (
        select(E)
        .where(E.tenant_id == tenant)
        .where(E.occurred_us >= to_micros(flt.since), E.occurred_us < to_micros(flt.until))
        .order_by(E.seq.desc())
        .limit(101)
    )
    start = to_micros(datetime.combine(now.date() - timedelta(days=13), datetime.min.time(), UTC))
    day = ((E.occurred_us - start) // 86_400_000_000).label("day")
    panel = (
        select(day, E.outcome, E.break_glass, func.count())
        .where(E.tenant_id == tenant, E.occurred_us >= start)
        .group_by(day, E.outcome, E.break_glass)
    )

    def timed(statement: Any) -> Any:
        def work() -> None:
            with vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS) as u:
                u.guard.allow(
                    Permission.AUDIT_READ, action=AuditAction.AUDIT_QUERY, resource_type="audit"
                )
                u.session.execute(statement).all()

        return work

    return {
        "before 0015: one day a month ago": timed(page),
        "before 0015: dashboard, 14 days": timed(panel),
    }


def run(backend: str, events: int, repeat: int, before: bool = False) -> list[list[str]]:
    with common.installation(backend) as inst:
        vault, world, now = _build(inst, events)

        def page(flt: audit.EventFilter) -> Any:
            def work() -> None:
                with vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS) as u:
                    audit.audit_page(u, flt)

            return work

        def activity() -> None:
            with vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS) as u:
                audit.activity_by_day(u, days=14)

        month_ago = now - timedelta(days=30)
        midnight = datetime.combine(month_ago.date(), datetime.min.time(), UTC)
        one_day = audit.EventFilter(since=month_ago, until=month_ago + timedelta(days=1), limit=101)
        _plans(vault, world, one_day)
        views = {
            "viewer, newest entries": page(audit.EventFilter(limit=101)),
            "viewer, one person's history": page(
                audit.EventFilter(person_id=uuid.UUID(int=7), limit=101)
            ),
            "viewer, one day a month ago": page(one_day),
            "viewer, one UTC day (date filter)": page(
                audit.EventFilter(since=midnight, until=midnight + timedelta(days=1), limit=101)
            ),
            "viewer, emergency access only": page(audit.EventFilter(break_glass=True, limit=101)),
            "viewer, one action": page(audit.EventFilter(action="person.search", limit=101)),
            "viewer, refused only": page(audit.EventFilter(outcome="refused", limit=101)),
            "dashboard, 14 days of activity": activity,
        }
        if before:
            views |= _before(vault, world, one_day, now)
        rows = []
        target = target_ms(events)
        for label, work in views.items():
            ms = common.median_ms(work, repeat)
            rows.append(
                [
                    backend,
                    f"{events:,}",
                    label,
                    f"{ms:.1f} ms",
                    f"< {target:.0f} ms",
                    "met" if ms < target else "MISSED",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
        vault.db.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument(
        "--before", action="store_true", help="also time what the two slow pages ran before 0015"
    )
    args = p.parse_args(argv)
    common.check_source()
    common.print_machine()
    rows = []
    for backend in common.backends(args.backend):
        rows += run(backend, args.events, args.repeat, args.before)
    print(f"\n{args.events:,} events over {DAYS} days; median of {args.repeat}\n")
    headers = ["backend", "events", "page", "median", "target", "goal"]
    print(common.table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
