"""Direct database access that bypasses phivault, as an attacker with database access would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from tests.support import pg


@contextmanager
def raw_sql(env: Any) -> Iterator[Any]:
    """A DB-API cursor on the test database, as its owner, with triggers disabled on PG."""
    if env.database:
        with psycopg.connect(pg.url_for(env.database), autocommit=False) as conn:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")  # attacker skips triggers
                yield _Cursor(cur, "%s")
            conn.commit()
    else:
        conn = sqlite3.connect(env.settings.sqlite_path)
        try:
            yield _Cursor(conn.cursor(), "?")
            conn.commit()
        finally:
            conn.close()


class _Cursor:
    def __init__(self, cur: Any, mark: str) -> None:
        self._cur = cur
        self._mark = mark

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(sql.replace("?", self._mark), params)
        try:
            return list(self._cur.fetchall())
        except (psycopg.ProgrammingError, sqlite3.ProgrammingError):
            return []
