"""The planner's plan of a statement, as text: how tests and benchmarks prove that a hot
query uses its index (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable


def explain(
    conn: Connection, statement: Executable, params: Mapping[str, Any] | None = None
) -> str:
    """The plan the database would use for ``statement`` with ``params``, one line per node.

    The statement goes through SQLAlchemy as it would when run (same SQL, same bound values,
    typed the same way), with EXPLAIN put in front at the driver, so the plan is the one the
    query really gets, not that of a hand-copied string."""
    sqlite = conn.dialect.name == "sqlite"

    def _prefix(*args: Any) -> tuple[str, Any]:
        sql, parameters = args[2], args[3]
        return ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, parameters

    event.listen(conn, "before_cursor_execute", _prefix, retval=True)
    try:
        # The raw cursor: the plan's rows do not have the statement's column types.
        rows = conn.execute(statement, dict(params or {})).cursor.fetchall()
    finally:
        event.remove(conn, "before_cursor_execute", _prefix)
    return "\n".join(str(row[-1]) for row in rows)
