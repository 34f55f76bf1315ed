"""Shared pieces of the benchmarks: throwaway installations, a fabricated world, timing.

Every benchmark gets its own temporary data directory and, on PostgreSQL, its own throwaway
database (created and dropped here). All data is fabricated (Faker / random ids); nothing a
benchmark prints is PHI - only counts, timings and ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from faker import Faker

# Benchmark the working tree these scripts live in, whatever the virtualenv's (editable)
# install of phivault points at.
SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from phivault.access.policy import PurposeOfUse  # noqa: E402
from phivault.access.unit import Actor  # noqa: E402
from phivault.bootstrap import initialize  # noqa: E402
from phivault.config import Settings  # noqa: E402
from phivault.db.engine import Scope  # noqa: E402
from phivault.identity.service import create_member, grant_access, issue_token  # noqa: E402
from phivault.records import service  # noqa: E402
from phivault.vault import Vault  # noqa: E402

PG_ADMIN = os.environ.get(
    "PHIVAULT_BENCH_PG_ADMIN",
    os.environ.get("PHIVAULT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
BACKENDS = ("sqlite", "postgres")
CLINICIAN_POSITION = "Emergency Medical Technician Paramedic"


# -- command line ----------------------------------------------------------------------------
def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument(
        "--size",
        choices=["small", "default", "large"],
        default="default",
        help="small: a quick smoke run; default: what `make bench` runs; large: longer runs",
    )
    return p


def backends(choice: str) -> list[str]:
    wanted = list(BACKENDS) if choice == "both" else [choice]
    if "postgres" in wanted:
        problem = pg_problem()
        if problem:
            print(f"!!! PostgreSQL at {PG_ADMIN} is not reachable ({problem}); skipping it !!!")
            wanted.remove("postgres")
    return wanted


# -- PostgreSQL ------------------------------------------------------------------------------
def pg_problem() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return type(exc).__name__
    return None


def pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


def pg_create() -> str:
    import psycopg

    name = f"phivault_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return name


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Installation:
    backend: str
    home: Path
    settings: Settings
    database: str | None  # PostgreSQL database name

    @property
    def owner_url(self) -> str:
        """The migrating (table-owner) connection: used only to bulk-load fixtures."""
        return self.settings.effective_database_url


@contextmanager
def installation(backend: str) -> Iterator[Installation]:
    """A fresh, empty installation directory (and database); removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix=f"phivault-bench-{backend}-"))
    database = pg_create() if backend == "postgres" else None
    settings = Settings(
        home=home / "home",
        database_url=pg_url(database) if database else None,
        master_key=None,
    )
    try:
        yield Installation(backend, home, settings, database)
    finally:
        if database:
            pg_drop(database)
        shutil.rmtree(home, ignore_errors=True)


# -- a fabricated world ------------------------------------------------------------------------
@dataclass
class World:
    tenant_id: uuid.UUID
    officer: Actor
    clinician: Actor
    clinician_token: str
    people: list[uuid.UUID] = field(default_factory=list)
    records: list[uuid.UUID] = field(default_factory=list)


def build_world(
    settings: Settings, *, people: int = 20, records_per_person: int = 5
) -> tuple[Vault, World]:
    """One tenant, a privacy officer, a clinician (Full category) and fabricated records.

    Records are clinical notes with Minimum, Summary and Full fields, so a Full-category
    read decrypts three tier ciphertexts plus the (empty) sensitivity tags.
    """
    fake = Faker()
    Faker.seed(4242)
    vault, first = initialize(
        settings,
        tenant_name="Bench Home Care",
        tenant_slug="bench",
        username="officer",
        display_name=fake.name(),
    )
    tenant_id = first.tenant.id
    officer = Actor(member_id=first.member_id, source="bench", request_id="setup")
    now = vault.clock()
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        member = create_member(session, username="clinician", display_name=fake.name(), now=now)
        grant_access(
            session,
            tenant_id=tenant_id,
            member_id=member.id,
            position_id=first.tenant.positions[CLINICIAN_POSITION],
            now=now,
        )
        token = issue_token(session, member_id=member.id, label="bench", now=now)
    clinician = Actor(member_id=member.id, session_id="bench", source="bench", request_id="r")
    world = World(tenant_id, officer, clinician, token)
    with vault.unit(tenant_id, officer, PurposeOfUse.OPERATIONS) as unit:
        for _ in range(people):
            person = service.do_create_person(
                unit,
                kind="patient",
                given_name=fake.first_name(),
                family_name=fake.last_name(),
                date_of_birth=fake.date_of_birth(minimum_age=20, maximum_age=90).isoformat(),
                mrn=fake.bothify("MRN-########"),
            )
            world.people.append(person.id)
            for _ in range(records_per_person):
                record = service.do_create_record(
                    unit,
                    person_id=person.id,
                    type_name="clinical_note",
                    fields={
                        "note_date": fake.date_between("-2y").isoformat(),
                        "service_type": "personal care",
                        "diagnosis_codes": ["I10", "E11.9"],
                        "assessment_summary": fake.sentence(nb_words=12),
                        "text": fake.paragraph(nb_sentences=6),
                    },
                )
                world.records.append(record.id)
    return vault, world


# -- timing ------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Interleaved A/B timings: per-round mean seconds per operation for each side."""

    names: tuple[str, ...]
    rounds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.rounds[name])

    def ratio(self, a: str, b: str) -> float:
        return self.median(a) / self.median(b)

    def round_ratios(self, a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(self.rounds[a], self.rounds[b], strict=True)]


def interleave(
    sides: dict[str, Callable[[int], None]], *, rounds: int, per_round: int, warmup: int
) -> Comparison:
    """Run each side ``per_round`` operations per round, alternating sides (and their order
    every round, A B / B A, so drift and cache effects fall on both equally)."""
    names = tuple(sides)
    for name in names:
        sides[name](warmup)
    result = Comparison(names, {n: [] for n in names})
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            start = perf_counter()
            sides[name](per_round)
            result.rounds[name].append((perf_counter() - start) / per_round)
    return result


def median_ms(work: Callable[[], object], repeat: int) -> float:
    """The median of ``repeat`` timings of ``work()``, in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us"


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (pasted as-is into docs/performance.md)."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


# -- the machine -------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    import sqlite3

    import sqlalchemy

    info = {
        "cpus (nproc)": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "os": platform.platform(),
    }
    try:
        import psycopg

        info["psycopg"] = psycopg.__version__
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = str(row[0]) if row else "?"
            for setting in ("synchronous_commit", "fsync", "shared_buffers"):
                row = conn.execute(f"SHOW {setting}").fetchone()
                info[f"pg {setting}"] = str(row[0]) if row else "?"
    except Exception as exc:
        info["postgresql"] = f"unavailable ({type(exc).__name__})"
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def cpu_probe() -> str:
    """A fixed pure-Python loop, timed: shows how fast the (shared) CPU ran at that moment."""
    times = []
    for _ in range(3):
        start = perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        times.append(perf_counter() - start)
    return f"{min(times) * 1000:.0f} ms for a 3M-step Python loop (best of 3)"


def check_source() -> None:
    """Fail loudly if phivault was imported from somewhere other than this working tree."""
    import phivault

    where = Path(phivault.__file__).resolve()
    if SRC not in where.parents:
        raise RuntimeError(f"phivault was imported from {where}, not from {SRC}")


def print_machine() -> None:
    print(table(["machine", ""], sorted(machine().items())))
