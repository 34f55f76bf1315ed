"""Import every model so the metadata is complete (for migrations and tests)."""

from phivault.access.models import AccessReason, BreakGlassGrant, Position, RoleCategory
from phivault.audit.models import AuditEvent, AuditHead
from phivault.crypto.models import KeyRotation, SystemKey, TenantKey
from phivault.db.base import Base
from phivault.identity.models import ApiToken, Member, TenantGrant
from phivault.records.models import Document, Person, Record
from phivault.tenancy.models import Tenant

__all__ = [
    "AccessReason",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BreakGlassGrant",
    "Document",
    "KeyRotation",
    "Member",
    "Person",
    "Position",
    "Record",
    "RoleCategory",
    "SystemKey",
    "Tenant",
    "TenantGrant",
    "TenantKey",
]
