"""Record types and the fields each shows in the Minimum, Summary and Full views (ACC-2).

A field with no tier does not exist: unknown fields are refused on write (I-2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from phivault.access.policy import Tier
from phivault.errors import InvalidInput

M, S, F = Tier.MINIMUM, Tier.SUMMARY, Tier.FULL


@dataclass(frozen=True)
class FieldSpec:
    name: str
    tier: Tier
    kind: str = "text"  # text | date | number | codes | id
    required: bool = False
    max_length: int = 2000


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
                _t("state", M),
                _t("postal_code", M),
                _t("phone", M),
                _t("email", M),
                _t("sex", M),
                _t("preferred_language", M),
                _t("emergency_contact_name", F),
                _t("emergency_contact_phone", F),
                _t("ssn", F, max_length=11),
            ),
        ),
        RecordType(
            "care_plan",
            "Care plan",
            PATIENT,
            (
                _t("service_type", M, required=True),
                _t("start_date", M, "date"),
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
                _t("note_date", M, "date", required=True),
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
                _t("visit_date", M, "date", required=True),
                _t("start_time", M),
                _t("end_time", M),
                _t("caregiver_id", M, "id"),
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
                _t("claim_date", M, "date", required=True),
                _t("payer", M),
                _t("status", M),
                _t("procedure_codes", S, "codes"),
                _t("diagnosis_codes", S, "codes"),
                _t("amount", S, "number"),
                _t("member_number", F),
                _t("notes", F),
            ),
        ),
        RecordType(
            "payroll_entry",
            "Payroll entry",
            CAREGIVER,
            (
                _t("period_start", M, "date", required=True),
                _t("period_end", M, "date"),
                _t("hours", S, "number"),
                _t("rate", F, "number"),
                _t("gross_pay", F, "number"),
                _t("notes", F),
            ),
        ),
        RecordType(
            "credential",
            "Credential",
            CAREGIVER,
            (
                _t("credential_type", M, required=True),
                _t("expires_on", M, "date"),
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


def clean_value(spec: FieldSpec, value: Any) -> Any:
    """Validate one field value; the error names the field, never echoes the value."""
    if value is None:
        return None
    if spec.kind == "date":
        if not isinstance(value, str):
            raise InvalidInput(f"field '{spec.name}' must be a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise InvalidInput(f"field '{spec.name}' must be a date (YYYY-MM-DD)") from exc
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
    if not isinstance(value, str):
        raise InvalidInput(f"field '{spec.name}' must be text")
    if len(value) > spec.max_length:
        raise InvalidInput(f"field '{spec.name}' is longer than {spec.max_length} characters")
    return value
