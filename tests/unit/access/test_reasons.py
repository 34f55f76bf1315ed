"""The one reason rule shared by break-glass and the emergency search."""

from __future__ import annotations

import pytest

from phivault.access.reasons import MAX_LENGTH, sentence_problem


@pytest.mark.parametrize(
    "reason",
    [
        "Patient unresponsive on scene, need allergy list before giving drugs",
        "Crew needs prior ECG and medication list for chest pain call",
    ],
)
def test_a_real_sentence_is_accepted(reason: str) -> None:
    assert sentence_problem(reason) is None


@pytest.mark.parametrize(
    "reason",
    [
        "aaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "emergency emergency emergency emergency",
        "12345678901234567890123",
        "need it now",
        "   ",
        "Patient collapsed, need the chart!!!!!!!!",
        "word " * (MAX_LENGTH // 5 + 1),
    ],
)
def test_filler_short_or_overlong_reasons_are_refused(reason: str) -> None:
    problem = sentence_problem(reason)
    assert problem is not None and "sentence" in problem


def test_the_message_never_repeats_the_reason() -> None:
    reason = "Smith Smith Smith Smith Smith Smith"
    problem = sentence_problem(reason)
    assert problem is not None and "Smith" not in problem
