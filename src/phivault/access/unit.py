"""The unit of work: one transaction, one actor, one tenant, one purpose, and its guard.

Units are opened by ``phivault.vault.Vault.unit``, the only way services reach tenant data.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phivault.access.guard import UNREAD, Guard, StandingRow, Unread
from phivault.access.models import AccessReason
from phivault.access.policy import Permission, PurposeOfUse
from phivault.audit import events
from phivault.audit.events import EventDraft
from phivault.crypto.keyring import AUDIT_KEY_NAME, TenantCipher
from phivault.errors import AuditUnavailable

if TYPE_CHECKING:
    from phivault.vault import Vault

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


class CheckedActor(NamedTuple):
    """Who the credential names, and their standing in the unit's tenant when the check read
    it in the same statement (else UNREAD)."""

    actor: Actor
    standing: StandingRow | Unread | None = UNREAD


class ActorCheck(Protocol):
    """Checks the caller's credential inside the unit's own transaction, before anything else
    (an API token: one transaction, and one statement for the credential and the standing,
    then the work). An invalid credential queues its refusal event on ``refusals`` and
    raises."""

    def __call__(
        self, session: Session, refusals: list[EventDraft], tenant_id: uuid.UUID, /
    ) -> CheckedActor: ...


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
