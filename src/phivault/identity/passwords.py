"""Passwords: argon2id hashing, the blocklist and the per-tenant password profiles (AUTH-2).

Pure logic, no database access: callers load hashes and settings and store what comes back.

Two profiles, chosen per tenant (``TenantSettings.password_profile``):

* ``nist`` (the default), after NIST SP 800-63B-4: at least 15 characters when the password is
  the only factor, 8 when MFA is required; up to 128; no composition rules; no expiry; refuses
  common or breached passwords, passwords built on the member's or tenants' names, and
  trivially repetitive or sequential ones.
* ``acs-2003``, the ACS 4.8 preset from the 2003 compliance plan: at least 8 characters mixing
  letters, digits and special characters; changed every 30-90 days, with a warning from five
  days before; none of the last N passwords again; plus the blocklist and the names ("not
  associated with an obvious personal attribute").

A member with standing in several tenants lives under every one of their profiles at once, so
the checks take a sequence of profile settings and apply the union of the rules.

Passwords are normalised to Unicode NFKC before they are measured, hashed or verified, so a
password typed on another keyboard or platform still matches (SP 800-63B-4 3.1.1.2). Messages
name the rule broken, never the password nor the personal word it contained.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import math
import os
import re
import secrets
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Final, Literal, Protocol

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

# --- hashing -------------------------------------------------------------------------------

ARGON2_TIME_COST: Final = 3
ARGON2_MEMORY_COST_KIB: Final = 64 * 1024  # 64 MiB
ARGON2_PARALLELISM: Final = 2
# Test settings: same algorithm and output, a fraction of the work. Never for production.
FAST_TIME_COST: Final = 1
FAST_MEMORY_COST_KIB: Final = 8 * 1024  # 8 MiB
FAST_ENV: Final = "PHIVAULT_ARGON2_FAST"

# Hashes of random secrets nobody kept, one per parameter set: verify_dummy() checks a password
# against them so that an unknown username costs what a known one does.
_DUMMY_HASHES: Final[dict[bool, str]] = {
    False: "$argon2id$v=19$m=65536,t=3,p=2$06jBgCCbMWky373H+Axqzw$"
    "LUzVE9Q0HuBxah+WyMFFkhmt496ObpdZdQ56cq5wqMA",
    True: "$argon2id$v=19$m=8192,t=1,p=2$ti61cOUyYjcCPhhdx+vA5Q$"
    "blzL+1UASJjQuBWnEX0qKkkTKb4V1kk3sGoXO1EJF2E",
}


def fast_mode() -> bool:
    """Whether ``PHIVAULT_ARGON2_FAST=1`` is set now (read at every call, for test suites)."""
    return os.environ.get(FAST_ENV, "") == "1"


def hasher(fast: bool | None = None) -> PasswordHasher:
    """The argon2id hasher in force: production parameters (t=3, 64 MiB, p=2), or the fast
    test parameters (t=1, 8 MiB) when ``fast`` is true or, if ``fast`` is None, when
    ``PHIVAULT_ARGON2_FAST=1`` is set. Tests may replace this function to spy on hashing."""
    return _hasher(fast_mode() if fast is None else fast)


@cache
def _hasher(fast: bool) -> PasswordHasher:
    if fast:
        return PasswordHasher(
            time_cost=FAST_TIME_COST,
            memory_cost=FAST_MEMORY_COST_KIB,
            parallelism=ARGON2_PARALLELISM,
            type=Type.ID,
        )
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_COST_KIB,
        parallelism=ARGON2_PARALLELISM,
        type=Type.ID,
    )


def normalize_password(password: str) -> str:
    """The form a password is measured, hashed and verified in: Unicode NFKC."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An argon2id PHC string (``$argon2id$v=19$m=...``) for the NFKC-normalised password.

    Raises ``ValueError`` (``UnicodeEncodeError``) for a string that is not valid Unicode
    text (lone surrogates); ``check_password`` refuses those first.
    """
    return hasher().hash(normalize_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. Never raises for a wrong password, a
    malformed or foreign hash, or a password that cannot be encoded: those are all False."""
    try:
        return hasher().verify(password_hash, normalize_password(password))
    except VerificationError:
        return False
    except InvalidHashError:
        # Spend the same time as a real verification: a broken row must not stand out.
        verify_dummy(password)
        return False
    except UnicodeError:
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash should be replaced at the next successful sign-in: it is not
    argon2id, is unreadable, or any parameter is weaker than the hasher in force. A stronger
    hash is kept, so a test run with fast parameters never downgrades anything, and a hash
    made with fast parameters is upgraded as soon as production parameters apply."""
    try:
        params = extract_parameters(password_hash)
    except (InvalidHashError, ValueError):
        return True
    target = hasher()
    return (
        params.type is not Type.ID
        or params.version < ARGON2_VERSION
        or params.time_cost < target.time_cost
        or params.memory_cost < target.memory_cost
        or params.parallelism < target.parallelism
        or params.hash_len < target.hash_len
        or params.salt_len < target.salt_len
    )


@cache
def _dummy_hash(fast: bool) -> str:
    """The precomputed dummy hash for these parameters, or a fresh one if the parameters were
    changed without regenerating the constant (so timing still matches)."""
    precomputed = _DUMMY_HASHES[fast]
    real = _hasher(fast)
    if real.check_needs_rehash(precomputed):
        return real.hash(secrets.token_urlsafe(32))
    return precomputed


def verify_dummy(password: str) -> None:
    """Verify ``password`` against a fixed dummy hash and discard the answer: the sign-in path
    for an unknown username or a member without a password, so that it takes as long as a
    wrong password for a real member."""
    fast = fast_mode()
    with contextlib.suppress(VerificationError, InvalidHashError, UnicodeError):
        hasher(fast).verify(_dummy_hash(fast), normalize_password(password))


# --- blocklist -----------------------------------------------------------------------------

BLOCKLIST_PACKAGE: Final = "phivault.identity.data"
BLOCKLIST_RESOURCE: Final = "common-passwords.txt.gz"
# Characters people pad a common password with ("Password123!"): stripped before a second look.
_PADDING: Final = string.digits + string.punctuation + " "
_MIN_CORE: Final = 4


@cache
def blocklist() -> frozenset[str]:
    """The shipped list of common and breached passwords, lowercase (see ``data/NOTICE``).

    Loaded on first use, once per process."""
    raw = resources.files(BLOCKLIST_PACKAGE).joinpath(BLOCKLIST_RESOURCE).read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def _fold(text: str) -> str:
    """Case-insensitive comparison form: NFKC, then case-folded."""
    return normalize_password(text).casefold()


def is_blocklisted(password: str) -> bool:
    """Whether the password is on the blocklist whatever its letter case, or is a listed
    password of at least four characters with only digits, punctuation or spaces added before
    or after it ("Monkey!2024")."""
    folded = _fold(password)
    words = blocklist()
    if folded in words:
        return True
    core = folded.strip(_PADDING)
    return core != folded and len(core) >= _MIN_CORE and core in words


# --- profiles ------------------------------------------------------------------------------

MAX_PASSWORD_LENGTH: Final = 128
PRODUCT_WORD: Final = "phivault"
CONTEXT_WORD_MIN: Final = 4


@dataclass(frozen=True)
class PasswordProfile:
    """The rules of one password profile."""

    name: str
    description: str
    min_length: int  # when the password is the only factor
    min_length_with_mfa: int  # when a second factor is also required
    max_length: int  # Unicode code points after NFKC
    composition: bool  # letters, digits and special characters all required
    expiry_days_range: tuple[int, int] | None  # allowed expiry settings; None: never expires
    expiry_warning_days: int | None  # warn this many days before expiry
    history_range: tuple[int, int] | None  # allowed reuse windows; None: no history kept
    refuse_blocklisted: bool
    refuse_context_words: bool
    refuse_repetitive: bool

    @property
    def expires(self) -> bool:
        """Whether passwords under this profile must be changed periodically."""
        return self.expiry_days_range is not None

    @property
    def remembers_history(self) -> bool:
        """Whether earlier passwords may not be used again."""
        return self.history_range is not None


NIST: Final = PasswordProfile(
    name="nist",
    description="NIST SP 800-63B-4: length and a blocklist, no composition rules or expiry",
    min_length=15,
    min_length_with_mfa=8,
    max_length=MAX_PASSWORD_LENGTH,
    composition=False,
    expiry_days_range=None,
    expiry_warning_days=None,
    history_range=None,
    refuse_blocklisted=True,
    refuse_context_words=True,
    refuse_repetitive=True,
)
ACS_2003: Final = PasswordProfile(
    name="acs-2003",
    description="ACS 4.8 (2003): 8+ characters mixing letters, digits and special characters, "
    "changed every 30-90 days, no reuse of recent passwords",
    min_length=8,
    min_length_with_mfa=8,
    max_length=MAX_PASSWORD_LENGTH,
    composition=True,
    expiry_days_range=(30, 90),
    expiry_warning_days=5,
    history_range=(0, 24),
    refuse_blocklisted=True,
    refuse_context_words=True,
    refuse_repetitive=False,
)
PROFILES: Final[dict[str, PasswordProfile]] = {NIST.name: NIST, ACS_2003.name: ACS_2003}
DEFAULT_PROFILE: Final = NIST.name


class ProfileSettings(Protocol):
    """One tenant's password settings, as the checks take them: the profile's name and its
    parameters (``TenantSettings.password_profile``, ``password_expiry_days`` and
    ``password_history``). ``expiry_days`` and ``history_count`` only matter for profiles
    that use them. Any object with these three attributes will do, e.g. ``TenantProfile`` or
    ``phivault.identity.policy.PasswordRules``."""

    @property
    def profile(self) -> str: ...

    @property
    def expiry_days(self) -> int: ...

    @property
    def history_count(self) -> int: ...


@dataclass(frozen=True)
class TenantProfile:
    """A concrete ``ProfileSettings``, validated on construction."""

    profile: str = DEFAULT_PROFILE
    expiry_days: int = 90
    history_count: int = 6

    def __post_init__(self) -> None:
        validate_profile_settings(self.profile, self.expiry_days, self.history_count)


def validate_profile_settings(profile: str, expiry_days: int, history_count: int) -> None:
    """Raise ``ValueError`` unless these are valid settings for the named profile (for
    ``acs-2003``: expiry every 30 to 90 days, a reuse window of 0 to 24 passwords)."""
    chosen = PROFILES.get(profile)
    if chosen is None:
        raise ValueError(
            f"unknown password profile {profile!r}: expected one of {', '.join(PROFILES)}"
        )
    if chosen.expiry_days_range is not None:
        low, high = chosen.expiry_days_range
        if not low <= expiry_days <= high:
            raise ValueError(
                f"the {profile} profile expires passwords every {low} to {high} days, "
                f"not {expiry_days}"
            )
    if chosen.history_range is not None:
        low, high = chosen.history_range
        if not low <= history_count <= high:
            raise ValueError(
                f"the {profile} profile remembers {low} to {high} earlier passwords, "
                f"not {history_count}"
            )


def _resolve(profiles: Sequence[ProfileSettings]) -> list[tuple[PasswordProfile, int, int]]:
    """Validated (profile, expiry days, history count) triples; none given means the default
    profile (a member without standing in any tenant)."""
    if not profiles:
        return [(PROFILES[DEFAULT_PROFILE], 0, 0)]
    resolved = []
    for settings in profiles:
        validate_profile_settings(settings.profile, settings.expiry_days, settings.history_count)
        resolved.append((PROFILES[settings.profile], settings.expiry_days, settings.history_count))
    return resolved


@dataclass(frozen=True)
class Requirements:
    """The union of several profiles' rules: what a new password must satisfy."""

    min_length: int
    max_length: int
    composition: bool
    refuse_blocklisted: bool
    refuse_context_words: bool
    refuse_repetitive: bool
    history_count: int  # earlier passwords (besides the current one) that may not return
    expiry_days: int | None  # None: never expires
    expiry_warning_days: int | None


def requirements(profiles: Sequence[ProfileSettings], *, mfa: bool) -> Requirements:
    """Combine the profiles: the longest minimum, the shortest maximum, every refusal any of
    them makes, the longest reuse window, the shortest expiry, the earliest warning.

    Raises ``ValueError`` for an unknown profile or settings out of the profile's range."""
    resolved = _resolve(profiles)
    expiring = [(p, days) for p, days, _ in resolved if p.expires]
    warnings = [p.expiry_warning_days for p, _ in expiring if p.expiry_warning_days is not None]
    return Requirements(
        min_length=max(p.min_length_with_mfa if mfa else p.min_length for p, _, _ in resolved),
        max_length=min(p.max_length for p, _, _ in resolved),
        composition=any(p.composition for p, _, _ in resolved),
        refuse_blocklisted=any(p.refuse_blocklisted for p, _, _ in resolved),
        refuse_context_words=any(p.refuse_context_words for p, _, _ in resolved),
        refuse_repetitive=any(p.refuse_repetitive for p, _, _ in resolved),
        history_count=max((count for p, _, count in resolved if p.remembers_history), default=0),
        expiry_days=min((days for _, days in expiring), default=None),
        expiry_warning_days=max(warnings, default=None),
    )


# --- checking a new password ---------------------------------------------------------------

RefusalCode = Literal[
    "too-short",
    "too-long",
    "invalid-character",
    "composition",
    "blocklisted",
    "context-word",
    "repetitive",
    "reused",
]


@dataclass(frozen=True)
class Refusal:
    """Why a new password is refused: a stable ``code`` and a message naming the rule. The
    message never contains the password or the personal word found in it."""

    code: RefusalCode
    message: str


def check_password(
    password: str,
    *,
    profiles: Sequence[ProfileSettings],
    mfa: bool,
    context: Sequence[str],
    current_hash: str | None,
    history_hashes: Sequence[str],
) -> list[Refusal]:
    """Every reason to refuse ``password`` as the member's new password; empty if it is fine.

    ``profiles``: the settings of every tenant the member has standing in (all must be met;
    empty means the default ``nist``). ``mfa``: whether a second factor is required of the
    member, which lowers the ``nist`` minimum from 15 to 8. ``context``: the member's
    username, display name, tenant names and the like, split here into words; words of four
    or more characters may not appear in the password, nor may "phivault". ``current_hash``:
    the current password's hash; the new one must differ. ``history_hashes``: earlier hashes,
    newest first; under ``acs-2003`` the newest ``history_count`` of them may not be reused.

    Raises ``ValueError`` for an unknown profile or out-of-range settings.
    """
    rules = requirements(profiles, mfa=mfa)
    normalized = normalize_password(password)
    refusals: list[Refusal] = []

    length = len(normalized)
    if length < rules.min_length:
        refusals.append(Refusal("too-short", f"use at least {rules.min_length} characters"))
    if length > rules.max_length:
        refusals.append(Refusal("too-long", f"use at most {rules.max_length} characters"))
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in normalized):
        refusals.append(
            Refusal(
                "invalid-character", "do not use control characters such as tabs or line breaks"
            )
        )
    if rules.composition:
        missing = _missing_classes(normalized)
        if missing:
            refusals.append(
                Refusal(
                    "composition",
                    "mix letters, digits and special characters (add "
                    + " and ".join(missing)
                    + ")",
                )
            )
    if rules.refuse_blocklisted and is_blocklisted(normalized):
        refusals.append(
            Refusal(
                "blocklisted",
                "choose a password that is not a commonly used or breached one, "
                "even with digits or symbols added",
            )
        )
    if rules.refuse_context_words and contains_context_word(normalized, context):
        refusals.append(
            Refusal(
                "context-word",
                "do not build the password on your name, username, organisation or "
                "the product name",
            )
        )
    if rules.refuse_repetitive and is_repetitive(normalized):
        refusals.append(
            Refusal(
                "repetitive",
                "avoid passwords made mostly of repeated characters or sequences "
                "such as aaaa, 1234, abcd or qwerty",
            )
        )
    window = history_hashes[: rules.history_count]
    if _reused(password, current_hash, window):
        refusals.append(
            Refusal(
                "reused",
                f"choose a password different from your current one and your last "
                f"{rules.history_count} passwords"
                if rules.history_count
                else "choose a password different from your current one",
            )
        )
    return refusals


def _missing_classes(password: str) -> list[str]:
    missing = []
    if not any(ch.isalpha() for ch in password):
        missing.append("a letter")
    if not any(ch.isdigit() for ch in password):
        missing.append("a digit")
    if all(ch.isalnum() for ch in password):
        missing.append("a special character")
    return missing


def _reused(password: str, current_hash: str | None, earlier: Sequence[str]) -> bool:
    """Whether the password is the current one or one of the ``earlier`` hashes."""
    if current_hash is not None and verify_password(current_hash, password):
        return True
    return any(verify_password(h, password) for h in earlier)


# Leetspeak people use to hide a name: two readings of "1" and "!".
_LEET_I: Final = str.maketrans(
    {"0": "o", "1": "i", "!": "i", "3": "e", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t"}
)
_LEET_L: Final = str.maketrans(
    {"0": "o", "1": "l", "!": "l", "3": "e", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t"}
)
_WORD_RE: Final = re.compile(r"[^\W_]+")  # letters and digits
_LETTERS_RE: Final = re.compile(r"[^\W\d_]+")  # letters only


def context_words(context: Iterable[str]) -> frozenset[str]:
    """The words a password may not contain: each context string split on anything but
    letters and digits (and also into letter-only runs), case-folded, those of four or more
    characters, plus "phivault"."""
    words = {PRODUCT_WORD}
    for item in context:
        folded = _fold(item)
        for token in (*_WORD_RE.findall(folded), *_LETTERS_RE.findall(folded)):
            if len(token) >= CONTEXT_WORD_MIN:
                words.add(token)
    return frozenset(words)


def contains_context_word(password: str, context: Iterable[str]) -> bool:
    """Whether the password contains (or is) a context word, ignoring case, separators and
    common letter-for-digit substitutions ("Ph1v@ult")."""
    folded = _fold(password)
    variants = set()
    for text in (folded, folded.translate(_LEET_I), folded.translate(_LEET_L)):
        variants.add(text)
        variants.add("".join(ch for ch in text if ch.isalnum()))
    words = context_words(context)
    return any(word in variant for word in words for variant in variants)


# Orders people type in: alphabet, digits (9 wraps to 0 as on the number row), keyboard rows
# (QWERTY, QWERTZ, AZERTY) read left to right and top to bottom, keyboard columns, zigzags
# between two rows, the shifted number row. A run may go either way along one of them.
_SEQUENCES: Final = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
    "1q2w3e4r5t6y7u8i9o0p",
    "qawsedrftgyhujikolp",
    "azsxdcfvgbhnjmk,l.",
    "!@#$%^&*()",
)
_STEPS: Final = tuple(frozenset(itertools.pairwise(sequence)) for sequence in _SEQUENCES)
_MIN_RUN: Final = 3  # characters


def _trivial_coverage(text: str) -> int:
    """How many characters of ``text`` lie in a run of three or more that repeats one
    character or follows one of the typing orders, in one direction."""
    covered = [False] * len(text)
    pairs = list(itertools.pairwise(text))
    relations: list[set[tuple[int, int]]] = []
    for a, b in pairs:
        found: set[tuple[int, int]] = set()
        if a == b:
            found.add((-1, 0))
        for index, steps in enumerate(_STEPS):
            if (a, b) in steps:
                found.add((index, 1))
            if (b, a) in steps:
                found.add((index, -1))
        relations.append(found)
    every: set[tuple[int, int]] = set()
    for found in relations:
        every |= found
    for relation in sorted(every):
        start = 0
        while start < len(pairs):
            if relation not in relations[start]:
                start += 1
                continue
            end = start
            while end + 1 < len(pairs) and relation in relations[end + 1]:
                end += 1
            if end - start + 2 >= _MIN_RUN:  # pairs start..end span end - start + 2 chars
                for i in range(start, end + 2):
                    covered[i] = True
            start = end + 1
    return sum(covered)


def _is_periodic(text: str) -> bool:
    """Whether ``text`` is one chunk typed at least twice over ("abcabcabc", "passpass"): its
    smallest period, from the Knuth-Morris-Pratt prefix function, is at most half its length.
    Linear time, whatever the input."""
    n = len(text)
    if n < 2:
        return False
    border = [0] * n  # border[i]: longest proper prefix of text[:i + 1] that is also a suffix
    for i in range(1, n):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + 1 if text[i] == text[k] else 0
    return n - border[-1] <= n // 2


def is_repetitive(password: str) -> bool:
    """Whether the password is trivially repetitive or sequential: at most two distinct
    characters, one chunk repeated, or mostly made of runs of three or more repeated or
    consecutive characters (alphabet, digits, keyboard rows or columns), leaving fewer than
    four characters, or under a third of it, outside such runs."""
    folded = _fold(password)
    n = len(folded)
    if n == 0:
        return False
    if len(set(folded)) <= 2 or _is_periodic(folded):
        return True
    outside = n - _trivial_coverage(folded)
    return outside < max(4, math.ceil(n / 3))


# --- expiry --------------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime for {name}: phivault only handles timezone-aware UTC")


def expiry(changed_at: datetime, profiles: Sequence[ProfileSettings]) -> datetime | None:
    """When a password set at ``changed_at`` must be changed: the earliest expiry across the
    profiles, or None when none of them expires passwords (``nist`` alone)."""
    _require_aware(changed_at, "changed_at")
    days = requirements(profiles, mfa=True).expiry_days
    return None if days is None else changed_at + timedelta(days=days)


def is_expired(changed_at: datetime, now: datetime, profiles: Sequence[ProfileSettings]) -> bool:
    """Whether the password set at ``changed_at`` has expired by ``now``."""
    _require_aware(now, "now")
    expires = expiry(changed_at, profiles)
    return expires is not None and now >= expires


def expiry_warning(
    changed_at: datetime, now: datetime, profiles: Sequence[ProfileSettings]
) -> int | None:
    """Days left before the password expires, counting a part day as a day, when that is
    within the warning window (five days under ``acs-2003``); 0 once it has expired; None
    otherwise, or when the password never expires."""
    _require_aware(now, "now")
    _require_aware(changed_at, "changed_at")
    rules = requirements(profiles, mfa=True)
    if rules.expiry_days is None or rules.expiry_warning_days is None:
        return None
    remaining = changed_at + timedelta(days=rules.expiry_days) - now
    if remaining > timedelta(days=rules.expiry_warning_days):
        return None
    if remaining <= timedelta(0):
        return 0
    return math.ceil(remaining / timedelta(days=1))


# --- initial passwords ---------------------------------------------------------------------

# No 0/o/O, 1/i/I/l: read out on the phone or copied from paper without mistakes.
_INITIAL_ALPHABET: Final = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
_INITIAL_GROUPS: Final = 4
_INITIAL_GROUP_LENGTH: Final = 5
# Every profile at its strictest: single-factor length, composition, blocklist, repetition.
_EVERY_PROFILE: Final = (TenantProfile("nist"), TenantProfile("acs-2003", 90, 0))


def generate_initial_password(context: Sequence[str] = ()) -> str:
    """A random initial or reset password, e.g. ``k7Qm2-x9Tfa-R4wzE-bH3cp``: four groups of
    five characters from a 55-character alphabet (about 115 bits) joined by hyphens. It
    passes every profile with and without MFA (23 characters with letters, digits and a
    special character, not blocklisted, not repetitive) and contains none of the ``context``
    words. The member must change it at first sign-in (AUTH-3)."""
    while True:
        candidate = "-".join(
            "".join(secrets.choice(_INITIAL_ALPHABET) for _ in range(_INITIAL_GROUP_LENGTH))
            for _ in range(_INITIAL_GROUPS)
        )
        refusals = check_password(
            candidate,
            profiles=_EVERY_PROFILE,
            mfa=False,
            context=context,
            current_hash=None,
            history_hashes=(),
        )
        if not refusals:
            return candidate
