"""Parsing record forms: values per field kind, and a readable message at each bad field."""

from __future__ import annotations

import pytest

from phivault.records.types import RECORD_TYPES
from phivault.web.records import display_value, parse_fields

CLAIM = RECORD_TYPES["billing_claim"].fields


def _form(**fields: str) -> dict[str, str]:
    return {f"f_{k}": v for k, v in fields.items()}


def test_values_are_typed_by_field_kind() -> None:
    values, errors = parse_fields(
        CLAIM,
        _form(
            claim_date="2026-02-03",
            amount="120.50",
            procedure_codes="99213, 99214;G0180",
            payer="  Fabricated Mutual  ",
            notes="",
        ),
    )
    assert errors == {}
    assert values["amount"] == "120.50"  # money is a Decimal string, exactly as given
    assert values["procedure_codes"] == ["99213", "99214", "G0180"]
    assert values["payer"] == "Fabricated Mutual"
    assert values["notes"] is None


def test_whole_amounts_get_two_places() -> None:
    values, _ = parse_fields(CLAIM, _form(claim_date="2026-02-03", amount="120"))
    assert values["amount"] == "120.00"


def test_amounts_that_storing_would_change_are_refused_on_the_page_too() -> None:
    for text in ("99999999999999999999999999999", "19.999", "-5"):
        _, errors = parse_fields(CLAIM, _form(claim_date="2026-02-03", amount=text))
        assert set(errors) == {"amount"}, text


def test_each_bad_field_gets_its_own_message_without_its_value() -> None:
    _, errors = parse_fields(
        CLAIM, _form(claim_date="03/02/2026", amount="a lot", diagnosis_codes="I10 <script>")
    )
    assert errors == {
        "claim_date": "Must be a date (YYYY-MM-DD).",
        "amount": "Must be an amount.",
        "diagnosis_codes": "Must be a list of codes.",
    }
    assert not any("a lot" in m or "script" in m for m in errors.values())


def test_a_missing_required_field_is_named() -> None:
    _, errors = parse_fields(CLAIM, _form(payer="Fabricated Mutual"))
    assert errors == {"claim_date": "This field is required."}


def test_codes_are_shown_back_as_text() -> None:
    codes = next(f for f in CLAIM if f.name == "procedure_codes")
    assert display_value(codes, ["99213", "G0180"]) == "99213, G0180"
    assert display_value(codes, None) == ""


@pytest.mark.parametrize("text", ["inf", "nan", "1e400", "-Infinity"])
def test_numbers_that_are_not_amounts_are_refused(text: str) -> None:
    _, errors = parse_fields(CLAIM, _form(claim_date="2026-02-03", amount=text))
    assert set(errors) == {"amount"}
    assert errors["amount"] in ("Must be an amount.", "Must be at most 999999999.99.")
