"""Small parsers every page relies on: whole numbers, purposes, local redirect targets."""

from __future__ import annotations

import pytest

from phivault.access.policy import PurposeOfUse
from phivault.api.paging import MAX_OFFSET
from phivault.web.common import local_path, page_offset, parse_purpose, whole_number


@pytest.mark.parametrize(("text", "expected"), [("15", 15), (" 7 ", 7), ("-3", -3), ("0", 0)])
def test_whole_numbers(text: str, expected: int) -> None:
    assert whole_number(text) == expected


@pytest.mark.parametrize("text", ["", "--5", "²", "1.5", "1e3", "١٢", "12345678901", "5 days"])
def test_not_whole_numbers(text: str) -> None:
    assert whole_number(text) is None


def test_purposes() -> None:
    assert parse_purpose("payment") is PurposeOfUse.PAYMENT
    assert parse_purpose("") is None
    assert parse_purpose("curiosity") is None
    assert parse_purpose(["treatment"]) is None


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x", ""]
)
def test_redirects_stay_on_this_site(target: str) -> None:
    assert local_path(target) == "/"


def test_a_local_path_is_kept() -> None:
    assert local_path("/t/1/admin?done=grant") == "/t/1/admin?done=grant"


@pytest.mark.parametrize(("raw", "expected"), [(None, 0), ("", 0), ("0", 0), ("100", 100)])
def test_page_offsets(raw: str | None, expected: int) -> None:
    assert page_offset(raw) == expected


@pytest.mark.parametrize("raw", [str(2**63), str(MAX_OFFSET + 1), "-1", "abc", "1e3", "²", "1.5"])
def test_offsets_the_database_cannot_hold_or_that_are_not_numbers_are_refused(raw: str) -> None:
    assert page_offset(raw) is None
