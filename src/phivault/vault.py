"""The vault: the process-wide services every unit of work runs on (storage, keys, clock,
policy hooks, the standing of members), and the only door to tenant data.

``Vault.unit`` is the only way services reach tenant data. It scopes the transaction to the
tenant (RLS on PostgreSQL), carries the guard, and enforces I-3: allowed events commit with
the data or not at all; refusals are written after the rollback; if they cannot be written,
the caller gets 503 instead of the refusal it would otherwise see.

The vault is assembled at start-up (``phivault.bootstrap``): the packages that own members
and grants (identity) hand it the function that reads a member's standing, so that the guard,
below them, never imports them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phivault.access.guard import (
    UNREAD,
    AccessRefused,
    PolicyHook,
    StandingLoader,
    StandingRow,
    Unread,
)
from phivault.access.policy import Permission, PurposeOfUse
from phivault.access.unit import MAX_REASON_CHARS, Actor, ActorCheck, Unit
from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.events import EventDraft
from phivault.clock import Clock, system_clock
from phivault.config import Settings
from phivault.crypto.keyring import AUDIT_KEY_NAME, Keyring
from phivault.db.engine import SYSTEM_TENANT, Database, Scope
from phivault.errors import AuditUnavailable, InvalidInput

log = logging.getLogger("phivault.access")


@dataclass
class Vault:
    """Process-wide services: storage, keys, clock and policy hooks."""

    settings: Settings
    db: Database
    keyring: Keyring
    # Reads a member's standing in a tenant (identity.standing.load_standing).
    standing: StandingLoader
    clock: Clock = system_clock
    hooks: list[PolicyHook] = field(default_factory=list)

    @contextmanager
    def unit(
        self,
        tenant_id: uuid.UUID,
        actor: Actor | ActorCheck,
        purpose: PurposeOfUse | None = None,
        reason: str | None = None,
        declared: frozenset[Permission] | None = None,
    ) -> Iterator[Unit]:
        """A guarded transaction in one tenant.

        ``actor`` is who acts, or a check of the caller's credential that names them, run
        first in this transaction (:class:`~phivault.access.unit.ActorCheck`).

        ``declared`` is the set of permissions the calling route declared; the guard refuses
        any other (None: CLI and jobs, which are not routes).
        """
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"the reason is longer than {MAX_REASON_CHARS} characters")
        refusals: list[EventDraft] = []
        try:
            with self.db.transaction(Scope.tenant(tenant_id)) as session:
                standing: StandingRow | Unread | None = UNREAD
                if not isinstance(actor, Actor):
                    actor, standing = actor(session, refusals, tenant_id)
                unit = Unit(self, session, tenant_id, actor, purpose, refusals)
                unit.guard.preload_standing(standing)
                unit.declared = declared
                unit.guard.open_gates()
                if reason:
                    unit.store_reason(reason)
                yield unit
                unit.before_commit()
            self.write_refusals(unit.elsewhere)
        except AccessRefused as refused:
            self.write_refusals(refusals)
            raise refused.public from None
        except SQLAlchemyError as exc:
            log.error("transaction failed in tenant %s: %s", tenant_id, type(exc).__name__)
            self.write_refusals(refusals)
            raise AuditUnavailable() from exc
        except Exception:
            self.write_refusals(refusals)
            raise

    def write_refusals(self, refusals: list[EventDraft]) -> None:
        """Persist queued refusal events in a fresh transaction per tenant (fail closed)."""
        if not refusals:
            return
        try:
            by_tenant: dict[uuid.UUID, list[EventDraft]] = {}
            for draft in refusals:
                by_tenant.setdefault(self._chain_for(draft.tenant_id), []).append(draft)
            for tenant_id, drafts in by_tenant.items():
                with self.db.transaction(Scope.tenant(tenant_id)) as session:
                    key = self.keyring.system_key(session, AUDIT_KEY_NAME)
                    for draft in drafts:
                        if draft.tenant_id != tenant_id:
                            draft = _rehome(draft, tenant_id)
                        events.append(session, key, draft, lock=self.db.is_postgres)
        except Exception as exc:
            log.error("could not record %d refusal event(s): %s", len(refusals), type(exc).__name__)
            raise AuditUnavailable() from exc
        finally:
            refusals.clear()

    def _chain_for(self, tenant_id: uuid.UUID) -> uuid.UUID:
        """Refusals aimed at a tenant that does not exist go to the system chain."""
        with self.db.transaction(Scope.tenant(tenant_id)) as session:
            from phivault.audit.models import AuditHead

            exists = session.get(AuditHead, str(tenant_id)) is not None
        return tenant_id if exists else SYSTEM_TENANT

    def append_in(self, session: Session, draft: EventDraft) -> None:
        """Chain an event inside a caller's transaction (setup paths outside a unit)."""
        key = self.keyring.system_key(session, AUDIT_KEY_NAME)
        events.append(session, key, draft, lock=self.db.is_postgres)

    def setup_event(
        self,
        session: Session,
        tenant_id: uuid.UUID,
        action: AuditAction,
        actor: Actor,
        subject: uuid.UUID,
        fields: tuple[str, ...] = (),
        outcome: str = events.ALLOWED,
    ) -> None:
        """Audit an account change made outside a guarded unit (``init``, ``demo``, operator
        commands), in the caller's transaction."""
        self.append_in(
            session,
            EventDraft(
                tenant_id=tenant_id,
                action=action,
                outcome=outcome,
                occurred_at=self.clock(),
                actor_id=actor.member_id,
                session_id=actor.session_id,
                resource_type="member",
                resource_id=subject,
                source=actor.source,
                request_id=actor.request_id,
                fields=fields,
            ),
        )

    def append_system_event(self, draft: EventDraft) -> None:
        """Record a platform event (no tenant) in the system chain."""
        with self.db.transaction(Scope.tenant(SYSTEM_TENANT)) as session:
            key = self.keyring.system_key(session, AUDIT_KEY_NAME)
            events.append(session, key, _rehome(draft, SYSTEM_TENANT), lock=self.db.is_postgres)


def _rehome(draft: EventDraft, tenant_id: uuid.UUID) -> EventDraft:
    return replace(draft, tenant_id=tenant_id)
