"""Engines and transactions for SQLite (embedded) and PostgreSQL (production).

Every unit of work runs in a :class:`Scope`. On PostgreSQL the scope is written into
transaction-local settings that the row-level security policies read, so a query that forgot
its tenant filter still cannot see another tenant's rows (I-5).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

SYSTEM_TENANT = uuid.UUID(int=0)
# Execution option marking a connection whose transaction only reads (see Database.snapshot).
READ_ONLY = "phivault_read_only"


@dataclass(frozen=True)
class Scope:
    """Which rows a transaction may touch: one tenant's, or (CLI maintenance) all."""

    tenant_id: uuid.UUID | None
    system: bool = False

    @classmethod
    def tenant(cls, tenant_id: uuid.UUID) -> Scope:
        return cls(tenant_id=tenant_id)

    @classmethod
    def everything(cls) -> Scope:
        return cls(tenant_id=None, system=True)

    @classmethod
    def platform(cls) -> Scope:
        """Tenant-less work (accounts, tokens) that must not see any tenant's PHI."""
        return cls(tenant_id=SYSTEM_TENANT)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Every guarded transaction appends to the audit log, so it is a write transaction;
        # taking the write lock up front avoids SQLITE_BUSY on lock upgrade. A snapshot only
        # reads: a deferred BEGIN takes no lock, and under WAL it sees one consistent state
        # from its first read while writers carry on.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _configure_postgres(engine: Engine, app_role: str | None) -> None:
    if not app_role:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The application role does not own the tables, so FORCE'd RLS applies to it.
        previous = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{app_role}"')
        dbapi_connection.autocommit = previous


def make_engine(url: str, app_role: str | None = None, *, pooled: bool = True) -> Engine:
    """Create an engine with phivault's connection settings for the URL's backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if not pooled:
        kwargs = {"poolclass": NullPool}
    engine = create_engine(url, **kwargs)
    _configure_postgres(engine, app_role)
    return engine


class Database:
    """The application's handle on storage: engine plus scoped transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=True)

    @contextmanager
    def transaction(self, scope: Scope) -> Iterator[Session]:
        """One transaction; committed on success, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            self.apply_scope(session, scope)
            yield session

    @contextmanager
    def reading(self, scope: Scope) -> Iterator[Session]:
        """A short transaction that only reads (a credential check on every request): on
        SQLite a deferred BEGIN, which takes no write lock, so reads do not queue behind
        writers; on PostgreSQL an ordinary transaction (readers never wait there)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with Session(bind=conn, autoflush=False) as session, session.begin():
                self.apply_scope(session, scope)
                yield session

    @contextmanager
    def snapshot(self, scope: Scope) -> Iterator[Session]:
        """A read-only transaction over one consistent state of the database that never holds
        the write lock, for long reads (a chain verification) that must not stop the vault.

        SQLite: a deferred transaction under WAL. PostgreSQL: REPEATABLE READ, READ ONLY, so
        every statement sees the same snapshot and the server refuses any write."""
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with Session(bind=conn, autoflush=False) as session, session.begin():
                if self.is_postgres:
                    # Must be the transaction's first statement.
                    session.execute(
                        text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    )
                self.apply_scope(session, scope)
                yield session

    def apply_scope(self, session: Session, scope: Scope) -> None:
        if not self.is_postgres:
            return
        tenant = str(scope.tenant_id) if scope.tenant_id else ""
        session.execute(
            text(
                "SELECT set_config('app.tenant_id', :tenant, true),"
                " set_config('app.scope', :mode, true)"
            ),
            {"tenant": tenant, "mode": "system" if scope.system else "tenant"},
        )

    def new_session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()
