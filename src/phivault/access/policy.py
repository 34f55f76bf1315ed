"""Permissions, data access categories and view tiers: the vocabulary of the guard.

Permissions are one enum named ``<scope>:<resource>:<action>``. Which permissions a tenant
grant carries follows from its duties; which *fields* it sees follows from its position's data
access category (ACC-1, ACC-2).
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PEOPLE_READ = "tenant:people:read"
    PEOPLE_WRITE = "tenant:people:write"
    RECORDS_READ = "tenant:records:read"
    RECORDS_WRITE = "tenant:records:write"
    DOCUMENTS_READ = "tenant:documents:read"
    DOCUMENTS_WRITE = "tenant:documents:write"
    BREAK_GLASS_INVOKE = "tenant:break-glass:invoke"
    BREAK_GLASS_REVIEW = "tenant:break-glass:review"
    AUDIT_READ = "tenant:audit:read"
    AUDIT_VERIFY = "tenant:audit:verify"
    DIRECTORY_READ = "tenant:directory:read"
    DIRECTORY_MANAGE = "tenant:directory:manage"
    WORKFORCE_MANAGE = "tenant:workforce:manage"
    SETTINGS_MANAGE = "tenant:settings:manage"
    ACCESS_REVIEW = "tenant:access-reviews:manage"
    TENANTS_CREATE = "platform:tenants:create"


# Permissions that touch PHI: each needs a stated purpose of use (ACC-2).
PHI_PERMISSIONS = frozenset(
    {
        Permission.PEOPLE_READ,
        Permission.PEOPLE_WRITE,
        Permission.RECORDS_READ,
        Permission.RECORDS_WRITE,
        Permission.DOCUMENTS_READ,
        Permission.DOCUMENTS_WRITE,
        Permission.BREAK_GLASS_INVOKE,
    }
)


class AccessCategory(StrEnum):
    """WELD 'Data Access Categories'."""

    FULL = "full"
    SUMMARY = "summary"
    MINIMUM = "minimum"
    EMERGENCY_ONLY = "emergency"


class Tier(StrEnum):
    """The view a field belongs to. Lower tiers are shown to more categories."""

    MINIMUM = "minimum"
    SUMMARY = "summary"
    FULL = "full"


TIER_ORDER = (Tier.MINIMUM, Tier.SUMMARY, Tier.FULL)

VISIBLE_TIERS: dict[AccessCategory, frozenset[Tier]] = {
    AccessCategory.FULL: frozenset(TIER_ORDER),
    AccessCategory.SUMMARY: frozenset({Tier.MINIMUM, Tier.SUMMARY}),
    AccessCategory.MINIMUM: frozenset({Tier.MINIMUM}),
    AccessCategory.EMERGENCY_ONLY: frozenset(),
}


class PurposeOfUse(StrEnum):
    TREATMENT = "treatment"
    PAYMENT = "payment"
    OPERATIONS = "operations"
    OTHER = "other"


class Sensitivity(StrEnum):
    """Sensitive categories disclosed only under an authorization that names them (ACC-7)."""

    SUBSTANCE_USE = "substance_use"
    MENTAL_HEALTH = "mental_health"
    PSYCHOTHERAPY_NOTES = "psychotherapy_notes"
    HIV = "hiv"


_EVERY_GRANT = frozenset(
    {
        Permission.PEOPLE_READ,
        Permission.RECORDS_READ,
        Permission.DOCUMENTS_READ,
        Permission.BREAK_GLASS_INVOKE,
        Permission.DIRECTORY_READ,
    }
)
_WRITERS = frozenset(
    {Permission.PEOPLE_WRITE, Permission.RECORDS_WRITE, Permission.DOCUMENTS_WRITE}
)
_PRIVACY_OFFICER = frozenset(
    {
        Permission.AUDIT_READ,
        Permission.AUDIT_VERIFY,
        Permission.BREAK_GLASS_REVIEW,
        Permission.DIRECTORY_MANAGE,
        Permission.WORKFORCE_MANAGE,
        Permission.SETTINGS_MANAGE,
        Permission.ACCESS_REVIEW,
    }
)
_ADMINISTRATOR = frozenset(
    {Permission.DIRECTORY_MANAGE, Permission.WORKFORCE_MANAGE, Permission.SETTINGS_MANAGE}
)


def grant_permissions(
    category: AccessCategory, *, privacy_officer: bool, administrator: bool
) -> frozenset[Permission]:
    """Permissions carried by an active tenant grant."""
    permissions = set(_EVERY_GRANT)
    if category is not AccessCategory.EMERGENCY_ONLY:
        permissions |= _WRITERS
    if privacy_officer:
        permissions |= _PRIVACY_OFFICER
    if administrator:
        permissions |= _ADMINISTRATOR
    return frozenset(permissions)
