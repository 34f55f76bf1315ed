"""Creating tenants: keys, audit chain and role directory in one transaction."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from phivault.access.directory import install_preset
from phivault.access.unit import Actor
from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, EventDraft
from phivault.db.engine import Scope
from phivault.errors import Conflict, InvalidInput
from phivault.identity.service import grant_access
from phivault.tenancy.models import Tenant, TenantSettings
from phivault.vault import Vault

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class NewTenant:
    id: uuid.UUID
    name: str
    slug: str
    positions: dict[str, uuid.UUID]


ADMIN_POSITION = "IT Support Technician"


def do_create_tenant(
    vault: Vault, *, name: str, slug: str, actor: Actor, administer: bool = False
) -> NewTenant:
    """Create a tenant with its data and index keys, its audit chain and the WELD directory.

    The caller must already be authorized as a platform administrator; the event is chained in
    both the new tenant's log and the system log. With ``administer`` the creator gets
    administrator standing (workforce and directory) in an Emergency-only position: enough to
    appoint the tenant's privacy officer and staff, no routine access to its PHI.
    """
    name, slug = name.strip(), slug.strip().lower()
    if not name or len(name) > 200:
        raise InvalidInput("'name' must be 1 to 200 characters")
    if not _SLUG.match(slug):
        raise InvalidInput("'slug' must be 2-63 characters: lowercase letters, digits and -")
    tenant_id = uuid.uuid4()
    now = vault.clock()
    with vault.db.transaction(Scope.everything()) as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise Conflict("a tenant with that slug exists")
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        session.add(Tenant(id=tenant_id, name=name, slug=slug, status="active", created_at=now))
        session.flush()
        session.add(TenantSettings(tenant_id=tenant_id, updated_at=now))
        vault.keyring.create_tenant_keys(session, tenant_id, now)
        events.start_chain(session, tenant_id)
        positions = install_preset(session, tenant_id)
        if administer:
            grant_access(
                session,
                tenant_id=tenant_id,
                member_id=actor.member_id,
                position_id=positions[ADMIN_POSITION],
                now=now,
                administrator=True,
            )
        created = EventDraft(
            tenant_id=tenant_id,
            action=AuditAction.TENANT_CREATE,
            outcome=ALLOWED,
            occurred_at=now,
            actor_id=actor.member_id,
            session_id=actor.session_id,
            resource_type="tenant",
            resource_id=tenant_id,
            source=actor.source,
            request_id=actor.request_id,
            fields=("name", "slug", "administrator") if administer else ("name", "slug"),
        )
        vault.append_in(session, created)
    vault.append_system_event(created)  # also in the platform's own chain
    return NewTenant(tenant_id, name, slug, positions)
