"""Issue 9 §3, no hidden O(n) on hot paths: four lookups timed on realistic history.

Each is measured on the same data in the same run, before and after, rounds interleaved
(A B / B A):

1. **break-glass check** (the guard, every PHI read): ``_BREAK_GLASS`` over an agency's
   past emergency grants. *Before* runs the same statement inside a transaction that drops
   ``ix_break_glass_active`` first (the schema of migration 0010) and is rolled back.
2. **last verification** (audit viewer, privacy officer's dashboard): ``_LAST_VERIFICATION``
   over a chain whose latest verification lies 30% back. *Before*: ``ix_audit_action``
   dropped the same way.
3. **due credentials** (dashboard of those who track credentials): *before* is
   ``credentials_due`` (every credential record's tags and Minimum tier decrypted), *after*
   ``count_credentials_due`` (credential slots); each in a guarded unit, audit included.
4. **person's access history** (audit viewer from a chart), SQLite: *after* with the
   statistics the vault keeps (``Database.optimize``, run when it opens); *before* the plan
   SQLite picks without statistics — the primary key, newest first — forced with
   ``INDEXED BY`` on otherwise the same SQL. Also timed: ``optimize`` itself, with a stale
   audit table and with nothing to do.

All data is fabricated (Faker names, random ids); the audit chain is valid (chained with
``phivault.audit.chain.link``) and bulk-loaded as in ``bench/audit_verify.py``.

Run: ``.venv/bin/python bench/hidden_costs.py [--backend both] [--size small|default|large]``
"""

from __future__ import annotations

import random
import statistics
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from time import perf_counter
from typing import Any

import common
from audit_verify import _load_postgres, _load_sqlite
from faker import Faker
from sqlalchemy import text

from phivault.access.guard import _BREAK_GLASS
from phivault.access.models import BreakGlassGrant
from phivault.access.policy import PurposeOfUse
from phivault.audit.chain import link
from phivault.audit.service import (
    _LAST_VERIFICATION,
    EventFilter,
    _filtered,
    verify_tenant_chain,
)
from phivault.crypto.keyring import AUDIT_KEY_NAME
from phivault.db.engine import Scope, make_engine
from phivault.db.explain import explain
from phivault.records import credential_slots, service
from phivault.records.credentials import count_credentials_due, credentials_due
from phivault.records.models import Record
from phivault.records.types import CREDENTIAL_KINDS

SIZES: dict[str, dict[str, int]] = {
    "small": {"grants": 2_000, "caregivers": 250, "credentials": 5_000, "events": 100_000},
    "default": {"grants": 10_000, "caregivers": 1_500, "credentials": 30_000, "events": 1_000_000},
    "large": {"grants": 50_000, "caregivers": 3_000, "credentials": 60_000, "events": 2_000_000},
}
ROUNDS = 5
ACTIONS = ("record.read", "person.read", "record.list", "person.search", "record.update")


# -- history -----------------------------------------------------------------------------------
def fill_break_glass(vault: Any, world: common.World, count: int) -> None:
    """``count`` past grants (ended or expired) of two members over the agency's people."""
    rng = random.Random(7)
    now = vault.clock()
    members = [world.clinician.member_id, world.officer.member_id]
    rows = []
    for i in range(count):
        started = now - timedelta(minutes=90 + i * 37)
        rows.append(
            {
                "tenant_id": world.tenant_id,
                "id": uuid.uuid4(),
                "member_id": rng.choice(members),
                "person_id": rng.choice(world.people),
                # Never decrypted here: stands for the encrypted reason (random bytes, no PHI).
                "reason_ct": rng.randbytes(80),
                "started_at": started,
                "expires_at": started + timedelta(minutes=60),
                "ended_at": started + timedelta(minutes=25) if i % 3 == 0 else None,
                "review_status": "reviewed",
            }
        )
    with vault.db.transaction(Scope.tenant(world.tenant_id)) as session:
        session.execute(BreakGlassGrant.__table__.insert(), rows)


def fill_credentials(vault: Any, world: common.World, caregivers: int, count: int) -> None:
    """Caregivers (through the service) and ``count`` credential records, encrypted as the
    service encrypts them, bulk-inserted: licences, CPR cards, TB tests... renewed over years."""
    fake = Faker()
    Faker.seed(99)
    people = []
    with vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS) as unit:
        for _ in range(caregivers):
            person = service.do_create_person(
                unit,
                kind="caregiver",
                given_name=fake.first_name(),
                family_name=fake.last_name(),
                date_of_birth=fake.date_of_birth(minimum_age=20, maximum_age=70).isoformat(),
            )
            people.append(person.id)
    today = vault.clock().date()
    rng = random.Random(11)
    with vault.db.transaction(Scope.tenant(world.tenant_id)) as session:
        c = vault.keyring.for_tenant(session, world.tenant_id)
        rows = []
        offsets: dict[tuple[int, int], int] = {}
        for i in range(count):
            # Caregiver by caregiver, five kinds, renewed yearly: the latest of each kind
            # lapses between two months ago and two years ahead.
            person, renewal = i % len(people), i // len(people)
            kind, year = renewal % 5, renewal // 5
            offset = offsets.setdefault((person, kind), rng.randrange(-60, 730))
            expires = today + timedelta(days=offset - 365 * year)
            record_id = uuid.uuid4()
            minimum = {
                "credential_type": CREDENTIAL_KINDS[kind],
                "expires_on": expires.isoformat(),
                "status": "active",
            }
            summary = {"issuer": fake.company(), "number": fake.bothify("??-#######")}
            tags = ["hiv"] if i % 97 == 0 else []
            now = vault.clock()
            rows.append(
                {
                    "tenant_id": world.tenant_id,
                    "id": record_id,
                    "person_id": people[person],
                    "record_type": "credential",
                    "tags_ct": c.encrypt_json("records", "tags_ct", record_id, tags),
                    "minimum_ct": c.encrypt_json("records", "minimum_ct", record_id, minimum),
                    "summary_ct": c.encrypt_json("records", "summary_ct", record_id, summary),
                    "full_ct": None,
                    "version": 1,
                    "created_by": world.officer.member_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        session.execute(Record.__table__.insert(), rows)
    world.people.extend(people[:1])  # one caregiver, for the write-cost measure


def _events(
    key: bytes, tenant: str, seq: int, prev: str, count: int, occurred: int, seed: int
) -> Iterator[tuple[Any, ...]]:
    """Valid chained events continuing the chain (as bench/audit_verify.py's, own seed)."""
    rng = random.Random(seed)
    actors = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(200)]
    people = [str(uuid.UUID(int=i + 1, version=4)) for i in range(5000)]
    for seq_ in range(seq, seq + count):
        occurred += rng.randrange(1, 2_000_000)
        values = (
            tenant, seq_, str(uuid.UUID(int=rng.getrandbits(128), version=4)), occurred,
            rng.choice(actors), f"token:{actors[seq_ % 7]}", rng.choice(ACTIONS), "record",
            str(uuid.UUID(int=rng.getrandbits(128), version=4)), rng.choice(people),
            "treatment", "allowed", "", 0, "assessment_summary,note_date,text", "10.0.0.7",
            f"{seq_:016x}", "",
        )  # fmt: skip
        digest = link(key, prev, values)
        yield (*values, prev, digest)
        prev = digest


def _append(inst: common.Installation, vault: Any, tenant: str, count: int, seed: int) -> None:
    with vault.db.transaction(Scope.everything()) as session:
        key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
        seq, digest = session.execute(
            text("SELECT seq, hash FROM audit_heads WHERE tenant_id = :t"), {"t": tenant}
        ).one()
        start = session.execute(
            text("SELECT max(occurred_us) FROM audit_events WHERE tenant_id = :t"), {"t": tenant}
        ).scalar_one()
    loader = _load_sqlite if inst.backend == "sqlite" else _load_postgres
    last = loader(inst, _events(key, tenant, seq + 1, digest, count, start, seed))
    with vault.db.transaction(Scope.everything()) as session:
        session.execute(
            text("UPDATE audit_heads SET seq = :s, hash = :h WHERE tenant_id = :t"),
            {"s": last[0], "h": last[1], "t": tenant},
        )


def fill_audit(inst: common.Installation, vault: Any, world: common.World, count: int) -> None:
    """``count`` events; the chain is verified (the officer's audit.verify pair) 70% in."""
    tenant = str(world.tenant_id)
    _append(inst, vault, tenant, count * 7 // 10, seed=1)

    def officer_unit() -> Any:
        return vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS)

    report = verify_tenant_chain(officer_unit)
    assert report.problem is None, report.problem
    _append(inst, vault, tenant, count - count * 7 // 10, seed=2)


# -- timing ------------------------------------------------------------------------------------
Side = Callable[[int], float]  # runs n operations, returns seconds per operation


def rounds(sides: dict[str, Side], per_round: int) -> dict[str, float]:
    """Median of per-round means, sides alternating A B / B A."""
    names = list(sides)
    for name in names:
        sides[name](1)  # warm-up
    seen: dict[str, list[float]] = {n: [] for n in names}
    for r in range(ROUNDS):
        for name in names if r % 2 == 0 else names[::-1]:
            seen[name].append(sides[name](per_round))
    return {n: statistics.median(v) for n, v in seen.items()}


def _scope(conn: Any, tenant: uuid.UUID) -> None:
    """The unit's tenant scope as the vault sets it (PostgreSQL's row-level security reads it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT set_config('app.tenant_id', :t, true),"
                " set_config('app.scope', 'tenant', true)"
            ),
            {"t": str(tenant)},
        )


def _lookups(
    engine: Any,
    tenant: uuid.UUID,
    statement: Any,
    params: Callable[[], dict[str, Any]],
    drop: str | None,
) -> Side:
    """``n`` executions of ``statement`` in one transaction, rolled back; with ``drop``, that
    index is dropped first (inside the transaction, untimed): the schema before 0011. On the
    owner's connection (only the owner may drop an index), in the tenant's scope."""

    def side(n: int) -> float:
        with engine.connect() as conn, conn.begin() as tx:
            _scope(conn, tenant)
            if drop:
                conn.exec_driver_sql(f"DROP INDEX {drop}")
            values = [params() for _ in range(n)]
            start = perf_counter()
            for value in values:
                conn.execute(statement, value).all()
            elapsed = (perf_counter() - start) / n
            tx.rollback()
        return elapsed

    return side


def _plan(engine: Any, tenant: uuid.UUID, statement: Any, params: dict[str, Any]) -> str:
    with engine.connect() as conn:
        _scope(conn, tenant)
        return explain(conn, statement, params).replace("\n", " / ")


# -- the four ------------------------------------------------------------------------------------
def measure_break_glass(vault: Any, owner: Any, world: common.World) -> dict[str, Any]:
    rng = random.Random(3)

    def params() -> dict[str, Any]:
        return {
            "tenant": world.tenant_id,
            "bg_member": world.clinician.member_id,
            "person": rng.choice(world.people),
            "bg_now": vault.clock(),
        }

    after = _lookups(owner, world.tenant_id, _BREAK_GLASS, params, None)
    before = _lookups(owner, world.tenant_id, _BREAK_GLASS, params, "ix_break_glass_active")
    times = rounds({"before": before, "after": after}, per_round=200)
    return {**times, "plan": _plan(owner, world.tenant_id, _BREAK_GLASS, params())}


def measure_last_verification(vault: Any, owner: Any, world: common.World) -> dict[str, Any]:
    def params() -> dict[str, Any]:
        return {"tenant": str(world.tenant_id)}

    with owner.connect() as conn:
        _scope(conn, world.tenant_id)
        found = conn.execute(_LAST_VERIFICATION, params()).all()
    assert len(found) == 1, "the verification's result event must be found"
    after = _lookups(owner, world.tenant_id, _LAST_VERIFICATION, params, None)
    before = _lookups(owner, world.tenant_id, _LAST_VERIFICATION, params, "ix_audit_action")
    times = rounds({"before": before, "after": after}, per_round=3)
    return {**times, "plan": _plan(owner, world.tenant_id, _LAST_VERIFICATION, params())}


class _Tenant:
    def __init__(self, tenant_id: uuid.UUID) -> None:
        self.tenant_id = tenant_id


def measure_person_history(vault: Any, world: common.World, backend: str) -> dict[str, Any]:
    rng = random.Random(5)
    people = [uuid.UUID(int=i + 1, version=4) for i in range(5000)]
    unit = _Tenant(world.tenant_id)

    def query(person: uuid.UUID) -> Any:
        return _filtered(unit, EventFilter(person_id=person)).limit(100)  # type: ignore[arg-type]

    result: dict[str, Any] = {}
    if backend == "sqlite":
        start = perf_counter()
        vault.db.optimize()  # stale: the audit table grew from a few events to the whole log
        result["optimize_stale"] = perf_counter() - start
        start = perf_counter()
        vault.db.optimize()  # nothing stale: what every later open pays
        result["optimize_fresh"] = perf_counter() - start

    def after(n: int) -> float:
        with vault.db.engine.connect() as conn:
            _scope(conn, world.tenant_id)
            picks = [rng.choice(people) for _ in range(n)]
            start = perf_counter()
            for person in picks:
                conn.execute(query(person)).all()
            return (perf_counter() - start) / n

    sides: dict[str, Side] = {"after": after}
    if backend == "sqlite":

        def before(n: int) -> float:
            # The plan SQLite chose without statistics (tests/unit/db/test_query_plans.py),
            # forced on otherwise the same SQL and values.
            forced = []
            for person in (rng.choice(people) for _ in range(n)):
                compiled = query(person).compile(vault.db.engine)
                sql = str(compiled).replace(
                    "FROM audit_events",
                    "FROM audit_events INDEXED BY sqlite_autoindex_audit_events_1",
                )
                values = compiled.construct_params()
                forced.append((sql, tuple(values[k] for k in compiled.positiontup or ())))
            with vault.db.engine.connect() as conn:
                start = perf_counter()
                for sql, args in forced:
                    conn.exec_driver_sql(sql, args).all()
                return (perf_counter() - start) / n

        sides = {"before": before, "after": after}
    result.update(rounds(sides, per_round=5))
    result["plan"] = _plan(vault.db.engine, world.tenant_id, query(people[0]), {})
    return result


def measure_credentials(vault: Any, world: common.World) -> dict[str, Any]:
    def unit() -> Any:
        return vault.unit(world.tenant_id, world.officer, PurposeOfUse.OPERATIONS)

    with unit() as u:  # the one-off build after migration 0012
        start = perf_counter()
        built = count_credentials_due(u)
        build = perf_counter() - start
    with unit() as u:
        listed = credentials_due(u)
    assert (built.due, built.lapsed) == (len(listed), sum(1 for c in listed if c.days_left < 0))

    def before(n: int) -> float:
        start = perf_counter()
        for _ in range(n):
            with unit() as u:
                due = credentials_due(u)
                _ = len(due), sum(1 for c in due if c.days_left < 0)
        return (perf_counter() - start) / n

    def after(n: int) -> float:
        start = perf_counter()
        for _ in range(n):
            with unit() as u:
                count_credentials_due(u)
        return (perf_counter() - start) / n

    times = rounds({"before": before, "after": after}, per_round=1)
    caregiver = world.people[-1]
    with unit() as u:  # the write path: one credential added, its caregiver's slots refreshed
        start = perf_counter()
        service.do_create_record(
            u,
            person_id=caregiver,
            type_name="credential",
            fields={"credential_type": "cpr", "expires_on": date.today().isoformat()},
        )
        write = perf_counter() - start
        start = perf_counter()
        credential_slots.refresh_person(u, caregiver)
        refresh = perf_counter() - start
    return {
        **times,
        "build": build,
        "write": write,
        "refresh": refresh,
        "due": built.due,
        "lapsed": built.lapsed,
    }


# -- run -----------------------------------------------------------------------------------------
def run(backend: str, size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    with common.installation(backend) as inst:
        vault, world = common.build_world(inst.settings, people=50, records_per_person=1)
        try:
            started = perf_counter()
            fill_break_glass(vault, world, size["grants"])
            fill_credentials(vault, world, size["caregivers"], size["credentials"])
            fill_audit(inst, vault, world, size["events"])
            built = perf_counter() - started
            vault.db.dispose()
            result: dict[str, Any] = {"backend": backend, "size": size, "built_s": built}
            owner = make_engine(inst.owner_url, app_role=None)
            result["person_history"] = measure_person_history(vault, world, backend)
            result["break_glass"] = measure_break_glass(vault, owner, world)
            result["last_verification"] = measure_last_verification(vault, owner, world)
            owner.dispose()
            result["credentials"] = measure_credentials(vault, world)
        finally:
            vault.db.dispose()
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:,.1f} ms"


def report(result: dict[str, Any]) -> str:
    size = result["size"]
    b = result["backend"]
    rows = []
    for key, label, history in (
        ("break_glass", "break-glass check (every PHI read)", f"{size['grants']:,} past grants"),
        ("last_verification", "last verification", f"{size['events']:,} events"),
        ("credentials", "dashboard: credentials due", f"{size['credentials']:,} credentials"),
        ("person_history", "a person's access history", f"{size['events']:,} events"),
    ):
        m = result[key]
        before = m.get("before")
        rows.append(
            [
                b,
                label,
                history,
                _ms(before) if before is not None else "n/a",
                _ms(m["after"]),
                f"{before / m['after']:,.0f}x" if before is not None else "",
            ]
        )
    lines = [
        f"## {b}: history built in {result['built_s']:.0f} s",
        "",
        common.table(["backend", "lookup", "history", "before", "after", "before/after"], rows),
        "",
    ]
    c = result["credentials"]
    lines.append(
        f"credentials: {c['due']:,} due of which {c['lapsed']:,} lapsed; one-off slot build"
        f" {_ms(c['build'])}; adding a credential {_ms(c['write'])}, of which refreshing the"
        f" caregiver's slots {_ms(c['refresh'])}"
    )
    p = result["person_history"]
    if "optimize_stale" in p:
        lines.append(
            f"sqlite statistics: optimize with a stale audit table {_ms(p['optimize_stale'])},"
            f" with nothing stale {_ms(p['optimize_fresh'])}"
        )
    for key in ("break_glass", "last_verification", "person_history"):
        lines.append(f"plan, {key}: {result[key]['plan']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    results = []
    for backend in common.backends(args.backend):
        result = run(backend, args.size)
        print(report(result), flush=True)
        print()
        results.append(result)
    return results


if __name__ == "__main__":
    main()
