"""Administration pages of an agency: workforce, role directory, security settings, password
resets and access reviews — for the office manager and privacy officer, on the same guarded
services as the API.

Every page opens a guarded unit, so someone without the permission gets the same 404 page as
for anything missing (I-5). User administration, settings, reset authorization and access
reviews need a fresh re-authentication, like their API routes: a form page that leads to one
of them sends a stale session to /reauth first, and the POST checks again. Result messages
travel as fixed keys in the query string (never names or other values).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from phivault.web.admin import directory, queues, workforce
from phivault.web.common import hide_forbidden

# The administration of an agency is not shown to its staff: a permission the member lacks
# here looks like anything missing.
router = APIRouter(include_in_schema=False, dependencies=[Depends(hide_forbidden)])
router.include_router(workforce.router)
router.include_router(directory.router)
router.include_router(queues.router)
