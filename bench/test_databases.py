"""How long a PostgreSQL test waits for its database: a fresh copy of the world's template
(CREATE DATABASE … TEMPLATE, then DROP) against a copy from the per-process pool whose rows
are put back afterwards (tests/support/pg.py). Measured side by side in one run.

    .venv/bin/python bench/test_databases.py [--rounds N]

Prints a Markdown table of medians and their ratio; docs/performance.md records the result.
Nothing printed is PHI: the world is fabricated and only timings are shown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tests.support import pg  # noqa: E402
from tests.support.world import build_world  # noqa: E402

from phivault.clock import FrozenClock  # noqa: E402
from phivault.config import Settings  # noqa: E402


def _dirty(database: str) -> None:
    """What a test does to its copy: a few rows written (an audit event's worth of change)."""
    with pg.psycopg.connect(pg.url_for(database)) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM audit_events WHERE seq > (SELECT max(seq) - 3 FROM audit_events)")
        conn.commit()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()
    if problem := pg.available():
        print(f"PostgreSQL is not reachable: {problem}")
        return 1
    template = pg.create_database()
    pool: pg.DatabasePool | None = None
    try:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home), database_url=pg.url_for(template), master_key=None)
            vault, _ = build_world(settings, FrozenClock(), Path(home))
            vault.db.dispose()
        pool = pg.DatabasePool(template)
        fresh: list[float] = []
        pooled: list[float] = []
        for _ in range(args.rounds):
            # Interleaved so that load on the machine hits both ways alike.
            start = perf_counter()
            name = pg.create_database(template)
            _dirty(name)
            pg.drop_database(name)
            fresh.append(perf_counter() - start)
            start = perf_counter()
            name = pool.take()
            _dirty(name)
            pool.give_back(name)
            pooled.append(perf_counter() - start)
        # The pool's first take creates its one copy; the steady state is what every later
        # test sees.
        steady = pooled[1:]
        f, s = statistics.median(fresh), statistics.median(steady)
        print("| way (one test's database)              | median   |")
        print("|-----------------------------------------|----------|")
        print(f"| create from template + drop             | {f * 1000:6.0f} ms |")
        print(f"| pooled copy, rows put back              | {s * 1000:6.0f} ms |")
        print(f"\nratio pooled / fresh: {s / f:.2f}x over {args.rounds} rounds")
        return 0
    finally:
        if pool is not None:
            pool.close()
        pg.drop_database(template)


if __name__ == "__main__":
    raise SystemExit(main())
