"""The PostgreSQL connection pool pings a connection only when it may have gone stale."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from phivault.db import engine as engine_module
from phivault.db.engine import make_engine
from tests.conftest import require_postgres
from tests.support import pg


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    require_postgres()
    name = pg.create_database()
    engine = make_engine(pg.url_for(name))
    try:
        yield engine
    finally:
        engine.dispose()
        pg.drop_database(name)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _statements_on_checkout(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    original = psycopg.Cursor.execute

    def spy(self, query, params=None, **kw):  # type: ignore[no-untyped-def]
        sent.append(str(query))
        return original(self, query, params, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    with engine.connect():
        pass
    return sent


def test_a_connection_in_use_a_moment_ago_is_not_pinged(pg_engine, monkeypatch) -> None:
    _backend_pid(pg_engine)
    assert _statements_on_checkout(pg_engine, monkeypatch) == []


def test_an_idle_connection_is_pinged_first(pg_engine, monkeypatch) -> None:
    _backend_pid(pg_engine)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    assert _statements_on_checkout(pg_engine, monkeypatch) == ["SELECT 1"]


def test_an_idle_connection_the_server_closed_is_replaced(pg_engine, monkeypatch) -> None:
    before = _backend_pid(pg_engine)
    with psycopg.connect(pg.ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (before,))
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    after = _backend_pid(pg_engine)  # no error: the pool noticed and reconnected
    assert after != before
