"""Sign-in throttling (AUTH-7), kept in the database so that a restart does not lift a lockout,
and failing closed — if the store cannot be read or written, the sign-in fails.

Every check of a password or a second factor counts here, whatever the flow (sign-in,
re-authentication, password change, second factor, self-service reset). Three keys:

- account-and-source (``pair``): ten failures within five minutes lock that account *from that
  source*; each further lockout lasts longer (up to 24 hours). This is what stops a guesser.
- source (``ip``): the same limits for one address spraying many accounts.
- account-wide (``acct``): a gentler limit (30 failures within 15 minutes, locked 15 minutes,
  never longer) that slows a guesser spread over many addresses without letting anyone lock
  the owner out of a new device for a day by typing wrong passwords for a known username.

Password-reset requests have their own per-source budget (``reset``): every request counts,
known username or not, so the answer never depends on whether the name exists.

Keys are keyed hashes, so the table holds neither usernames nor addresses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from phivault.errors import TooManyAttempts
from phivault.identity.session_models import ThrottleEntry


@dataclass(frozen=True)
class Rule:
    max_failures: int
    window: timedelta
    lockouts: tuple[timedelta, ...]


ESCALATING = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=24),
)
MAX_FAILURES = 10
WINDOW = timedelta(minutes=5)
RULES = {
    "pair": Rule(MAX_FAILURES, WINDOW, ESCALATING),
    "ip": Rule(MAX_FAILURES, WINDOW, ESCALATING),
    "acct": Rule(30, timedelta(minutes=15), (timedelta(minutes=15),)),
    "reset": Rule(MAX_FAILURES, timedelta(minutes=15), (timedelta(minutes=15),)),
}


@dataclass(frozen=True)
class Keys:
    """The throttle keys of one attempt (keyed hashes of the normalised values)."""

    pair: str  # account and source
    source: str
    account: str  # account-wide, gentler

    @property
    def all(self) -> tuple[str, str, str]:
        return (self.pair, self.source, self.account)

    @property
    def account_keys(self) -> tuple[str, str]:
        """For checks inside a session (the account is known): pair and account-wide."""
        return (self.pair, self.account)


def _digest(identity_key: bytes, kind: str, value: str) -> str:
    mac = hmac.new(identity_key, f"throttle|{kind}|{value}".encode(), hashlib.sha256)
    return f"{kind}:{mac.hexdigest()[:40]}"


def keys_for(identity_key: bytes, *, username: str, source: str) -> Keys:
    name = username.strip().lower()
    return Keys(
        pair=_digest(identity_key, "pair", f"{name}|{source}"),
        source=_digest(identity_key, "ip", source),
        account=_digest(identity_key, "acct", name),
    )


def reset_key(identity_key: bytes, source: str) -> str:
    """The per-source budget of password-reset requests."""
    return _digest(identity_key, "reset", source)


def _rule(key: str) -> Rule:
    return RULES.get(key.partition(":")[0], RULES["pair"])


def check(session: Session, keys: Sequence[str], now: datetime) -> None:
    """Raise TooManyAttempts if any key is locked."""
    for key in keys:
        entry = session.get(ThrottleEntry, key)
        if entry is not None and entry.locked_until is not None and entry.locked_until > now:
            raise TooManyAttempts(int((entry.locked_until - now).total_seconds()) + 1)


def record_failure(session: Session, keys: Sequence[str], now: datetime) -> int | None:
    """Count a failure (or, for ``reset`` keys, a request) against each key. Returns the
    lockout length in seconds if this locked a key, else None."""
    locked: int | None = None
    for key in keys:
        rule = _rule(key)
        entry = session.get(ThrottleEntry, key)
        if entry is None:
            entry = ThrottleEntry(key=key, window_start=now, failures=0, lockouts=0)
            session.add(entry)
        if now - entry.window_start > rule.window:
            entry.window_start, entry.failures = now, 0
        entry.failures += 1
        if entry.failures >= rule.max_failures:
            duration = rule.lockouts[min(entry.lockouts, len(rule.lockouts) - 1)]
            entry.lockouts += 1
            entry.locked_until = now + duration
            entry.failures, entry.window_start = 0, now
            locked = max(locked or 0, int(duration.total_seconds()))
    session.flush()
    return locked


def record_success(session: Session, keys: Keys) -> None:
    """A successful sign-in clears the failure count of that account from that source (not
    its lockout history, not the account-wide count and not the source's count: one success
    must not reset a spraying address or a guesser spread over many)."""
    entry = session.get(ThrottleEntry, keys.pair)
    if entry is not None:
        entry.failures = 0
        session.flush()
