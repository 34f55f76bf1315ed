"""What needs attention in an agency today, for what this member may do: the dashboard's
policy and counts, for any interface (the web page today).

Privacy officers see their queues (emergency access to review, access reviews), the audit
trail's activity and the chain's last verification; managers see the password resets waiting
for them; those whose work is credential tracking (administrators, scheduling, payroll and
credentialing staff) see how many caregiver credentials have lapsed or lapse soon — a count,
read for operations and audited; everyone sees their own expiring API tokens. Later
procedures (requests due, trainings, incidents) add their counts here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from phivault.access import breakglass
from phivault.access.policy import AccessCategory, Permission
from phivault.access.unit import Unit
from phivault.audit import service as audit_service
from phivault.identity import auth, lifecycle
from phivault.identity.service import list_tokens
from phivault.records.credentials import count_credentials_due
from phivault.vault import Vault

TOKEN_WARNING_DAYS = 14
ACTIVITY_DAYS = 14


@dataclass
class Attention:
    """Everything the dashboard shows; a count is None when the member may not see it."""

    break_glass: int | None = None
    access_reviews: int | None = None
    resets: int | None = None
    credentials: int | None = None
    lapsed: int = 0
    activity: list[audit_service.DayActivity] | None = None
    refused_today: int = 0
    emergency_week: int = 0
    verification: audit_service.Verification | None = None
    tokens: list[Any] = field(default_factory=list)


def tracks_credentials(category: AccessCategory | None, permissions: frozenset[Permission]) -> bool:
    """Credential tracking is the work of administrators and of scheduling, payroll and
    credentialing staff (the Minimum category); others are not shown it unasked."""
    if category in (None, AccessCategory.EMERGENCY_ONLY):
        return False  # no record view at all
    return Permission.WORKFORCE_MANAGE in permissions or category is AccessCategory.MINIMUM


def attention(
    unit: Unit, category: AccessCategory | None, permissions: frozenset[Permission]
) -> Attention:
    """The counts this member's standing shows, each read through the guard (audited)."""
    board = Attention()
    if Permission.BREAK_GLASS_REVIEW in permissions:
        board.break_glass = len(breakglass.list_break_glass(unit))
    if Permission.ACCESS_REVIEW in permissions:
        board.access_reviews = len(lifecycle.list_access_reviews(unit, "open"))
    if Permission.DIRECTORY_READ in permissions:
        board.resets = len(lifecycle.list_reset_requests(unit))
    if tracks_credentials(category, permissions):
        counted = count_credentials_due(unit)
        board.credentials, board.lapsed = counted.due, counted.lapsed
    if Permission.AUDIT_READ in permissions:
        days = audit_service.activity_by_day(unit, days=ACTIVITY_DAYS)
        board.activity = days
        board.refused_today = days[-1].refused
        board.emergency_week = sum(d.break_glass for d in days[-7:])
        board.verification = audit_service.last_verification(unit)
    return board


def expiring_tokens(vault: Vault, member_id: uuid.UUID) -> list[Any]:
    """The member's own API tokens that expire within TOKEN_WARNING_DAYS."""
    now = vault.clock()
    with auth.identity_transaction(vault) as db:
        tokens = list_tokens(db, member_id)
    return [
        t
        for t in tokens
        if t.revoked_at is None
        and t.expires_at is not None
        and now < t.expires_at <= now + timedelta(days=TOKEN_WARNING_DAYS)
    ]
