"""Sign-in throttling (AUTH-7): per account and per source address, kept in the database so
that a restart does not lift a lockout, and failing closed — if the store cannot be read or
written, the sign-in fails.

Ten failures within five minutes lock the key; each further lockout lasts longer. Keys are
keyed hashes, so the table holds neither usernames nor addresses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from phivault.errors import TooManyAttempts
from phivault.identity.session_models import ThrottleEntry

MAX_FAILURES = 10
WINDOW = timedelta(minutes=5)
LOCKOUTS = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=24),
)


def keys_for(identity_key: bytes, *, username: str, source: str) -> tuple[str, str]:
    """(account key, source key) as keyed hashes of the normalised values."""

    def digest(kind: str, value: str) -> str:
        mac = hmac.new(identity_key, f"throttle|{kind}|{value}".encode(), hashlib.sha256)
        return f"{kind}:{mac.hexdigest()[:40]}"

    return digest("acct", username.strip().lower()), digest("ip", source)


def check(session: Session, keys: Sequence[str], now: datetime) -> None:
    """Raise TooManyAttempts if any key is locked."""
    for key in keys:
        entry = session.get(ThrottleEntry, key)
        if entry is not None and entry.locked_until is not None and entry.locked_until > now:
            raise TooManyAttempts(int((entry.locked_until - now).total_seconds()) + 1)


def record_failure(session: Session, keys: Sequence[str], now: datetime) -> int | None:
    """Count a failure against each key. Returns the lockout length in seconds if this
    failure locked a key, else None."""
    locked: int | None = None
    for key in keys:
        entry = session.get(ThrottleEntry, key)
        if entry is None:
            entry = ThrottleEntry(key=key, window_start=now, failures=0, lockouts=0)
            session.add(entry)
        if now - entry.window_start > WINDOW:
            entry.window_start, entry.failures = now, 0
        entry.failures += 1
        if entry.failures >= MAX_FAILURES:
            duration = LOCKOUTS[min(entry.lockouts, len(LOCKOUTS) - 1)]
            entry.lockouts += 1
            entry.locked_until = now + duration
            entry.failures, entry.window_start = 0, now
            locked = max(locked or 0, int(duration.total_seconds()))
    session.flush()
    return locked


def record_success(session: Session, account_key: str) -> None:
    """A successful sign-in clears the account's failure count (not its lockout history, and
    not the source address's count: one success must not reset a spraying address)."""
    entry = session.get(ThrottleEntry, account_key)
    if entry is not None:
        entry.failures = 0
        session.flush()
