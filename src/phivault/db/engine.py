"""Engines and transactions for SQLite (embedded) and PostgreSQL (production).

Every unit of work runs in a :class:`Scope`. On PostgreSQL the scope is written into
transaction-local settings that the row-level security policies read, so a query that forgot
its tenant filter still cannot see another tenant's rows (I-5).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

SYSTEM_TENANT = uuid.UUID(int=0)
# Execution option marking a connection whose transaction only reads (see Database.snapshot).
READ_ONLY = "phivault_read_only"

# SQLite's planner knows nothing of a table's contents until ANALYZE has written its
# statistics (sqlite_stat1); without them it prefers the primary key for "newest first" and
# walks a tenant's whole audit log for a person's access history instead of using
# ix_audit_person. A table is analyzed when it has rows and no statistics, or has grown or
# shrunk this many times since its last analysis (the rule of SQLite's own PRAGMA optimize).
STALE_FACTOR = 10
# Pooled connections of a long-running server check for stale statistics when returned to
# the pool, at most this often.
OPTIMIZE_EVERY_S = 3600.0
_OPTIMIZED_AT = "phivault_optimized_at"
# How long a writer waits for SQLite's write lock before the transaction fails (503).
BUSY_TIMEOUT_MS = 15000
# A pooled PostgreSQL connection unused for this long is pinged before its next use.
PING_AFTER_IDLE_S = 10.0
_RETURNED_AT = "phivault_returned_at"


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


def driver_execute(conn: Connection, statement: str, params: Any = None) -> None:
    """Run one statement on the connection's driver cursor, without SQLAlchemy's execution
    machinery (statement compilation, execution context, events: most of the cost of a
    short statement). For the fixed statements every transaction runs; driver errors
    surface as SQLAlchemy's ``DBAPIError``, as through ``Connection.execute``."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    error = conn.dialect.loaded_dbapi.Error
    cursor = raw.cursor()
    try:
        if params is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, params)
    except error as exc:
        raise DBAPIError.instance(statement, params, exc, error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def _stale_tables(cursor: Any) -> list[str]:
    """Tables whose statistics are missing or stale. Cheap: one max(rowid) per table (a walk
    down one b-tree), no count."""
    tables = [
        name
        for (name,) in cursor.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    analyzed: dict[str, int] = {}
    if cursor.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
        for table, stat in cursor.execute("SELECT tbl, stat FROM sqlite_stat1"):
            rows = int(str(stat).split()[0])
            analyzed[table] = max(rows, analyzed.get(table, 0))
    stale = []
    for table in tables:
        try:
            (rows,) = cursor.execute(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()  # noqa: S608 (names from sqlite_schema)
        except sqlite3.OperationalError:
            continue  # a WITHOUT ROWID table (phivault has none): left to the operator
        known = analyzed.get(table)
        if rows and (known is None or not known / STALE_FACTOR <= rows <= known * STALE_FACTOR):
            stale.append(table)
    return stale


def sqlite_optimize(dbapi_connection: Any) -> list[str]:
    """Refresh SQLite's planner statistics where they are missing or stale; returns the
    tables analyzed. Must run outside a transaction.

    Not ``PRAGMA optimize``: before SQLite 3.46 it only considers the tables the connection
    itself has queried (none, on a fresh connection), and its sampled ANALYZE
    (``analysis_limit``) reads the first rows of each index, which in a multi-tenant table
    are one tenant's: the estimates it gave sent the person history back to the primary key.
    A full ANALYZE of a stale table reads it once (docs/performance.md has the cost)."""
    cursor = dbapi_connection.cursor()
    try:
        stale = _stale_tables(cursor)
        for table in stale:
            cursor.execute(f'ANALYZE "{table}"')
        return stale
    finally:
        cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Every guarded transaction appends to the audit log, so it is a write transaction;
        # taking the write lock up front avoids SQLITE_BUSY on lock upgrade. A snapshot only
        # reads: a deferred BEGIN takes no lock, and under WAL it sees one consistent state
        # from its first read while writers carry on.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        # Straight on the driver: every transaction pays this, and SQLAlchemy's execution
        # machinery (exec_driver_sql) costs more than the statement itself.
        driver_execute(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # A long-running server keeps its connections and may not be reopened for months:
        # look for stale statistics now and then, as SQLite recommends for such connections.
        if dbapi_connection is None or record is None:
            return
        now = time.monotonic()
        last = record.info.setdefault(_OPTIMIZED_AT, now)
        if now - last >= OPTIMIZE_EVERY_S:
            record.info[_OPTIMIZED_AT] = now
            # Only statistics: a busy database is left for the next time.
            with suppress(sqlite3.Error):
                sqlite_optimize(dbapi_connection)


def _configure_postgres(engine: Engine, app_role: str | None) -> None:
    _ping_when_idle(engine)
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


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it may have gone stale: it is known
    broken, or it sat unused in the pool for PING_AFTER_IDLE_S (a server restart or a
    firewall's idle cut happened while nobody used it). SQLAlchemy's ``pool_pre_ping``
    would send a round trip on every checkout, one more on every request of a busy server;
    a connection that breaks between two close uses fails that one transaction (503) and
    SQLAlchemy then replaces the whole pool (docs/operations.md)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("connection closed")
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return  # new, or in use a moment ago
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: let the pool take a fresh connection
            raise DisconnectionError("stale connection") from exc


def make_engine(url: str, app_role: str | None = None, *, pooled: bool = True) -> Engine:
    """Create an engine with phivault's connection settings for the URL's backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {}
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
        # SQLite has one writer at a time. Its busy handler makes a waiting writer sleep and
        # retry (1, 2, 5, 10 ms...), so under concurrent requests the lock often sits free
        # while the next writer sleeps; this process's writers instead queue here, and each
        # takes the lock the moment the previous one lets go. Reentrant, so that a thread
        # behaves as it would without it; other processes still meet SQLite's busy handler.
        self._writers = None if self.is_postgres else threading.RLock()

    @contextmanager
    def transaction(self, scope: Scope) -> Iterator[Session]:
        """One transaction; committed on success, rolled back on any exception."""
        with self._write_turn(), self._sessions() as session, session.begin():
            self.apply_scope(session, scope)
            yield session

    @contextmanager
    def _write_turn(self) -> Iterator[None]:
        """SQLite: this process's turn to write (see ``__init__``); PostgreSQL: nothing."""
        writers = self._writers
        if writers is None:
            yield
            return
        if not writers.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        try:
            yield
        finally:
            writers.release()

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
        # On the driver (see driver_execute): every transaction starts with it.
        driver_execute(
            session.connection(),
            "SELECT set_config('app.tenant_id', %s, true), set_config('app.scope', %s, true)",
            (tenant, "system" if scope.system else "tenant"),
        )

    def optimize(self) -> None:
        """SQLite: bring the planner's statistics up to date where they are missing or stale
        (``sqlite_optimize``); the vault calls it when it opens. PostgreSQL's autovacuum keeps
        its own statistics."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            sqlite_optimize(conn.connection.dbapi_connection)

    def new_session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()
