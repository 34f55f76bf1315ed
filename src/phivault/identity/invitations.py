"""Invitations (ACC-12): an agency that wants an existing account — someone who already
serves another agency, or whose standing here was revoked — cannot simply pull it in. It
invites; the grant carries no standing until the account's owner, fully signed in, accepts.
Acceptance is audited in the inviting agency's chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from phivault.access.models import Position
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, EventDraft
from phivault.errors import NotFound
from phivault.identity import auth
from phivault.identity.models import TenantGrant
from phivault.identity.service import INVITED
from phivault.tenancy.models import Tenant
from phivault.vault import Vault


@dataclass(frozen=True)
class Invitation:
    tenant_id: uuid.UUID
    tenant_name: str
    position: str
    privacy_officer: bool
    administrator: bool


def my_invitations(vault: Vault, member_id: uuid.UUID) -> list[Invitation]:
    """The agencies waiting for this account's consent (agency and position names only)."""
    with auth.identity_transaction(vault) as db:
        rows = db.execute(
            select(TenantGrant, Tenant.name, Position.title)
            .join(Tenant, Tenant.id == TenantGrant.tenant_id)
            .join(
                Position,
                (Position.tenant_id == TenantGrant.tenant_id)
                & (Position.id == TenantGrant.position_id),
            )
            .where(TenantGrant.member_id == member_id, TenantGrant.status == INVITED)
            .order_by(Tenant.name)
        ).all()
        return [
            Invitation(g.tenant_id, name, title, g.is_privacy_officer, g.is_administrator)
            for g, name, title in rows
        ]


def accept_invitation(
    vault: Vault, member_id: uuid.UUID, tenant_id: uuid.UUID, client: auth.Client, *, session: str
) -> None:
    """The account's owner accepts: the grant becomes standing. Callers have checked that the
    sign-in is complete (password and second factor)."""
    with auth.identity_transaction(vault) as db:
        grant = db.get(TenantGrant, (tenant_id, member_id))
        if grant is None or grant.status != INVITED:
            raise NotFound()
        grant.status = "active"
        grant.granted_at = vault.clock()
    # The inviting agency's own chain records the consent.
    vault.write_refusals(
        [
            EventDraft(
                tenant_id=tenant_id,
                action=AuditAction.WORKFORCE_INVITE_ACCEPT,
                outcome=ALLOWED,
                occurred_at=vault.clock(),
                actor_id=member_id,
                session_id=session,
                resource_type="member",
                resource_id=member_id,
                fields=("status",),
                source=client.source,
                request_id=client.request_id,
            )
        ]
    )
