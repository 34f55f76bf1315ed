"""Schema invariants (I-5) and PostgreSQL row-level security."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.db.models import PLATFORM_TABLES, Base

GLOBAL_TABLES = PLATFORM_TABLES


def test_every_tenant_table_key_starts_with_tenant_id() -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in GLOBAL_TABLES:
            assert "tenant_id" not in table.primary_key.columns, table.name
            continue
        first = table.primary_key.columns.values()[0].name
        assert first == "tenant_id", f"{table.name}: primary key starts with {first}"


def test_schema_matches_models_after_migration(env) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with env.vault.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def _count(env, scope: Scope, table: str) -> int:
    with env.vault.db.transaction(scope) as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_rls_shows_only_the_transactions_tenant(pg_env) -> None:
    w = pg_env.world
    assert _count(pg_env, Scope.tenant(w.tenant_a), "people") == 2
    assert _count(pg_env, Scope.tenant(w.tenant_b), "people") == 1
    assert _count(pg_env, Scope.platform(), "people") == 0
    assert _count(pg_env, Scope.tenant(uuid.uuid4()), "records") == 0
    assert _count(pg_env, Scope.everything(), "people") == 3


def test_rls_refuses_writing_into_another_tenant(pg_env) -> None:
    w = pg_env.world
    with pg_env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session:
        moved = session.execute(
            text("UPDATE people SET kind = 'patient' WHERE tenant_id = :b"), {"b": w.tenant_b}
        )
        assert moved.rowcount == 0  # tenant B's rows are invisible, so nothing matches
    with (
        pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"),
        pg_env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session,
    ):
        session.execute(
            text(
                "INSERT INTO access_reasons (tenant_id, id, member_id, reason_ct, created_at)"
                " VALUES (:b, :id, :m, :ct, now())"
            ),
            {"b": w.tenant_b, "id": uuid.uuid4(), "m": w["officer"].member_id, "ct": b"x"},
        )


def test_application_role_is_not_the_owner_and_rls_is_forced(pg_env) -> None:
    with pg_env.vault.db.transaction(Scope.platform()) as session:
        me = session.execute(text("SELECT current_user")).scalar_one()
        rows = session.execute(
            text(
                "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'"
            )
        ).all()
        bypass = session.execute(
            text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar_one()
    assert me == "phivault_app"
    assert not bypass
    for name, owner, enabled, forced in rows:
        assert owner != me, name
        if name not in GLOBAL_TABLES - {"tenants"}:
            assert enabled and forced, f"{name} lacks forced row-level security"


def test_system_chain_is_invisible_to_tenants(pg_env) -> None:
    assert _count(pg_env, Scope.tenant(pg_env.world.tenant_a), "audit_heads") == 1
    with pg_env.vault.db.transaction(Scope.tenant(pg_env.world.tenant_a)) as session:
        tenants = session.execute(text("SELECT tenant_id FROM audit_events")).scalars().all()
    assert set(tenants) == {str(pg_env.world.tenant_a)}
    assert str(SYSTEM_TENANT) not in tenants
