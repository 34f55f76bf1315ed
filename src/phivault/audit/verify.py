"""Verification of the audit chains (AUD-2): names the first bad event of each tenant.

Speed (bench/audit_verify.py):

* the database builds each event's chained message (the fixed-order join ``chain.link``
  hashes), so Python receives four values per event instead of twenty;
* HMAC-SHA256 is computed from the key's inner and outer pad blocks hashed once (RFC 2104),
  and whole batches are checked at once (sequence numbers, links and hashes compared as
  tuples); only a batch that fails is walked event by event to name its first problem;
* the cyclic garbage collector is paused during the walk (it only allocates acyclic tuples);
* on PostgreSQL the rows stream through a server-side (binary) cursor;
* long chains are split by sequence number into segments walked in parallel processes:
  every row stores its ``prev_hash``, so a segment can be checked on its own, and the links
  between segments are checked where they meet. The last segment is always read through the
  caller's connection (it holds anything the caller's own transaction has appended);
  whenever the parallel walk finds a problem, the chain is walked again through the caller's
  connection alone, so the event named is exactly the one a single sequential walk names.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from phivault.audit.chain import CHAINED_COLUMNS, GENESIS, signer

log = logging.getLogger("phivault.audit")

_N = len(CHAINED_COLUMNS)
_BATCH = 10_000
# Chains at least this long are verified in parallel (when the platform and the database
# allow it); shorter ones are not worth starting processes for.
PARALLEL_MIN_EVENTS = 100_000
# At most this many processes (the caller's included) walk one chain.
MAX_WORKERS = 8


@dataclass(frozen=True)
class Break:
    """The first place a chain stops being trustworthy."""

    seq: int
    kind: str  # altered | missing | chain-broken | tail-cut | checkpoint-mismatch
    detail: str


@dataclass(frozen=True)
class ChainReport:
    tenant_id: str
    events: int
    last_seq: int
    last_hash: str
    problem: Break | None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Anchor:
    """A (seq, hash) pair the chain must still contain: its head, or a signed checkpoint's."""

    seq: int
    hash: str
    source: str


def _missing(expected_seq: int, seq: object) -> Break:
    return Break(
        expected_seq, "missing", f"event {expected_seq} is missing (next present is {seq})"
    )


def _broken(seq: int) -> Break:
    return Break(seq, "chain-broken", f"event {seq} does not follow event {seq - 1}")


def _altered(seq: int) -> Break:
    return Break(seq, "altered", f"event {seq} was altered (its keyed hash does not match)")


def _mac(key: bytes) -> Callable[[bytes], str]:
    """Hex HMAC-SHA256 under ``key``, the value ``chain.link`` stores: ``chain.signer``'s,
    with the key's inner and outer pad blocks hashed once and copied per event (about 2.5
    times faster than ``hmac.digest``, which sets up a new OpenSSL MAC context per call)."""
    return signer(key).mac


# -- the public walk over full rows ------------------------------------------------------------
def walk_chain(key: bytes, rows: Iterable[tuple[Any, ...]]) -> tuple[int, int, str, Break | None]:
    """Check links and HMACs. Returns (events, last seq, last hash, first problem).

    ``rows`` are the CHAINED_COLUMNS values followed by prev_hash and hash, in seq order.
    """
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    mac = _mac(key)
    n = _N
    for row in rows:
        seq = row[1]
        if seq != expected_seq:
            return count, expected_seq - 1, expected_prev, _missing(expected_seq, seq)
        prev_hash = row[n]
        if prev_hash != expected_prev:
            return count, seq - 1, expected_prev, _broken(seq)
        stored = row[n + 1]
        if mac((prev_hash + "\x1e" + "\x1f".join(map(str, row[:n]))).encode()) != stored:
            return count, seq - 1, expected_prev, _altered(seq)
        expected_prev = stored
        expected_seq = seq + 1
        count += 1
    return count, expected_seq - 1, expected_prev, None


# -- the fast walk over (seq, prev_hash, hash, message) rows -----------------------------------
def _message_sql(dialect: str) -> str:
    """SQL building prev_hash + RS + the US-joined chained columns: ``chain.link``'s message.

    Both return it as bytes, so Python neither decodes nor re-encodes it: SQLite's printf
    (one call, 2x faster than a chain of ||; its format a literal holding the separators,
    not an expression SQLite would evaluate again for every row) cast to a BLOB, and
    PostgreSQL's concat_ws converted to bytea (which a binary cursor hands over as is).
    Every column is NOT NULL, and both render integers as Python's str() does.
    """
    columns = ", ".join(CHAINED_COLUMNS)
    if dialect == "sqlite":
        fmt = "%s\x1e" + "\x1f".join(["%s"] * _N)
        return f"CAST(printf('{fmt}', prev_hash, {columns}) AS BLOB)"
    return f"convert_to(prev_hash || chr(30) || concat_ws(chr(31), {columns}), 'UTF8')"


def _select(dialect: str, lower: bool, upper: bool) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    where = f"tenant_id = {mark}"
    if lower:
        where += f" AND seq > {mark}"
    if upper:
        where += f" AND seq <= {mark}"
    return (
        f"SELECT seq, prev_hash, hash, {_message_sql(dialect)} "  # noqa: S608 - constant names
        f"FROM audit_events WHERE {where} ORDER BY seq"
    )


def _params(tenant_id: str, lower: int | None, upper: int | None) -> tuple[Any, ...]:
    return (tenant_id, *(b for b in (lower, upper) if b is not None))


def _walk(
    key: bytes | Callable[[bytes], str],
    batches: Iterable[Sequence[tuple[Any, ...]]],
    expected_seq: int,
    expected_prev: str,
) -> tuple[int, int, str, Break | None]:
    """walk_chain over (seq, prev_hash, hash, message) rows, from a given state.

    Each batch is checked as a whole first (sequence numbers, links and HMACs compared as
    tuples, with no Python code per event but the HMAC); only a batch that fails is walked
    event by event, to name its first problem exactly as walk_chain would.
    """
    mac = key if callable(key) else _mac(key)
    start = expected_seq
    for batch in batches:
        if not batch:
            continue
        seqs, prevs, hashes, messages = zip(*batch, strict=True)
        if isinstance(messages[0], str):
            messages = tuple(map(str.encode, messages))
        if (
            seqs == tuple(range(expected_seq, expected_seq + len(seqs)))
            and prevs[0] == expected_prev
            and prevs[1:] == hashes[:-1]
            and tuple(map(mac, messages)) == hashes
        ):
            expected_seq += len(seqs)
            expected_prev = hashes[-1]
            continue
        for seq, prev_hash, stored, message in zip(seqs, prevs, hashes, messages, strict=True):
            if seq != expected_seq:
                problem = _missing(expected_seq, seq)
                return expected_seq - start, expected_seq - 1, expected_prev, problem
            if prev_hash != expected_prev:
                return expected_seq - start, seq - 1, expected_prev, _broken(seq)
            if mac(message) != stored:
                return expected_seq - start, seq - 1, expected_prev, _altered(seq)
            expected_prev = stored
            expected_seq = seq + 1
    return expected_seq - start, expected_seq - 1, expected_prev, None


def _batches(cursor: Any) -> Iterator[Sequence[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def _cursor(raw: Any, dialect: str) -> Any:
    # On PostgreSQL a named (server-side) cursor streams the rows instead of holding the
    # whole result in client memory.
    if dialect == "sqlite":
        return raw.cursor()
    return raw.cursor(name=f"phivault_verify_{os.getpid()}_{id(raw):x}", binary=True)


@dataclass(frozen=True)
class _Segment:
    """A segment walked on its own: its first row is taken as given, the rest checked."""

    first_seq: Any
    first_prev: str
    first_hash: str
    first_ok: bool
    walked: tuple[int, int, str, Break | None]  # _walk over the rows after the first


def _walk_segment(key: bytes, batches: Iterator[Sequence[tuple[Any, ...]]]) -> _Segment | None:
    first_batch = next(batches, None)
    if not first_batch:
        return None
    mac = _mac(key)
    seq, prev_hash, stored, message = first_batch[0]
    ok = mac(message.encode() if isinstance(message, str) else message) == stored
    rest = _chain_batches([first_batch[1:]], batches)
    start = seq + 1 if isinstance(seq, int) else 0
    return _Segment(seq, prev_hash, stored, ok, _walk(mac, rest, start, stored))


def _chain_batches(
    *parts: Iterable[Sequence[tuple[Any, ...]]],
) -> Iterator[Sequence[tuple[Any, ...]]]:
    for part in parts:
        yield from part


def _stitch(segments: Iterable[_Segment | None]) -> tuple[int, int, str, Break | None]:
    """Join segment results exactly as one sequential walk would have gone through them."""
    count, expected_seq, expected_prev = 0, 1, GENESIS
    for segment in segments:
        if segment is None:
            continue
        seq = segment.first_seq
        if seq != expected_seq:
            return count, expected_seq - 1, expected_prev, _missing(expected_seq, seq)
        if segment.first_prev != expected_prev:
            return count, seq - 1, expected_prev, _broken(seq)
        if not segment.first_ok:
            return count, seq - 1, expected_prev, _altered(seq)
        walked, last_seq, last_hash, problem = segment.walked
        count += 1 + walked
        if problem is not None:
            return count, last_seq, last_hash, problem
        expected_seq, expected_prev = last_seq + 1, last_hash
    return count, expected_seq - 1, expected_prev, None


# -- reading through the caller's connection, or a worker's own --------------------------------
def _walk_connection(
    conn: Connection, key: bytes, tenant_id: str
) -> tuple[int, int, str, Break | None]:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    dialect = conn.dialect.name
    cursor = _cursor(raw, dialect)
    try:
        cursor.execute(_select(dialect, False, False), (tenant_id,))
        return _walk(key, _batches(cursor), 1, GENESIS)
    finally:
        cursor.close()


@dataclass(frozen=True)
class _Source:
    """How a worker process opens its own connection seeing what the caller's sees."""

    dialect: str
    target: str  # SQLite file path, or a libpq connection URL
    role: str | None = None  # PostgreSQL: the role to SET (row-level security applies to it)
    scope: tuple[tuple[str, str], ...] = ()  # PostgreSQL: the RLS settings to copy


def _source(conn: Connection) -> _Source | None:
    url = conn.engine.url
    dialect = conn.dialect.name
    if dialect == "sqlite":
        path = url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return _Source(dialect, os.path.abspath(path))
    if dialect != "postgresql":
        return None
    row = conn.execute(
        text(
            "SELECT current_user, session_user, current_setting('app.tenant_id', true),"
            " current_setting('app.scope', true)"
        )
    ).one()
    target = url.set(drivername="postgresql").render_as_string(hide_password=False)
    role = str(row[0]) if row[0] != row[1] else None
    scope = (("app.tenant_id", row[2] or ""), ("app.scope", row[3] or ""))
    return _Source(dialect, target, role, scope)


def _open(source: _Source) -> Any:
    if source.dialect == "sqlite":
        import sqlite3
        from urllib.parse import quote

        return sqlite3.connect(f"file:{quote(source.target)}?mode=ro", uri=True)
    import psycopg
    from psycopg import sql

    raw = psycopg.connect(source.target)
    if source.role:
        raw.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(source.role)))
    for name, value in source.scope:
        raw.execute("SELECT set_config(%s, %s, false)", (name, value))
    return raw


def _segment_worker(
    pipe: Any, source: _Source, key: bytes, tenant_id: str, lower: int | None, upper: int
) -> None:
    """Runs in a forked process: walk one segment over its own connection, send the result."""
    gc.disable()  # never collect (and finalize) anything inherited from the parent
    try:
        raw = _open(source)
        try:
            cursor = _cursor(raw, source.dialect)
            cursor.execute(
                _select(source.dialect, lower is not None, True),
                _params(tenant_id, lower, upper),
            )
            result: Any = ("ok", _walk_segment(key, _batches(cursor)))
            cursor.close()
        finally:
            raw.close()
    except Exception as exc:  # reported to the parent, which falls back to one process
        result = ("error", f"{type(exc).__name__}: {exc}")
    pipe.send(result)
    pipe.close()


def _workers() -> int:
    if not sys.platform.startswith("linux"):
        return 1  # forking is only safe enough (and cheap) on Linux
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _walk_parallel(
    conn: Connection, key: bytes, tenant_id: str
) -> tuple[int, int, str, Break | None] | None:
    """The parallel walk, or None when it does not apply (short chain, one CPU, ...)."""
    workers = _workers()
    if workers < 2:
        return None
    last = conn.execute(
        text("SELECT max(seq) FROM audit_events WHERE tenant_id = :t"), {"t": tenant_id}
    ).scalar()
    if not isinstance(last, int) or last < PARALLEL_MIN_EVENTS:
        return None
    source = _source(conn)
    if source is None:
        return None
    cuts = [last * i // workers for i in range(1, workers)]
    bounds = list(zip([None, *cuts[:-1]], cuts, strict=True))
    context = multiprocessing.get_context("fork")
    started: list[tuple[Any, Any]] = []
    # Freeze the heap so the children never run finalizers of the parent's objects (such as
    # its database connections) and share its pages copy-on-write.
    gc.freeze()
    failed = None
    try:
        for lower, upper in bounds:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_segment_worker,
                args=(sender, source, key, tenant_id, lower, upper),
                daemon=True,
            )
            try:
                process.start()
            except Exception as exc:  # e.g. inside a daemonic process: fall back
                failed = f"{type(exc).__name__}: {exc}"
                receiver.close()
                break
            finally:
                sender.close()
            started.append((process, receiver))
    finally:
        gc.unfreeze()
    try:
        tail = None if failed else _walk_tail(conn, key, tenant_id, cuts[-1])
        results: list[_Segment | None] = []
        for process, receiver in started:
            try:
                status, value = receiver.recv()
            except EOFError:
                status, value = "error", f"worker exited with {process.exitcode}"
            if status != "ok":
                failed = value
            results.append(value if status == "ok" else None)
    finally:
        for process, receiver in started:
            receiver.close()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
    if failed is not None:
        log.warning("parallel audit verification unavailable (%s); using one process", failed)
        return None
    return _stitch([*results, tail])


def _walk_tail(conn: Connection, key: bytes, tenant_id: str, lower: int) -> _Segment | None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    dialect = conn.dialect.name
    cursor = _cursor(raw, dialect)
    try:
        cursor.execute(_select(dialect, True, False), (tenant_id, lower))
        return _walk_segment(key, _batches(cursor))
    finally:
        cursor.close()


def verify_chain(
    conn: Connection, key: bytes, tenant_id: str, anchors: Iterable[Anchor] = ()
) -> ChainReport:
    """Verify one tenant's chain, then check it still reaches every anchor."""
    # The walk allocates millions of short-lived, acyclic tuples: without the cyclic garbage
    # collector running over the caller's heap every few hundred of them, it is ~2x faster.
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        walked = _walk_parallel(conn, key, tenant_id)
        if walked is None or walked[3] is not None:
            # One process through the caller's connection: the reference walk, also used to
            # name the first problem the parallel walk found (see the module docstring).
            walked = _walk_connection(conn, key, tenant_id)
    finally:
        if gc_enabled:
            gc.enable()
    count, last_seq, last_hash, problem = walked
    if problem is None:
        problem = _check_anchors(conn, tenant_id, last_seq, last_hash, anchors)
    return ChainReport(tenant_id, count, last_seq, last_hash, problem)


def _check_anchors(
    conn: Connection, tenant_id: str, last_seq: int, last_hash: str, anchors: Iterable[Anchor]
) -> Break | None:
    for anchor in anchors:
        if anchor.seq > last_seq:
            return Break(
                last_seq + 1,
                "tail-cut",
                f"the {anchor.source} records {anchor.seq} events but only {last_seq} remain",
            )
        stored: str | None
        if anchor.seq == last_seq:
            stored = last_hash
        else:
            stored = conn.execute(
                text("SELECT hash FROM audit_events WHERE tenant_id = :t AND seq = :s"),
                {"t": tenant_id, "s": anchor.seq},
            ).scalar()
        if anchor.seq > 0 and stored != anchor.hash:
            return Break(
                anchor.seq,
                "checkpoint-mismatch",
                f"event {anchor.seq} differs from the one the {anchor.source} recorded",
            )
    return None
