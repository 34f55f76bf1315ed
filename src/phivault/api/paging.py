"""Paging bounds shared by the API and the pages.

An offset is a row count: beyond ``MAX_OFFSET`` no list has rows, and a number the database
cannot hold (2**63 and more) would fail inside the driver, so the edge refuses it first with
a problem (API) or a readable page (web) instead of a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 1_000_000_000
# The API's offset query parameter: a whole number from 0 to MAX_OFFSET, else 422.
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
