"""Verification of the audit chains (AUD-2): names the first bad event of each tenant."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from phivault.audit.chain import CHAINED_COLUMNS, GENESIS

_SELECT = (
    "SELECT "
    + ", ".join(CHAINED_COLUMNS)
    + ", prev_hash, hash FROM audit_events WHERE tenant_id = %s ORDER BY seq"
)
_N = len(CHAINED_COLUMNS)
_BATCH = 5000


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


def _rows(conn: Connection, tenant_id: str) -> Iterator[tuple[Any, ...]]:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    paramstyle = "?" if conn.dialect.name == "sqlite" else "%s"
    cursor.execute(_SELECT.replace("%s", paramstyle), (tenant_id,))
    try:
        while batch := cursor.fetchmany(_BATCH):
            yield from batch
    finally:
        cursor.close()


def walk_chain(key: bytes, rows: Iterable[tuple[Any, ...]]) -> tuple[int, int, str, Break | None]:
    """Check links and HMACs. Returns (events, last seq, last hash, first problem)."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    new = hmac.new
    sha = hashlib.sha256
    compare = hmac.compare_digest
    for row in rows:
        seq = row[1]
        if seq != expected_seq:
            return count, expected_seq - 1, expected_prev, Break(
                expected_seq, "missing", f"event {expected_seq} is missing (next present is {seq})"
            )
        prev_hash = row[_N]
        if prev_hash != expected_prev:
            return count, seq - 1, expected_prev, Break(
                seq, "chain-broken", f"event {seq} does not follow event {seq - 1}"
            )
        msg = "\x1f".join(map(str, row[:_N])).encode()
        digest = new(key, prev_hash.encode() + b"\x1e" + msg, sha).hexdigest()
        if not compare(digest, row[_N + 1]):
            return count, seq - 1, expected_prev, Break(
                seq, "altered", f"event {seq} was altered (its keyed hash does not match)"
            )
        expected_prev = row[_N + 1]
        expected_seq = seq + 1
        count += 1
    return count, expected_seq - 1, expected_prev, None


def verify_chain(
    conn: Connection, key: bytes, tenant_id: str, anchors: Iterable[Anchor] = ()
) -> ChainReport:
    """Verify one tenant's chain, then check it still reaches every anchor."""
    count, last_seq, last_hash, problem = walk_chain(key, _rows(conn, tenant_id))
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
