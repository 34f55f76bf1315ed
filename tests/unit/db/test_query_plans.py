"""Issue 9 §3, no hidden O(n) on hot paths: each lookup below runs on every PHI read or every
audit page, and each must be an index lookup however long the history grows. The plans are
read from the database itself (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN) after filling
the tables with enough rows, and statistics, that the planner chooses for real."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from phivault.access.guard import _BREAK_GLASS
from phivault.access.models import BreakGlassGrant
from phivault.audit import hours
from phivault.audit.models import AuditEvent, AuditHour
from phivault.audit.service import _LAST_VERIFICATION, EventFilter, _filtered
from phivault.clock import from_micros
from phivault.db import engine as db_engine
from phivault.db import migrate
from phivault.db.engine import Database, Scope, make_engine
from phivault.db.explain import explain
from phivault.identity.service import _TOKEN_HERE
from phivault.identity.standing import _STANDING
from phivault.records.service import _RECORD_AND_PERSON

PAST_GRANTS = 3_000
EVENTS = 20_000
PEOPLE = 400


def _analyze(env, conn: Connection) -> None:
    """What keeps statistics in production: the vault's optimize on SQLite (the test reopens
    the vault for that), autovacuum's ANALYZE on PostgreSQL (run here, not waited for)."""
    if env.backend == "postgres":
        conn.exec_driver_sql("ANALYZE")


def _fill_break_glass(env) -> None:
    world, now = env.world, env.clock()
    members = [p.member_id for p in world.personas.values()]
    rows = []
    for i in range(PAST_GRANTS):
        started = now - timedelta(hours=2 + i)
        rows.append(
            {
                "tenant_id": world.tenant_a,
                "id": uuid.uuid4(),
                "member_id": members[i % len(members)],
                "person_id": (world.patient, world.caregiver)[i % 2],
                "reason_ct": b"\x00" * 40,  # never read: only the plan matters here
                "started_at": started,
                "expires_at": started + timedelta(minutes=60),
                "ended_at": None if i % 3 else started + timedelta(minutes=20),
                "review_status": "reviewed",
            }
        )
    with env.vault.db.transaction(Scope.tenant(world.tenant_a)) as session:
        session.execute(BreakGlassGrant.__table__.insert(), rows)
        _analyze(env, session.connection())


def _events(tenant: str, start_seq: int, count: int) -> list[dict[str, object]]:
    rng = random.Random(9)
    actions = ("record.read", "person.read", "record.list", "audit.query")
    return [
        {
            "tenant_id": tenant,
            "seq": seq,
            "event_id": str(uuid.uuid4()),
            "occurred_us": 1_700_000_000_000_000 + seq * 1_000_000,
            "actor_id": str(uuid.UUID(int=rng.randrange(50))),
            "session_id": "",
            "action": rng.choice(actions),
            "resource_type": "record",
            "resource_id": "",
            "person_id": str(uuid.UUID(int=rng.randrange(PEOPLE) + 1)),
            "purpose": "treatment",
            "outcome": "allowed",
            "reason": "",
            "break_glass": 0,
            "fields": "",
            "source": "test",
            "request_id": "",
            "ref": "",
            "prev_hash": "0" * 64,  # not a valid chain: only the plan matters here
            "hash": "0" * 64,
        }
        for seq in range(start_seq, start_seq + count)
    ]


def _fill_audit(env) -> None:
    tenant = str(env.world.tenant_a)
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        last = session.scalar(
            text("SELECT max(seq) FROM audit_events WHERE tenant_id = :t"), {"t": tenant}
        )
        session.execute(AuditEvent.__table__.insert(), _events(tenant, int(last) + 1, EVENTS))
        hours.recount(session, tenant)  # what appends keep; these rows were not appended
        _analyze(env, session.connection())


def _plan_in_tenant(env, statement, params) -> str:
    vault = env.reopen()  # opening the vault is when SQLite's statistics are refreshed
    try:
        with vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
            return explain(session.connection(), statement, params)
    finally:
        vault.db.dispose()


def _assert_uses(plan: str, index: str) -> None:
    assert index in plan, plan
    assert "SCAN audit_events" not in plan and "Seq Scan" not in plan, plan


def test_break_glass_check_uses_its_index(env) -> None:
    _fill_break_glass(env)
    world = env.world
    plan = _plan_in_tenant(
        env,
        _BREAK_GLASS,
        {
            "tenant": world.tenant_a,
            "bg_member": world["clinician"].member_id,
            "person": world.patient,
            "bg_now": env.clock(),
        },
    )
    _assert_uses(plan, "ix_break_glass_active")
    assert "SCAN break_glass" not in plan, plan
    # The newest expiry comes straight from the index, no sort of the member's history.
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_a_record_load_carries_the_break_glass_lookup_on_its_index(env) -> None:
    """The record read's one statement (record, person's voided mark, the member's open
    grant for that person) reads the record and the person by key and the grant on its
    index: nothing in it grows with the agency's break-glass history."""
    _fill_break_glass(env)
    world = env.world
    plan = _plan_in_tenant(
        env,
        _RECORD_AND_PERSON,
        {
            "tenant": world.tenant_a,
            "record": world.records["note"],
            "bg_member": world["clinician"].member_id,
            "bg_now": env.clock(),
        },
    )
    _assert_uses(plan, "ix_break_glass_active")
    assert "SCAN break_glass" not in plan and "SCAN records" not in plan, plan
    assert "SCAN people" not in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_the_token_check_reads_the_standing_by_keys(env) -> None:
    """An API request's one identity statement (the token, its member, and the member's grant,
    role and settings in the unit's tenant) looks every row up by key: nothing in it grows
    with the number of tokens, members or grants."""
    world = env.world
    plan = _plan_in_tenant(
        env, _TOKEN_HERE, {"secret_hash": b"\x00" * 32, "tenant": world.tenant_a}
    )
    tables = ("api_tokens", "members", "tenant_grants", "positions", "role_categories")
    for table in (*tables, "tenant_settings"):
        assert f"SCAN {table}" not in plan and f"Seq Scan on {table}" not in plan, plan


def test_the_guards_own_standing_read_is_by_keys(env) -> None:
    """The standing a unit reads when no token check brought it: the same joins, by key."""
    world = env.world
    params = {"member": world["clinician"].member_id, "tenant": world.tenant_a}
    plan = _plan_in_tenant(env, _STANDING, params)
    for table in ("members", "tenant_grants", "positions", "role_categories", "tenant_settings"):
        assert f"SCAN {table}" not in plan and f"Seq Scan on {table}" not in plan, plan


def test_last_verification_uses_the_action_index(env) -> None:
    _fill_audit(env)
    plan = _plan_in_tenant(env, _LAST_VERIFICATION, {"tenant": str(env.world.tenant_a)})
    _assert_uses(plan, "ix_audit_action")
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_person_history_uses_its_index(env) -> None:
    _fill_audit(env)

    class _TenantOnly:  # _filtered reads nothing of the unit but its tenant
        tenant_id = env.world.tenant_a

    person = uuid.UUID(int=7)
    query = _filtered(_TenantOnly(), EventFilter(person_id=person)).limit(100)  # type: ignore[arg-type]
    plan = _plan_in_tenant(env, query, None)
    _assert_uses(plan, "ix_audit_person")
    assert "pk_audit_events" not in plan and "autoindex" not in plan, plan


def test_sqlite_person_history_needs_statistics_and_gets_them_on_open(tmp_path: Path) -> None:
    """On a freshly migrated SQLite database filled afterwards, the planner has no statistics
    and walks the tenant's whole log backwards through the primary key; the optimize that
    opening a vault runs makes it use ix_audit_person."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        migrate.upgrade(engine)
        tenant = str(uuid.uuid4())
        with engine.begin() as conn:
            conn.execute(AuditEvent.__table__.insert(), _events(tenant, 1, EVENTS))

        class _TenantOnly:
            tenant_id = tenant

        query = _filtered(_TenantOnly(), EventFilter(person_id=uuid.UUID(int=7))).limit(100)  # type: ignore[arg-type]
        with engine.connect() as conn:
            before = explain(conn, query)
        Database(engine).optimize()
        with engine.connect() as conn:
            after = explain(conn, query)
    finally:
        engine.dispose()
    assert "ix_audit_person" not in before  # the reason this exists; SQLite may improve
    _assert_uses(after, "ix_audit_person")


def test_sqlite_pooled_connections_refresh_statistics_now_and_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running server keeps its connections; returned to the pool, one looks for
    stale statistics at most every OPTIMIZE_EVERY_S."""
    monkeypatch.setattr(db_engine, "OPTIMIZE_EVERY_S", 0.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'served.sqlite3'}")
    try:
        migrate.upgrade(engine)
        tenant = str(uuid.uuid4())
        with engine.begin() as conn:
            conn.execute(AuditEvent.__table__.insert(), _events(tenant, 1, EVENTS))
        with engine.connect() as conn:  # any use, then back to the pool
            conn.exec_driver_sql("SELECT 1").all()
        with engine.connect() as conn:
            stats = (
                conn.exec_driver_sql("SELECT idx FROM sqlite_stat1 WHERE tbl = 'audit_events'")
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert "ix_audit_person" in stats


def _fill_people(env, count: int) -> None:
    """``count`` patients of agency A, added a minute apart (the ciphertexts are never read:
    only the plan matters here)."""
    from phivault.records.models import Person

    start = env.clock() - timedelta(days=60)
    rows = [
        {
            "tenant_id": env.world.tenant_a,
            "id": uuid.uuid4(),
            "kind": "patient",
            "given_name_ct": b"\x00" * 40,
            "family_name_ct": b"\x00" * 40,
            "date_of_birth_ct": b"\x00" * 40,
            "bidx_name_dob": uuid.uuid4().bytes * 2,
            "created_at": start + timedelta(minutes=i),
            "updated_at": start + timedelta(minutes=i),
        }
        for i in range(count)
    ]
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        session.execute(Person.__table__.insert(), rows)
        _analyze(env, session.connection())


@pytest.mark.parametrize("direction", ["first", "after", "before"])
def test_every_page_of_the_people_list_is_one_range_of_its_index(env, direction) -> None:
    """The last page of a large agency is found like the first: no sort of its people, no
    scan (keyset paging on ix_people_list)."""
    from phivault.records.service import PersonCursor, people_query

    _fill_people(env, 5_000)
    cursor = PersonCursor(1_700_000_000_000_000, uuid.UUID(int=1))
    query = people_query(
        env.world.tenant_a,
        "patient",
        after=cursor if direction == "after" else None,
        before=cursor if direction == "before" else None,
        limit=51,
    )
    plan = _plan_in_tenant(env, query, None)
    assert "ix_people_list" in plan, plan
    assert "SCAN people" not in plan and "Seq Scan" not in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_the_emergency_access_filter_uses_its_partial_index(env) -> None:
    """Among 20,000 entries, the few of emergency access are found through
    ix_audit_break_glass, newest first, without walking the log."""
    tenant = str(env.world.tenant_a)
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        last = session.scalar(
            text("SELECT max(seq) FROM audit_events WHERE tenant_id = :t"), {"t": tenant}
        )
        rows = _events(tenant, int(last) + 1, EVENTS)
        for row in rows[::997]:
            row["break_glass"] = 1
        session.execute(AuditEvent.__table__.insert(), rows)
        _analyze(env, session.connection())

    class _TenantOnly:
        tenant_id = env.world.tenant_a

    query = _filtered(_TenantOnly(), EventFilter(break_glass=True)).limit(101)  # type: ignore[arg-type]
    plan = _plan_in_tenant(env, query, None)
    _assert_uses(plan, "ix_audit_break_glass")
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def _fill_old_hours(env, count: int = 10_000) -> None:
    """``count`` hours of an older trail (about 14 months), counted as appends count them:
    enough rows that the planner reads audit_hours through its key, as it would in use."""
    tenant = str(env.world.tenant_a)
    first = 1_700_000_000_000_000 // hours.HOUR_US - count
    rows = [
        {
            "tenant_id": tenant,
            "hour": first + i,
            "allowed": 100,
            "refused": 2,
            "break_glass": 0,
            "first_seq": -1_000_000 + i * 100,  # never read: only the plan matters here
            "last_seq": -1_000_000 + i * 100 + 99,
        }
        for i in range(count)
    ]
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        session.execute(AuditHour.__table__.insert(), rows)
        _analyze(env, session.connection())


def test_the_date_filter_walks_the_primary_key_backwards_within_its_hours(env) -> None:
    """A time range's page is the primary key read backwards between the seq bounds of the
    hours the range touches (audit_hours), stopping at the page's last row: not the range
    read through ix_audit_time and sorted by seq (which grew with the trail's density)."""
    _fill_old_hours(env)
    _fill_audit(env)

    class _TenantOnly:
        tenant_id = env.world.tenant_a

    first = from_micros(1_700_000_000_000_000 + 7_000 * 1_000_000)  # inside the 20,000 s
    flt = EventFilter(since=first, until=first + timedelta(hours=1), limit=101)
    plan = _plan_in_tenant(env, _filtered(_TenantOnly(), flt).limit(101), None)  # type: ignore[arg-type]
    key = "pk_audit_events" if env.backend == "postgres" else "sqlite_autoindex_audit_events_1"
    _assert_uses(plan, key)
    assert "ix_audit_time" not in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    if env.backend == "postgres":
        assert "Index Scan Backward using pk_audit_events" in plan, plan
    # The bounds themselves: one range of audit_hours' primary key each.
    hours_key = "pk_audit_hours" if env.backend == "postgres" else "sqlite_autoindex_audit_hours_1"
    assert plan.count(hours_key) == 2, plan


def test_the_activity_panel_reads_only_its_hours(env) -> None:
    """The dashboard's 14 days are one range of audit_hours' primary key: at most 336 rows,
    whatever the trail's size; audit_events is not read at all."""
    _fill_old_hours(env)
    _fill_audit(env)
    start = 1_700_000_000_000_000 // hours.HOUR_US
    plan = _plan_in_tenant(
        env,
        hours.DAY_HOURS,
        {"tenant": str(env.world.tenant_a), "start": start, "end": start + 14 * 24},
    )
    key = "pk_audit_hours" if env.backend == "postgres" else "sqlite_autoindex_audit_hours_1"
    assert key in plan, plan
    assert "audit_events" not in plan, plan
    assert "SCAN audit_hours" not in plan and "Seq Scan" not in plan, plan
