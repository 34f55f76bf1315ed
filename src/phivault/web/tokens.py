"""One's own API tokens for integrations: list, create (shown once), revoke."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
