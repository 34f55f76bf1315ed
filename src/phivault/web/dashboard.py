"""An agency's dashboard: what needs attention today."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from phivault.api.deps import declare
from phivault.web.common import VaultDep, render, tenant_context

router = APIRouter(include_in_schema=False)


@router.get("/t/{tenant_id}", openapi_extra=declare("self"))
def dashboard(request: Request, tenant_id: uuid.UUID, vault: VaultDep) -> Response:
    page = tenant_context(request, vault, tenant_id)
    if isinstance(page, Response):
        return page
    return render(request, "dashboard.html", section="dashboard", **page.vars())
