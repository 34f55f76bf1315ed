"""Reading the audit trail in tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from phivault.audit.models import AuditEvent
from phivault.db.engine import Scope


def events(vault: Any, tenant_id: uuid.UUID | str, **match: Any) -> list[AuditEvent]:
    """Events of one tenant's chain, oldest first, filtered by column equality."""
    with vault.db.transaction(Scope.everything()) as session:
        query = select(AuditEvent).where(AuditEvent.tenant_id == str(tenant_id))
        for column, value in match.items():
            query = query.where(
                getattr(AuditEvent, column)
                == (str(value) if isinstance(value, uuid.UUID) else value)
            )
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def last_event(vault: Any, tenant_id: uuid.UUID | str, **match: Any) -> AuditEvent:
    found = events(vault, tenant_id, **match)
    assert found, f"no audit event matching {match}"
    return found[-1]
