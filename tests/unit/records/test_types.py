"""Record types: each declares its Minimum / Summary / Full fields; values are validated."""

from __future__ import annotations

import pytest

from phivault.access.policy import VISIBLE_TIERS, AccessCategory, Tier
from phivault.errors import InvalidInput
from phivault.records.types import RECORD_TYPES, FieldSpec, clean_value, record_type

EXPECTED_TYPES = {
    "demographics",
    "care_plan",
    "clinical_note",
    "visit_schedule",
    "billing_claim",
    "payroll_entry",
    "credential",
}


def test_every_required_record_type_exists() -> None:
    assert set(RECORD_TYPES) == EXPECTED_TYPES


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_every_type_has_a_minimum_view_and_no_duplicate_fields(name: str) -> None:
    rt = RECORD_TYPES[name]
    names = [f.name for f in rt.fields]
    assert len(names) == len(set(names))
    assert rt.names_in(frozenset({Tier.MINIMUM})), f"{name} shows nothing to Minimum staff"
    assert all(f.tier is Tier.MINIMUM for f in rt.fields if f.required)


def test_views_nest_from_minimum_to_full() -> None:
    for rt in RECORD_TYPES.values():
        minimum = set(rt.names_in(VISIBLE_TIERS[AccessCategory.MINIMUM]))
        summary = set(rt.names_in(VISIBLE_TIERS[AccessCategory.SUMMARY]))
        full = set(rt.names_in(VISIBLE_TIERS[AccessCategory.FULL]))
        assert minimum <= summary <= full == {f.name for f in rt.fields}
        assert rt.names_in(VISIBLE_TIERS[AccessCategory.EMERGENCY_ONLY]) == ()


def test_credentials_show_expiry_to_minimum_staff() -> None:
    assert "expires_on" in RECORD_TYPES["credential"].names_in(frozenset({Tier.MINIMUM}))


def test_diagnosis_codes_are_summary_not_minimum() -> None:
    for rt in RECORD_TYPES.values():
        spec = rt.field("diagnosis_codes")
        if spec:
            assert spec.tier is Tier.SUMMARY


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (FieldSpec("d", Tier.MINIMUM, "date"), "2026-02-03", "2026-02-03"),
        (FieldSpec("n", Tier.SUMMARY, "number"), 12.5, 12.5),
        (FieldSpec("c", Tier.SUMMARY, "codes"), ["I10", "E11.9"], ["I10", "E11.9"]),
        (FieldSpec("t", Tier.FULL), "free text", "free text"),
        (FieldSpec("t", Tier.FULL), None, None),
    ],
)
def test_valid_values(spec, value, expected) -> None:
    assert clean_value(spec, value) == expected


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (FieldSpec("d", Tier.MINIMUM, "date"), "03/02/2026"),
        (FieldSpec("d", Tier.MINIMUM, "date"), 20260203),
        (FieldSpec("n", Tier.SUMMARY, "number"), "12"),
        (FieldSpec("n", Tier.SUMMARY, "number"), True),
        (FieldSpec("c", Tier.SUMMARY, "codes"), "I10"),
        (FieldSpec("c", Tier.SUMMARY, "codes"), ["I10; DROP TABLE"]),
        (FieldSpec("t", Tier.FULL, max_length=5), "too long"),
        (FieldSpec("t", Tier.FULL), {"nested": "object"}),
    ],
)
def test_invalid_values_name_the_field_not_the_value(spec, value) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_value(spec, value)
    assert f"'{spec.name}'" in caught.value.detail
    assert str(value) not in caught.value.detail


def test_unknown_type_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown record type"):
        record_type("x-ray-vision")
