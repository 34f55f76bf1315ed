"""An agency's dashboard: what needs attention today, for what this member may do.

Privacy officers see their queues (emergency access to review, access reviews), the audit
trail's activity as a server-drawn chart and the chain's last verification; managers see the
password resets waiting for them; those whose work is credential tracking (administrators,
scheduling, payroll and credentialing staff) see how many caregiver credentials have lapsed or
lapse soon — a count, read for operations and audited; the names are on the credentials page,
which asks for the purpose like any other list; everyone sees their own expiring password and
API tokens. Later procedures (requests due, trainings, incidents) add panels here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from phivault.access import breakglass
from phivault.access.policy import AccessCategory, Permission, PurposeOfUse
from phivault.access.unit import Unit
from phivault.api.deps import declare
from phivault.audit import service as audit_service
from phivault.identity import auth, lifecycle
from phivault.identity.service import list_tokens
from phivault.records.credentials import count_credentials_due, expiring_credentials
from phivault.vault import Vault
from phivault.web.charts import Chart, stacked_bars
from phivault.web.common import (
    AgencyPageDep,
    TenantPage,
    not_found,
    parse_purpose,
    render,
)

router = APIRouter(include_in_schema=False)
TOKEN_WARNING_DAYS = 14
DASHBOARD_PERMISSIONS = declare(
    Permission.RECORDS_READ,
    Permission.AUDIT_READ,
    Permission.BREAK_GLASS_REVIEW,
    Permission.ACCESS_REVIEW,
    Permission.DIRECTORY_READ,
)


@dataclass
class Dashboard:
    """Everything the page shows; a panel is None when the member may not see it."""

    break_glass: int | None = None
    access_reviews: int | None = None
    resets: int | None = None
    credentials: int | None = None
    lapsed: int = 0
    activity: Chart | None = None
    refused_today: int = 0
    emergency_week: int = 0
    verification: audit_service.Verification | None = None
    tokens: list[Any] = field(default_factory=list)


def _tracks_credentials(page: TenantPage) -> bool:
    """Credential tracking is the work of administrators and of scheduling, payroll and
    credentialing staff (the Minimum category); others are not shown it unasked."""
    if page.category in (None, AccessCategory.EMERGENCY_ONLY):
        return False  # no record view at all
    return page.can(Permission.WORKFORCE_MANAGE) or page.category is AccessCategory.MINIMUM


def _gather(unit: Unit, page: TenantPage) -> Dashboard:
    board = Dashboard()
    if page.can(Permission.BREAK_GLASS_REVIEW):
        board.break_glass = len(breakglass.list_break_glass(unit))
    if page.can(Permission.ACCESS_REVIEW):
        board.access_reviews = len(lifecycle.list_access_reviews(unit, "open"))
    if page.can(Permission.DIRECTORY_READ):
        board.resets = len(lifecycle.list_reset_requests(unit))
    if _tracks_credentials(page):
        counted = count_credentials_due(unit)
        board.credentials, board.lapsed = counted.due, counted.lapsed
    if page.can(Permission.AUDIT_READ):
        days = audit_service.activity_by_day(unit, days=14)
        board.activity = stacked_bars(
            "Audit entries per day, last 14 days (UTC)",
            [d.day.strftime("%d") for d in days],
            {
                "allowed": ("s-allowed", [d.allowed for d in days]),
                "refused": ("s-refused", [d.refused for d in days]),
            },
        )
        board.refused_today = days[-1].refused
        board.emergency_week = sum(d.break_glass for d in days[-7:])
        board.verification = audit_service.last_verification(unit)
    return board


def _expiring_tokens(vault: Vault, page: TenantPage) -> list[Any]:
    now = vault.clock()
    with auth.identity_transaction(vault) as db:
        tokens = list_tokens(db, page.resolved.member.id)
    return [
        t
        for t in tokens
        if t.revoked_at is None
        and t.expires_at is not None
        and now < t.expires_at <= now + timedelta(days=TOKEN_WARNING_DAYS)
    ]


@router.get("/t/{tenant_id}", openapi_extra=DASHBOARD_PERMISSIONS)
def dashboard(request: Request, tenant_id: uuid.UUID, page: AgencyPageDep) -> Response:
    if not page.permissions:
        return not_found(request, page)  # no standing here: the agency looks absent (I-5)
    # Credential tracking is an operations function (BOC: the office tracks them).
    with page.unit(PurposeOfUse.OPERATIONS) as unit:
        board = _gather(unit, page)
    board.tokens = _expiring_tokens(page.vault, page)
    return render(
        request,
        "dashboard.html",
        section="dashboard",
        board=board,
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
