"""The security policy that applies to one member: the strictest of their tenants' settings.

Back-office staff serve several agencies. Rather than switching rules as they switch agencies,
a member lives under the union of every agency's rules: the shortest idle timeout, MFA if any
agency or role requires it, the most frequent MFA re-verification, every password rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.models import RoleCategory
from phivault.identity.models import TenantGrant
from phivault.identity.roles import join_role
from phivault.tenancy.models import TenantSettings

DEFAULT_IDLE_MINUTES = 10
MAX_IDLE_MINUTES = 15  # AUTH-6: never above 15 minutes
IDLE_PRESETS = (5, 10)
ABSOLUTE_SESSION_HOURS = 12


@dataclass(frozen=True)
class PasswordRules:
    """One tenant's password profile, as the password checker takes it."""

    profile: str
    expiry_days: int
    history_count: int


@dataclass(frozen=True)
class MemberPolicy:
    idle_minutes: int
    mfa_required: bool
    mfa_reverify_days: int
    password_rules: tuple[PasswordRules, ...]
    self_service_reset: bool
    tenant_names: tuple[str, ...]


def member_policy(session: Session, member_id: uuid.UUID) -> MemberPolicy:
    """Combine the settings of every tenant the member has active standing in.

    Runs in a system-scoped transaction (it reads several tenants' settings, never PHI). A
    member without standing anywhere gets the defaults.
    """
    from phivault.tenancy.models import Tenant

    rows = session.execute(
        join_role(
            select(TenantSettings, RoleCategory.mfa_required, Tenant.name)
            .join(TenantGrant, TenantGrant.tenant_id == TenantSettings.tenant_id)
            .join(Tenant, Tenant.id == TenantSettings.tenant_id)
        ).where(TenantGrant.member_id == member_id, TenantGrant.status == "active")
    ).all()
    if not rows:
        return MemberPolicy(
            DEFAULT_IDLE_MINUTES, True, 30, (PasswordRules("nist", 0, 0),), False, ()
        )
    settings = [r[0] for r in rows]
    mfa = any((s.mfa_required if role is None else role) for s, role, _ in rows)
    return MemberPolicy(
        idle_minutes=min(min(s.idle_timeout_minutes for s in settings), MAX_IDLE_MINUTES),
        mfa_required=mfa,
        mfa_reverify_days=min(s.mfa_reverify_days for s in settings),
        password_rules=tuple(
            sorted(
                {
                    PasswordRules(s.password_profile, s.password_expiry_days, s.password_history)
                    for s in settings
                },
                key=lambda r: (r.profile, r.expiry_days, r.history_count),
            )
        ),
        self_service_reset=all(s.mfa_self_service_reset for s in settings),
        tenant_names=tuple(sorted({name for _, _, name in rows})),
    )
