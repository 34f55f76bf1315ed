"""One rule for every reason a member must give before an emergency act (break-glass, an
emergency search): a sentence a privacy officer can judge, not a keyboard mash.

A reason is stored exactly as typed (after the check); the check refuses, it never rewrites.
"""

from __future__ import annotations

import re

MIN_LENGTH = 20
MAX_LENGTH = 1000
MIN_WORDS = 4
MIN_DISTINCT_WORDS = 3

_WORD = re.compile(r"[^\W\d_]{2,}")
# Five of the same character in a row ("aaaaa", "!!!!!") is filler, not prose.
_RUN = re.compile(r"(.)\1{4,}")

SENTENCE_RULE = (
    f"a sentence saying what the emergency is: {MIN_LENGTH} to {MAX_LENGTH} characters, "
    f"at least {MIN_WORDS} words"
)


def sentence_problem(text: str) -> str | None:
    """Why ``text`` is not an acceptable reason, or None when it is.

    The message names the rule, never the text (it may hold PHI and ends up in logs)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not MIN_LENGTH <= len(text.strip()) <= MAX_LENGTH or len(text) > MAX_LENGTH:
        return f"Give {SENTENCE_RULE}."
    if len(words) < MIN_WORDS or len(set(words)) < MIN_DISTINCT_WORDS or _RUN.search(text):
        return f"Give {SENTENCE_RULE}, not filler."
    return None
