"""The per-tenant hash chain: each event's HMAC covers its fields and the previous hash.

The message is a fixed-order join of the stored column values, so verification recomputes it
straight from a row without parsing, which keeps it fast (bench/audit_verify.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

GENESIS = "0" * 64

# Order matters: it is part of the chain format. Append new columns only at the end, and
# only with a new chain version.
CHAINED_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "seq",
    "event_id",
    "occurred_us",
    "actor_id",
    "session_id",
    "action",
    "resource_type",
    "resource_id",
    "person_id",
    "purpose",
    "outcome",
    "reason",
    "break_glass",
    "fields",
    "source",
    "request_id",
    "ref",
)


def message(values: Sequence[object]) -> bytes:
    """Canonical bytes of one event's chained column values (in CHAINED_COLUMNS order)."""
    return "\x1f".join(map(str, values)).encode()


def link(key: bytes, prev_hash: str, values: Sequence[object]) -> str:
    return hmac.new(key, prev_hash.encode() + b"\x1e" + message(values), hashlib.sha256).hexdigest()
