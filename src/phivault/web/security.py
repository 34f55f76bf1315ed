"""Account security pages: passkeys (register, use, remove) and recovery codes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
