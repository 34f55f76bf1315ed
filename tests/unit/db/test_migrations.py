"""Migrations apply on top of existing data, and down and up again, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from phivault.db import migrate
from phivault.db.engine import make_engine
from tests.support import pg


@pytest.fixture
def empty_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    database = pg.create_database() if backend == "postgres" else None
    url = pg.url_for(database) if database else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    engine = make_engine(url, app_role=None, pooled=False)
    yield engine
    engine.dispose()
    if database:
        pg.drop_database(database)


def _seed_0001(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    tenant, member = uuid.uuid4(), uuid.uuid4()
    hexed = engine.dialect.name == "sqlite"
    t, m = (tenant.hex, member.hex) if hexed else (tenant, member)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenants (id, name, slug, status, created_at)"
                " VALUES (:t, 'Old Agency', 'old', 'active', CURRENT_TIMESTAMP)"
            ),
            {"t": t},
        )
        conn.execute(
            text(
                "INSERT INTO members (id, username, display_name, status, is_platform_admin,"
                " created_at) VALUES (:m, 'old.user', 'Old User', 'active', false,"
                " CURRENT_TIMESTAMP)"
            ),
            {"m": m},
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (id, member_id, secret_hash, label, created_at)"
                " VALUES (:i, :m, :h, 'old', CURRENT_TIMESTAMP)"
            ),
            {"i": uuid.uuid4().hex if hexed else uuid.uuid4(), "m": m, "h": b"x" * 32},
        )
    return tenant, member


def test_upgrade_keeps_existing_rows_and_adds_defaults(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0001")
    _seed_0001(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.current(empty_engine) == migrate_head()
    with empty_engine.connect() as conn:
        settings = conn.execute(
            text("SELECT password_profile, idle_timeout_minutes, mfa_required FROM tenant_settings")
        ).all()
        scopes = conn.execute(text("SELECT scopes, label FROM api_tokens")).all()
        members = conn.execute(text("SELECT username FROM members")).scalars().all()
    assert [tuple(r) for r in settings] == [("nist", 10, True)]
    assert [tuple(r) for r in scopes] == [("*", "old")]
    assert members == ["old.user"]


def test_emergency_access_migration_gives_existing_tenants_safe_break_glass_bounds(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0001")
    _seed_0001(empty_engine)
    migrate.upgrade(empty_engine, "0002")  # gives the tenant its settings row
    migrate.upgrade(empty_engine, "0007")
    with empty_engine.connect() as conn:
        bounds = conn.execute(
            text("SELECT break_glass_per_shift, break_glass_max_minutes FROM tenant_settings")
        ).all()
        notices = conn.execute(text("SELECT count(*) FROM notifications")).scalar()
    assert [tuple(r) for r in bounds] == [(3, 60)]
    assert notices == 0


def test_audit_hours_migration_counts_the_existing_trail(empty_engine: Engine) -> None:
    """0015 counts every tenant's existing events per UTC hour: allowed, refused, emergency
    access, and the hour's first and last seq (here with a late entry, earlier in time than
    the one before it)."""
    migrate.upgrade(empty_engine, "0014")
    hour = 3_600_000_000
    base = 490_000 * hour  # an hour boundary (2025-11-24 16:00 UTC)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    trail = [  # tenant, seq, time, outcome, break glass
        (a, 1, base - 1, "allowed", 0),
        (a, 2, base, "refused", 0),
        (a, 3, base + 5, "allowed", 1),
        (a, 4, base + hour + 1, "allowed", 0),
        (a, 5, base + 7, "allowed", 0),  # late: back in the hour before
        (b, 1, base + 3, "allowed", 0),
    ]
    columns = "tenant_id, seq, event_id, occurred_us, action, outcome, break_glass, prev_hash, hash"
    with empty_engine.begin() as conn:
        for tenant, seq, at, outcome, glass in trail:
            conn.execute(
                text(
                    f"INSERT INTO audit_events ({columns}, actor_id, session_id, resource_type,"
                    " resource_id, person_id, purpose, reason, fields, source, request_id, ref)"
                    " VALUES (:t, :s, :e, :at, 'person.read', :o, :g, :h, :h,"
                    " '', '', '', '', '', '', '', '', '', '', '')"
                ),
                {
                    "t": tenant,
                    "s": seq,
                    "e": str(uuid.uuid4()),
                    "at": at,
                    "o": outcome,
                    "g": glass,
                    "h": "0" * 64,
                },
            )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT tenant_id, hour, allowed, refused, break_glass, first_seq, last_seq"
                " FROM audit_hours ORDER BY tenant_id, hour"
            )
        ).all()
    h = base // hour
    expected = {
        (a, h - 1, 1, 0, 0, 1, 1),
        (a, h, 2, 1, 1, 2, 5),
        (a, h + 1, 1, 0, 0, 4, 4),
        (b, h, 1, 0, 0, 1, 1),
    }
    assert {tuple(r) for r in rows} == expected


def test_downgrade_and_upgrade_round_trip(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    from alembic import command

    cfg = migrate.alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert migrate.current(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current(empty_engine) == migrate_head()


def migrate_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None
    return head
