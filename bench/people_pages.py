"""The people list at an agency's real size (issue 9: every people page < 200 ms server time at
100,000 people, at any depth): keyset pages (``people_page``, what the web list uses) beside
the same pages by offset (``list_people``, the older API path), measured interleaved in one run.

The agency's people are written through the guarded service (fabricated names, encrypted as
always), 1,000 per unit. Each figure is the median of ``--repeat`` timings of one page of 50
in its own guarded unit, audited, as a request would.

Run: ``.venv/bin/python bench/people_pages.py [--backend sqlite|postgres|both] [--people N]``
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import common
from faker import Faker

from phivault.access.policy import PurposeOfUse
from phivault.bootstrap import open_vault
from phivault.records import service
from phivault.vault import Vault

TARGET_MS = 200.0
PAGE = 50


def _fill(vault: Vault, world: common.World, people: int) -> None:
    fake = Faker()
    Faker.seed(100_000)
    written = 0
    while written < people:
        with vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS) as unit:
            for _ in range(min(1_000, people - written)):
                service.do_create_person(
                    unit,
                    kind="patient",
                    given_name=fake.first_name(),
                    family_name=fake.last_name(),
                    date_of_birth=fake.date_of_birth(minimum_age=1, maximum_age=99).isoformat(),
                )
                written += 1
        vault.clock = _later(vault)  # the next thousand a second later: distinct times


def _later(vault: Vault) -> Any:
    from datetime import timedelta

    base, step = vault.clock(), [0]

    def clock() -> Any:
        step[0] += 1
        return base + timedelta(microseconds=step[0])

    return clock


def run(backend: str, people: int, repeat: int) -> list[list[str]]:
    rows = []
    with common.installation(backend) as inst:
        vault, world = common.build_world(inst.settings, people=0)
        _fill(vault, world, people)
        if inst.settings.database_url:
            # What autovacuum does within a minute of a bulk load (as the tables' owner);
            # measured before it, the first page is planned on an empty table's statistics.
            import psycopg

            with psycopg.connect(inst.settings.database_url, autocommit=True) as conn:
                conn.execute("ANALYZE people")
        vault.db.dispose()
        vault = open_vault(inst.settings)  # statistics refreshed on open (SQLite)
        actor = world.clinician

        def unit() -> Any:
            return vault.unit(world.tenant_id, actor, PurposeOfUse.TREATMENT)

        # Cursors for the first, middle and last pages, found once by walking the keyset.
        with unit() as u:
            ids = u.session.execute(
                service.people_query(world.tenant_id, "patient", limit=people + 1)
            ).scalars()
            ordered = [service.PersonCursor.of(p) for p in ids]
        depths = {"first page": 0, "middle page": people // 2, "last page": people - PAGE}
        for label, offset in depths.items():
            after = ordered[offset - 1] if offset else None

            def keyset(after: Any = after) -> None:
                with unit() as u:
                    service.people_page(u, kind="patient", after=after, limit=PAGE)

            def by_offset(offset: int = offset) -> None:
                with unit() as u:
                    service.list_people(u, kind="patient", offset=offset, limit=PAGE)

            k = common.median_ms(keyset, repeat)
            o = common.median_ms(by_offset, repeat)
            status = "met" if k < TARGET_MS else "MISSED"
            rows.append([backend, label, f"{k:.1f} ms", f"{o:.1f} ms", f"{k / o:.2f}x", status])
        vault.db.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--people", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=9)
    args = p.parse_args(argv)
    common.check_source()
    common.print_machine()
    rows = []
    for backend in common.backends(args.backend):
        rows += run(backend, args.people, args.repeat)
    print(f"\n{args.people:,} patients in one agency; median of {args.repeat}, page of {PAGE}\n")
    print(
        common.table(
            ["backend", "page", "keyset", "offset", "keyset / offset", f"< {TARGET_MS:.0f} ms"],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
