"""An agency's dashboard page and the caregiver credentials list it links to.

What the dashboard counts, and for whom, is decided in :mod:`phivault.dashboard`; this page
draws it (the audit activity as a server-drawn chart). The names behind the credential count
are on the credentials page, which asks for the purpose like any other list.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from phivault import dashboard as dashboard_service
from phivault.access.policy import Permission, PurposeOfUse
from phivault.api.deps import declare
from phivault.records.credentials import expiring_credentials
from phivault.web.charts import Chart, stacked_bars
from phivault.web.common import (
    AgencyPageDep,
    parse_purpose,
    render,
)

router = APIRouter(include_in_schema=False)
DASHBOARD_PERMISSIONS = declare(
    Permission.RECORDS_READ,
    Permission.AUDIT_READ,
    Permission.BREAK_GLASS_REVIEW,
    Permission.ACCESS_REVIEW,
    Permission.DIRECTORY_READ,
)


def _activity_chart(board: dashboard_service.Attention) -> Chart | None:
    days = board.activity
    if days is None:
        return None
    return stacked_bars(
        f"Audit entries per day, last {len(days)} days (UTC)",
        [d.day.strftime("%d") for d in days],
        {
            "allowed": ("s-allowed", [d.allowed for d in days]),
            "refused": ("s-refused", [d.refused for d in days]),
        },
    )


@router.get("/t/{tenant_id}", openapi_extra=DASHBOARD_PERMISSIONS)
def dashboard(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    # Credential tracking is an operations function (BOC: the office tracks them).
    with page.unit(PurposeOfUse.OPERATIONS) as unit:
        board = dashboard_service.attention(unit, page.category, page.permissions)
    board.tokens = dashboard_service.expiring_tokens(page.vault, page.resolved.member.id)
    return render(
        request,
        "dashboard.html",
        section="dashboard",
        board=board,
        activity=_activity_chart(board),
        today=page.vault.clock(),
        password_warning=page.view.password_expires_in_days,
        **page.vars(),
    )


@router.get(
    "/t/{tenant_id}/credentials",
    openapi_extra=declare(Permission.RECORDS_READ, Permission.PEOPLE_READ),
)
def credentials(
    request: Request, tenant_id: uuid.UUID, page: AgencyPageDep, purpose: str = ""
) -> Response:
    """Caregivers whose credentials have lapsed or lapse within 30 days, for a stated purpose
    (asked first, like any list of people); every caregiver named is an audited read."""
    use = parse_purpose(purpose)
    due = None
    if use is not None:
        with page.unit(use) as unit:
            due = expiring_credentials(unit)
    return render(
        request,
        "credentials.html",
        section="people",
        due=due,
        purpose=use.value if use else "",
        purposes=[p.value for p in PurposeOfUse if p is not PurposeOfUse.OTHER],
        **page.vars(),
    )
