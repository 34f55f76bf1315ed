"""The vault and its unit of work: one transaction, one actor, one tenant, one purpose.

``Vault.unit`` is the only way services reach tenant data. It scopes the transaction to the
tenant (RLS on PostgreSQL), carries the guard, and enforces I-3: allowed events commit with
the data or not at all; refusals are written after the rollback; if they cannot be written,
the caller gets 503 instead of the refusal it would otherwise see.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phivault.access.guard import AccessRefused, Guard, PolicyHook
from phivault.access.models import AccessReason
from phivault.access.policy import Permission, PurposeOfUse
from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.events import EventDraft
from phivault.clock import Clock, system_clock
from phivault.config import Settings
from phivault.crypto.keyring import AUDIT_KEY_NAME, Keyring, TenantCipher
from phivault.db.engine import SYSTEM_TENANT, Database, Scope
from phivault.errors import AuditUnavailable, InvalidInput

log = logging.getLogger("phivault.access")

MAX_REASON_CHARS = 1000


@dataclass(frozen=True)
class Assurance:
    """How well the actor proved who they are. The guard refuses tenant work until the
    password is settled (changed after issue, not expired: AUTH-3) and, where the tenant or role
    requires it, a second factor was verified (AUTH-5)."""

    password_ok: bool = True
    mfa: bool = True

    @classmethod
    def complete(cls) -> Assurance:
        return cls(True, True)


@dataclass(frozen=True)
class Actor:
    """Who is asking, and through which session or token, from where.

    Routes always set ``assurance`` (and a token's scopes) from the credential they saw; the
    complete default is for the CLI and jobs, which run as the operator.
    """

    member_id: uuid.UUID
    session_id: str = ""
    source: str = ""
    request_id: str = ""
    assurance: Assurance = field(default_factory=Assurance.complete)
    # An API token's scope: the one tenant it works in and the permissions it may use.
    token_tenant: uuid.UUID | None = None
    token_scopes: frozenset[Permission] | None = None


@dataclass
class Vault:
    """Process-wide services: storage, keys, clock and policy hooks."""

    settings: Settings
    db: Database
    keyring: Keyring
    clock: Clock = system_clock
    hooks: list[PolicyHook] = field(default_factory=list)

    @contextmanager
    def unit(
        self,
        tenant_id: uuid.UUID,
        actor: Actor,
        purpose: PurposeOfUse | None = None,
        reason: str | None = None,
        declared: frozenset[Permission] | None = None,
    ) -> Iterator[Unit]:
        """A guarded transaction in one tenant.

        ``declared`` is the set of permissions the calling route declared; the guard refuses
        any other (None: CLI and jobs, which are not routes).
        """
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"the reason is longer than {MAX_REASON_CHARS} characters")
        refusals: list[EventDraft] = []
        try:
            with self.db.transaction(Scope.tenant(tenant_id)) as session:
                unit = Unit(self, session, tenant_id, actor, purpose, refusals)
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
    from dataclasses import replace

    return replace(draft, tenant_id=tenant_id)


class Unit:
    """One guarded transaction. Services receive it and never open their own sessions."""

    def __init__(
        self,
        vault: Vault,
        session: Session,
        tenant_id: uuid.UUID,
        actor: Actor,
        purpose: PurposeOfUse | None,
        refusals: list[EventDraft],
    ) -> None:
        self.vault = vault
        self.session = session
        self.tenant_id = tenant_id
        self.actor = actor
        self.purpose = purpose
        self.refusals = refusals
        # Allowed events for other tenants' chains (an act on an account that serves them
        # too, ACC-12): written in their own transactions once this one has committed.
        self.elsewhere: list[EventDraft] = []
        self.reason_ref: uuid.UUID | None = None
        self.declared: frozenset[Permission] | None = None
        self.now: datetime = vault.clock()
        self.guard = Guard(self)
        self._audit_key: bytes | None = None

    @cached_property
    def cipher(self) -> TenantCipher:
        return self.vault.keyring.for_tenant(self.session, self.tenant_id)

    def store_reason(self, reason: str) -> None:
        """Keep a free-text reason encrypted; audit events refer to it by id only."""
        reason_id = uuid.uuid4()
        self.session.add(
            AccessReason(
                tenant_id=self.tenant_id,
                id=reason_id,
                member_id=self.actor.member_id,
                reason_ct=self.cipher.encrypt_text(
                    "access_reasons", "reason_ct", reason_id, reason
                ),
                created_at=self.now,
            )
        )
        self.reason_ref = reason_id

    def append_event(self, draft: EventDraft) -> None:
        if self._audit_key is None:
            self._audit_key = self.vault.keyring.system_key(self.session, AUDIT_KEY_NAME)
        try:
            events.append(self.session, self._audit_key, draft, lock=self.vault.db.is_postgres)
        except SQLAlchemyError as exc:
            raise AuditUnavailable() from exc

    def before_commit(self) -> None:
        unrecorded = [d.action for d in self.guard.decisions if not d.recorded]
        if unrecorded:
            # A service decided but never audited: refuse to commit rather than leak (I-3).
            raise AuditUnavailable(f"unaudited access decision(s): {', '.join(unrecorded)}")
        self.session.flush()
