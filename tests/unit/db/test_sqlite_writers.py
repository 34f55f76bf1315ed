"""SQLite writers of one process queue for their turn instead of polling the write lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from phivault.db import engine as engine_module
from phivault.db.engine import Database, Scope, make_engine


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}"))
    with database.transaction(Scope.everything()) as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    return database


def test_a_waiting_writer_starts_the_moment_the_holder_commits(db) -> None:
    held, released, started = threading.Event(), [0.0], [0.0]

    def holder() -> None:
        with db.transaction(Scope.everything()) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            held.set()
            time.sleep(0.35)
            released[0] = time.monotonic()

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    with db.transaction(Scope.everything()) as session:
        session.execute(text("INSERT INTO t VALUES (2)"))  # BEGIN IMMEDIATE is sent here
        started[0] = time.monotonic()
    thread.join()
    # SQLite's own busy handler would have the waiter sleeping in growing steps (up to
    # 100 ms each: here it would wake about 80 ms late); queued, it goes at once.
    assert 0 <= started[0] - released[0] < 0.03
    with db.transaction(Scope.everything()) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 2


@contextmanager
def another_thread_writing(db: Database) -> Iterator[None]:
    """Another thread holds a write transaction (one uncommitted row) while the body runs."""
    held, done = threading.Event(), threading.Event()

    def holder() -> None:
        with db.transaction(Scope.everything()) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            held.set()
            done.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_a_writer_that_waits_too_long_fails_like_a_locked_database(db, monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 100)
    with (
        another_thread_writing(db),
        pytest.raises(OperationalError, match="database is locked"),
        db.transaction(Scope.everything()),
    ):
        pass


def test_readers_do_not_queue_behind_a_writer(db) -> None:
    """Read transactions and snapshots (a token check, a chain verification) take no turn."""
    with another_thread_writing(db):
        start = time.monotonic()
        with db.reading(Scope.everything()) as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        with db.snapshot(Scope.everything()) as snapshot:
            assert snapshot.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        assert time.monotonic() - start < 0.5
