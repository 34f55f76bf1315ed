"""Throwaway PostgreSQL databases for tests (created from a template, dropped afterwards)."""

from __future__ import annotations

import os
import uuid

import psycopg

ADMIN_URL = os.environ.get(
    "PHIVAULT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def url_for(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def create_database(template: str | None = None) -> str:
    name = f"phivault_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        suffix = f" TEMPLATE {template}" if template else ""
        conn.execute(f"CREATE DATABASE {name}{suffix}")
        # A throwaway database need not wait for each commit to reach the disk: a crash
        # loses at most the last commits, never consistency. PostgreSQL still runs every
        # statement, trigger and row-level policy the same way.
        conn.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# A fingerprint of everything a test could change besides rows: tables, columns, triggers and
# whether they fire, row-level security, policies, grants and functions. A database whose
# fingerprint moved is dropped rather than reset.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, '|' ORDER BY item), '')) FROM (
  SELECT 'c:' || c.relname || ':' || c.relkind::text || ':' || c.relrowsecurity::text
         || c.relforcerowsecurity::text || ':' || coalesce(array_to_string(c.relacl, ','), '')
         || ':' || pg_get_userbyid(c.relowner) AS item
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
  UNION ALL
  SELECT 'a:' || a.attrelid::regclass::text || ':' || a.attname || ':' || a.atttypid::text
         || ':' || a.attnotnull::text
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 't:' || tgrelid::regclass::text || ':' || tgname || ':' || tgenabled::text
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT 'p:' || polrelid::regclass::text || ':' || polname || ':'
         || coalesce(pg_get_expr(polqual, polrelid), '') || ':'
         || coalesce(pg_get_expr(polwithcheck, polrelid), '')
    FROM pg_policy
  UNION ALL
  SELECT 'f:' || p.proname || ':' || md5(p.prosrc)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
) AS items
"""


class Snapshot:
    """The rows of a template database, kept in memory, to put a used copy back as it was."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.tables: dict[str, bytes] = {}
        self.sequences: list[tuple[str, int, bool]] = []
        with psycopg.connect(url_for(template)) as conn:
            self.fingerprint = _fingerprint(conn)
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
            ]
            for name in names:
                with conn.cursor().copy(f'COPY "{name}" TO STDOUT WITH (FORMAT binary)') as copy:
                    self.tables[name] = b"".join(bytes(chunk) for chunk in copy)
            for seq, last, called in conn.execute(
                "SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences"
                " WHERE schemaname = 'public'"
            ):
                self.sequences.append((seq, int(last or 1), bool(called)))

    def restore(self, database: str) -> bool:
        """Put the rows back as they were in the template. False when the database cannot be
        trusted any more (its schema changed, or the reset failed): drop it then."""
        try:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                # A test may leave connections behind (a thread, a raw cursor): end them.
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
            with psycopg.connect(url_for(database)) as conn:
                if _fingerprint(conn) != self.fingerprint:
                    return False
                # Skip the append-only triggers and foreign-key checks, as an owner restoring a
                # backup would; the rows put back are the template's own.
                conn.execute("SET session_replication_role = replica")
                # DELETE, not TRUNCATE: on these small tables it is ten times faster (TRUNCATE
                # makes and syncs a new file per table).
                for name in self.tables:
                    conn.execute(f'DELETE FROM "{name}"')
                for name, data in self.tables.items():
                    if len(data) <= 21:  # binary COPY header and trailer only: no rows
                        continue
                    with conn.cursor().copy(
                        f'COPY "{name}" FROM STDIN WITH (FORMAT binary)'
                    ) as copy:
                        copy.write(data)
                for seq, last, called in self.sequences:
                    conn.execute("SELECT setval(%s, %s, %s)", (seq, last, called))
                conn.commit()
            return True
        except psycopg.Error:
            return False


def _fingerprint(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    row = conn.execute(_FINGERPRINT).fetchone()
    assert row is not None
    return str(row[0])


class DatabasePool:
    """Copies of one template database, reused test after test in this process.

    Creating a database from a template and dropping it costs about 60 ms on an idle machine
    and much more on a busy one (it writes and syncs files); putting the rows of a used copy
    back costs about 38 ms (bench/test_databases.py). A copy whose schema a test changed is
    dropped instead.
    """

    def __init__(self, template: str) -> None:
        self.snapshot = Snapshot(template)
        self.idle: list[str] = []
        self.every: list[str] = []

    def take(self) -> str:
        if self.idle:
            return self.idle.pop()
        name = create_database(self.snapshot.template)
        self.every.append(name)
        return name

    def give_back(self, name: str) -> None:
        if self.snapshot.restore(name):
            self.idle.append(name)
        else:
            self.every.remove(name)
            drop_database(name)

    def close(self) -> None:
        for name in self.every:
            drop_database(name)
        self.every.clear()
        self.idle.clear()
