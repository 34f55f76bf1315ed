"""What the administration pages share: their base path, labels, result messages (fixed keys
in the query string, never names or other values) and how refusals are shown."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from phivault.access.policy import AccessCategory
from phivault.errors import Forbidden, PhivaultError
from phivault.web.common import (
    TenantPage,
    error_page,
    not_found,
)

BASE = "/t/{tenant_id}/admin"
CSRF = Annotated[str, Form(max_length=100)]

ACCESS_LABELS = {
    AccessCategory.FULL: "Full",
    AccessCategory.SUMMARY: "Summary",
    AccessCategory.MINIMUM: "Minimum",
    AccessCategory.EMERGENCY_ONLY: "Emergency only",
}
STATUS_LABELS = {
    "invited": "Invited (initial password not changed yet)",
    "active": "Active",
    "suspended": "Suspended",
    "terminated": "Terminated",
}
SETTING_LABELS = {
    "password_profile": "Password profile",
    "password_expiry_days": "Password expiry (days)",
    "password_history": "Passwords remembered",
    "idle_timeout_minutes": "Idle timeout (minutes)",
    "mfa_required": "Second factor required",
    "mfa_reverify_days": "Re-verify the second factor every (days)",
    "mfa_self_service_reset": "Self-service password reset",
}
DONE = {
    "added": "Member added.",
    "grant": "Position and duties saved. A change of role opens an access review for the "
    "privacy officer.",
    "manager": "Manager saved.",
    "suspend": "Account suspended: every session and API token of theirs has ended.",
    "terminate": "Account terminated: every session and API token has ended and their standing "
    "in every agency is revoked.",
    "reinstate": "Account reinstated: they can sign in again.",
    "reset-mfa": "Second factors removed: they set up a new one at their next sign-in. Their "
    "sessions have ended.",
    "end-sessions": "All their sessions have ended; they must sign in again.",
    "remove": "Standing in this agency revoked: their sessions and tokens have ended.",
    "role": "Role category added.",
    "position": "Position added.",
    "role-changed": "Role category saved.",
    "position-changed": "Position saved.",
    "settings": "Settings saved.",
    "confirmed": "Access confirmed.",
    "revoked": "Access revoked: their standing here has ended.",
}


def failed(request: Request, page: TenantPage, exc: PhivaultError, back: str) -> Response:
    """Refusals look like anything missing, even a permission the member lacks here (the
    administration of an agency is not shown to its staff); a stale session re-authenticates."""
    if isinstance(exc, Forbidden):
        return not_found(request, page)
    return error_page(request, page, exc, back)


def page_vars(page: TenantPage, sub: str, **extra: Any) -> dict[str, Any]:
    """Template variables of an administration page: the agency frame and its sub-navigation."""
    return {
        **page.vars(),
        "section": "admin",
        "sub": sub,
        "access_labels": ACCESS_LABELS,
        "status_labels": STATUS_LABELS,
        **extra,
    }


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None
