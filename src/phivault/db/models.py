"""Import every model so the metadata is complete (for migrations and tests)."""

from phivault.access.models import AccessReason, BreakGlassGrant, Position, RoleCategory
from phivault.audit.models import AuditEvent, AuditHead, AuditHour
from phivault.crypto.models import KeyRotation, SystemKey, TenantKey
from phivault.db.base import Base
from phivault.identity.credentials import (
    PasswordCredential,
    PasswordHistory,
    RecoveryCode,
    TotpCredential,
    WebAuthnCredential,
)
from phivault.identity.models import AccessReview, ApiToken, Member, TenantGrant
from phivault.identity.session_models import (
    LoginSession,
    RememberedDevice,
    ResetRequest,
    ThrottleEntry,
)
from phivault.notifications.models import Notification
from phivault.records.models import (
    CredentialSlot,
    CredentialSlotBuild,
    Document,
    Person,
    Record,
)
from phivault.tenancy.models import Tenant, TenantSettings

# Tables that belong to no tenant. They hold no PHI: workforce accounts and their credentials,
# sessions, platform keys. Every other table's primary key starts with tenant_id (I-5).
PLATFORM_TABLES = frozenset(
    {
        "members",
        "api_tokens",
        "system_keys",
        "tenants",
        "passwords",
        "password_history",
        "totp_credentials",
        "recovery_codes",
        "webauthn_credentials",
        "sessions",
        "remembered_devices",
        "auth_throttle",
        "password_resets",
    }
)

__all__ = [
    "PLATFORM_TABLES",
    "AccessReason",
    "AccessReview",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "AuditHour",
    "Base",
    "BreakGlassGrant",
    "CredentialSlot",
    "CredentialSlotBuild",
    "Document",
    "KeyRotation",
    "LoginSession",
    "Member",
    "Notification",
    "PasswordCredential",
    "PasswordHistory",
    "Person",
    "Position",
    "Record",
    "RecoveryCode",
    "RememberedDevice",
    "ResetRequest",
    "RoleCategory",
    "SystemKey",
    "Tenant",
    "TenantGrant",
    "TenantKey",
    "TenantSettings",
    "ThrottleEntry",
    "TotpCredential",
    "WebAuthnCredential",
]
