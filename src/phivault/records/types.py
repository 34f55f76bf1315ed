"""Record types and the fields each shows in the Minimum, Summary and Full views (ACC-2).

A field with no tier does not exist: unknown fields are refused on write (I-2).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from phivault.access.policy import Tier
from phivault.errors import InvalidInput

M, S, F = Tier.MINIMUM, Tier.SUMMARY, Tier.FULL


@dataclass(frozen=True)
class FieldSpec:
    """One field, declared once: its tier and the kind of value it holds (enforced by
    ``clean_value`` for the API and the pages alike)."""

    name: str
    tier: Tier
    # text | date | time | money | decimal | codes | email | phone | ssn | state | postal
    # | caregiver (the id of a caregiver of the same agency)
    kind: str = "text"
    required: bool = False
    max_length: int = 2000
    # Dates: the plausible range, from ``earliest`` to ``ahead_days`` after today.
    earliest: date = date(1900, 1, 1)
    ahead_days: int = 366
    # Money and decimals: whether a negative value is refused (a charge is never negative).
    non_negative: bool = True
    maximum: Decimal = Decimal("999999999.99")


@dataclass(frozen=True)
class RecordType:
    name: str
    label: str
    subjects: frozenset[str]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def names_in(self, tiers: frozenset[Tier]) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.tier in tiers)


_1990 = date(1990, 1, 1)
DOB_EARLIEST = date(1880, 1, 1)
PATIENT = frozenset({"patient"})
CAREGIVER = frozenset({"caregiver"})
ANYONE = frozenset({"patient", "caregiver"})


def _t(name: str, tier: Tier, kind: str = "text", **kw: Any) -> FieldSpec:
    return FieldSpec(name, tier, kind, **kw)


RECORD_TYPES: dict[str, RecordType] = {
    rt.name: rt
    for rt in (
        RecordType(
            "demographics",
            "Demographics",
            ANYONE,
            (
                _t("address", M),
                _t("city", M),
                _t("state", M, "state"),
                _t("postal_code", M, "postal"),
                _t("phone", M, "phone"),
                _t("email", M, "email"),
                _t("sex", M),
                _t("preferred_language", M),
                _t("emergency_contact_name", F),
                _t("emergency_contact_phone", F, "phone"),
                _t("ssn", F, "ssn", max_length=11),
            ),
        ),
        RecordType(
            "care_plan",
            "Care plan",
            PATIENT,
            (
                _t("service_type", M, required=True),
                _t("start_date", M, "date", earliest=date(1990, 1, 1), ahead_days=730),
                _t("diagnosis_codes", S, "codes"),
                _t("goals_summary", S),
                _t("plan_text", F),
                _t("medications", F),
                _t("allergies", F),
            ),
        ),
        RecordType(
            "clinical_note",
            "Clinical / caregiver note",
            ANYONE,
            (
                _t("note_date", M, "date", required=True, earliest=_1990, ahead_days=31),
                _t("service_type", M),
                _t("diagnosis_codes", S, "codes"),
                _t("assessment_summary", S),
                _t("text", F, max_length=20000),
            ),
        ),
        RecordType(
            "visit_schedule",
            "Visit schedule",
            ANYONE,
            (
                _t(
                    "visit_date",
                    M,
                    "date",
                    required=True,
                    earliest=date(1990, 1, 1),
                    ahead_days=730,
                ),
                _t("start_time", M, "time"),
                _t("end_time", M, "time"),
                _t("caregiver_id", M, "caregiver"),
                _t("service_type", M),
                _t("tasks", S),
                _t("visit_notes", F),
            ),
        ),
        RecordType(
            "billing_claim",
            "Billing / claim",
            PATIENT,
            (
                _t("claim_date", M, "date", required=True, earliest=date(1990, 1, 1)),
                _t("payer", M),
                _t("status", M),
                _t("procedure_codes", S, "codes"),
                _t("diagnosis_codes", S, "codes"),
                _t("amount", S, "money"),
                _t("member_number", F),
                _t("notes", F),
            ),
        ),
        RecordType(
            "payroll_entry",
            "Payroll entry",
            CAREGIVER,
            (
                _t("period_start", M, "date", required=True, earliest=date(1990, 1, 1)),
                _t("period_end", M, "date", earliest=date(1990, 1, 1)),
                _t("hours", S, "decimal", maximum=Decimal("744")),
                _t("rate", F, "money"),
                _t("gross_pay", F, "money"),
                _t("notes", F),
            ),
        ),
        RecordType(
            "credential",
            "Credential",
            CAREGIVER,
            (
                _t("credential_type", M, required=True),
                _t("expires_on", M, "date", earliest=date(1990, 1, 1), ahead_days=366 * 20),
                _t("status", M),
                _t("issuer", S),
                _t("number", S),
                _t("notes", F),
            ),
        ),
    )
}

CREDENTIAL_KINDS = ("license", "cpr", "tb_test", "first_aid", "drivers_license", "other")
_CODE = re.compile(r"^[A-Za-z0-9.\-]{1,16}$")


def record_type(name: str) -> RecordType:
    rt = RECORD_TYPES.get(name)
    if rt is None:
        raise InvalidInput(f"unknown record type '{name[:40]}'")
    return rt


_CENT = Decimal("0.01")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63})+$")
_PHONE = re.compile(r"^(\+?[0-9 ().\-]{7,25})( ?(x|ext\.?) ?[0-9]{1,6})?$")
_SSN = re.compile(r"^[0-9]{3}-[0-9]{2}-[0-9]{4}$")
_POSTAL = re.compile(r"^[0-9]{5}(-[0-9]{4})?$")
US_STATES = frozenset(
    re.findall(
        "..",
        "ALAKAZARCACOCTDEDCFLGAHIIDILINIAKSKYLAMEMDMAMIMNMSMOMTNENVNH"
        "NJNMNYNCNDOHOKORPARISCSDTNTXUTVTVAWAWVWIWYASGUMPPRVIFMMHPWAAAEAP",
    )
)
_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "email": (_EMAIL, "an e-mail address (name@example.org)"),
    "ssn": (_SSN, "a Social Security number (123-45-6789)"),
    "postal": (_POSTAL, "a ZIP code (12345 or 12345-6789)"),
    "time": (_TIME, "a time of day (HH:MM, 00:00 to 23:59)"),
}


def _decimal(spec: FieldSpec, value: Any) -> str:
    """A money or decimal value, exact: refused (never rounded) if storing would change it."""
    what = "an amount" if spec.kind == "money" else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"field '{spec.name}' must be {what}")
    try:
        # A float is taken as the shortest text that reads back as it (what the sender wrote).
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation as exc:
        raise InvalidInput(f"field '{spec.name}' must be {what}") from exc
    if not number.is_finite():
        raise InvalidInput(f"field '{spec.name}' must be {what}")
    if spec.non_negative and number < 0:
        raise InvalidInput(f"field '{spec.name}' cannot be negative")
    if abs(number) > spec.maximum:
        raise InvalidInput(f"field '{spec.name}' must be at most {spec.maximum}")
    if number != number.quantize(_CENT):
        raise InvalidInput(f"field '{spec.name}' has at most two decimal places")
    return str(number.quantize(_CENT))


def _date(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"field '{spec.name}' must be a date (YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"field '{spec.name}' must be a date (YYYY-MM-DD)") from exc
    latest = today + timedelta(days=spec.ahead_days)
    if not spec.earliest <= parsed <= latest:
        raise InvalidInput(
            f"field '{spec.name}' must be a date from {spec.earliest.isoformat()}"
            f" to {latest.isoformat()}"
        )
    return parsed.isoformat()


def _text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"field '{spec.name}' must be text")
    if len(value) > spec.max_length:
        raise InvalidInput(f"field '{spec.name}' is longer than {spec.max_length} characters")
    if spec.kind in _PATTERNS:
        pattern, what = _PATTERNS[spec.kind]
        if not pattern.match(value):
            raise InvalidInput(f"field '{spec.name}' must be {what}")
    elif spec.kind == "phone":
        match = _PHONE.match(value)
        if not match or not 7 <= sum(ch.isdigit() for ch in match.group(1)) <= 15:
            raise InvalidInput(f"field '{spec.name}' must be a phone number (7 to 15 digits)")
    elif spec.kind == "state" and value not in US_STATES:
        raise InvalidInput(f"field '{spec.name}' must be a two-letter US state code (e.g. OR)")
    elif spec.kind == "caregiver":
        try:
            uuid.UUID(value)
        except ValueError as exc:
            raise InvalidInput(f"field '{spec.name}' must name a caregiver of the agency") from exc
    return value


def clean_value(spec: FieldSpec, value: Any, today: date | None = None) -> Any:
    """Validate one field value; the error names the field, never echoes the value.

    A value is stored exactly as given or refused: nothing is rounded, clipped or guessed.
    """
    if value is None:
        return None
    if spec.kind == "date":
        return _date(spec, value, today or date.today())
    if spec.kind in ("money", "decimal"):
        return _decimal(spec, value)
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"field '{spec.name}' must be a number")
        return value
    if spec.kind == "codes":
        if not isinstance(value, list) or not all(
            isinstance(c, str) and _CODE.match(c) for c in value
        ):
            raise InvalidInput(f"field '{spec.name}' must be a list of codes")
        return value
    return _text(spec, value)


def check_record(rt: RecordType, fields: dict[str, Any]) -> None:
    """Rules across fields of one record (the whole record, after a correction is merged)."""
    start, end = fields.get("start_time"), fields.get("end_time")
    times = [t for t in (start, end) if isinstance(t, str) and _TIME.match(t)]
    if len(times) == 2 and time.fromisoformat(times[1]) <= time.fromisoformat(times[0]):
        raise InvalidInput("field 'end_time' must be after 'start_time'")
    first, last = fields.get("period_start"), fields.get("period_end")
    if isinstance(first, str) and isinstance(last, str) and last < first:
        raise InvalidInput("field 'period_end' must not be before 'period_start'")
