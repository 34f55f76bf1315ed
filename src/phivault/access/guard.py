"""The guard (I-1, I-2, I-3): decide, project, audit — for every touch of PHI.

A service asks the guard *before* it returns or changes anything. The guard answers with a
:class:`Decision` naming the tiers the caller may see, or refuses: the refusal is audited
(after the transaction rolls back, so nothing else of it survives) and surfaces as 404 for a
named resource — absent and forbidden look the same — or 403 for a tenant-level action.

An allowed decision must be *recorded* (``guard.record``) with the field names actually
returned or written; the unit of work refuses to commit while a decision is unrecorded, so
forgetting the audit fails closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import ColumnElement, ScalarSelect, Select, Uuid, bindparam, select

from phivault.access.models import BreakGlassGrant
from phivault.access.policy import (
    PHI_PERMISSIONS,
    TIER_ORDER,
    VISIBLE_TIERS,
    AccessCategory,
    Permission,
    PurposeOfUse,
    Tier,
    grant_permissions,
)
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, REFUSED, EventDraft
from phivault.db.base import UTCDateTime
from phivault.errors import (
    Forbidden,
    MfaRequired,
    NotFound,
    PasswordChangeRequired,
    PhivaultError,
    PurposeRequired,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute, Session

    from phivault.access.unit import Unit


class StandingRow(NamedTuple):
    """What the guard needs to know of a member's standing in a tenant."""

    member_status: str
    grant_status: str
    privacy_officer: bool
    administrator: bool
    access_category: str
    role_mfa_required: bool | None
    tenant_mfa_required: bool


# Reads a member's standing in a tenant, or None without a grant there. The identity package,
# which owns members and grants, provides it to the vault at start-up: the guard stays below
# the packages that use it.
StandingLoader = Callable[["Session", uuid.UUID, uuid.UUID], StandingRow | None]


@dataclass(frozen=True)
class Standing:
    """The actor's active grant in the unit's tenant."""

    category: AccessCategory
    permissions: frozenset[Permission]
    privacy_officer: bool
    mfa_required: bool


@dataclass
class Decision:
    permission: Permission
    action: AuditAction
    resource_type: str
    resource_id: uuid.UUID | str | None
    person_id: uuid.UUID | None
    tiers: frozenset[Tier]
    break_glass: bool = False
    ref: uuid.UUID | None = None
    recorded: bool = field(default=False, compare=False)

    @property
    def full(self) -> bool:
        return Tier.FULL in self.tiers


@dataclass(frozen=True)
class AccessRequest:
    """What a policy hook sees: enough to decide, no PHI values."""

    tenant_id: uuid.UUID
    member_id: uuid.UUID
    permission: Permission
    action: AuditAction
    person_id: uuid.UUID | None
    purpose: PurposeOfUse | None
    break_glass: bool
    sensitivity: frozenset[str]


# A hook returns None to stay silent or a refusal reason code. Later issues plug in agreed
# restrictions (ACC-6), authorizations (ACC-7) and workforce standing (ACC-8) here.
PolicyHook = Callable[["Unit", AccessRequest], str | None]


class AccessRefused(Exception):
    """Raised inside a unit; the unit records the refusal and raises ``public``."""

    def __init__(self, public: PhivaultError) -> None:
        super().__init__(public.detail)
        self.public = public


# Built once: constructing a select() costs more than running it (bench/guarded_read.py), and
# these two run on every guarded access.
# Typed explicitly: a foreign-key column takes its type from the table it points at, which
# may not be loaded yet when this module is (the bound value would then go out untyped).
_ID = Uuid()


def _break_glass_of(
    person_id: ColumnElement[uuid.UUID] | InstrumentedAttribute[uuid.UUID], tenant: str
) -> Select[uuid.UUID]:
    """The member's open emergency grant for a person, latest expiry first (bound values:
    ``tenant`` as named, ``bg_member``, ``bg_now``)."""
    return (
        select(BreakGlassGrant.id)
        .where(
            BreakGlassGrant.tenant_id == bindparam(tenant, type_=_ID),
            BreakGlassGrant.member_id == bindparam("bg_member", type_=_ID),
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.expires_at > bindparam("bg_now", type_=UTCDateTime()),
            BreakGlassGrant.ended_at.is_(None),
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )


_BREAK_GLASS = _break_glass_of(bindparam("person", type_=_ID), "tenant")


def break_glass_column(
    person_id: ColumnElement[uuid.UUID] | InstrumentedAttribute[uuid.UUID],
) -> ScalarSelect[uuid.UUID]:
    """The guard's break-glass lookup as a column of a caller's statement (bound values:
    ``tenant``, and :meth:`Guard.break_glass_params`): a service that loads an object and
    its person in one statement gets the member's open grant for that person in the same
    round trip, and hands it to :meth:`Guard.note_break_glass` before asking the guard."""
    return _break_glass_of(person_id, "tenant").scalar_subquery()


class Unread(Enum):
    """A standing not read yet (distinct from None: read, and no standing)."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


class UndeclaredPermission(PhivaultError):
    status = 500
    slug = "undeclared-permission"
    title = "Internal error"


class Guard:
    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._standing: Standing | bool | None = False  # False: not loaded yet
        self.decisions: list[Decision] = []
        # The member's open emergency grant per person, as this unit last saw it.
        self._break_glass: dict[uuid.UUID, uuid.UUID | None] = {}

    # -- standing -------------------------------------------------------------------------
    @property
    def standing(self) -> Standing | None:
        if self._standing is False:
            self._standing = self._load_standing()
        assert self._standing is not True
        return self._standing

    def preload_standing(self, row: StandingRow | Unread | None) -> None:
        """The standing, when the caller's credential check read it in the same statement
        (an API token's); UNREAD leaves it to be read when first needed."""
        if row is not UNREAD:
            self._standing = self._standing_from(row)

    def _load_standing(self) -> Standing | None:
        unit = self._unit
        return self._standing_from(
            unit.vault.standing(unit.session, unit.actor.member_id, unit.tenant_id)
        )

    def _standing_from(self, row: StandingRow | None) -> Standing | None:
        unit = self._unit
        # An invited member has standing but an unsettled password: the password gate below
        # answers them (change your password) rather than a blank 404.
        if row is None or row.member_status not in ("active", "invited"):
            return None
        if row.grant_status != "active":
            return None
        token_tenant = unit.actor.token_tenant
        if token_tenant is not None and token_tenant != unit.tenant_id:
            return None  # a token works in its own tenant only
        category = AccessCategory(row.access_category)
        return Standing(
            category=category,
            permissions=grant_permissions(
                category, privacy_officer=row.privacy_officer, administrator=row.administrator
            ),
            privacy_officer=row.privacy_officer,
            # The role's own setting wins over the tenant's (AUTH-5: per tenant and per role).
            mfa_required=(
                row.tenant_mfa_required if row.role_mfa_required is None else row.role_mfa_required
            ),
        )

    # -- decisions ------------------------------------------------------------------------
    def check(
        self,
        permission: Permission,
        *,
        action: AuditAction,
        resource_type: str,
        resource_id: uuid.UUID | str | None = None,
        person_id: uuid.UUID | None = None,
        sensitivity: Iterable[str] = (),
        min_tier: Tier | None = None,
        named: bool | None = None,
    ) -> Decision:
        """Decide one access. Refusals raise; an allowed decision must later be recorded.

        A refusal is 404 when it concerns an existing resource (``named``, by default when a
        resource or person is given) — absent and forbidden look alike — and 403 otherwise.
        """
        if named is None:
            named = resource_id is not None or person_id is not None
        declared = self._unit.declared
        if declared is not None and permission not in declared:
            # A route reached PHI with a permission it never declared: a bug, fail closed.
            raise UndeclaredPermission(f"{action} needs undeclared permission {permission}")
        standing = self.standing

        def refuse(reason: str, error: PhivaultError | None = None) -> AccessRefused:
            return self.refuse(
                permission,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                person_id=person_id,
                reason=reason,
                error=error,
                named=named,
            )

        if standing is None:
            # No standing in this tenant: the tenant and everything in it look absent.
            raise self.refuse(
                permission,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                person_id=person_id,
                reason="no-grant",
                error=NotFound(),
            )
        if permission not in standing.permissions:
            raise refuse("permission")
        unit = self._unit
        self._account_gates(unit, standing, permission, refuse)
        if permission in PHI_PERMISSIONS:
            if unit.purpose is None:
                raise refuse(
                    "purpose-missing",
                    PurposeRequired(
                        "state the purpose of use: treatment, payment, operations or other"
                    ),
                )
            if unit.purpose is PurposeOfUse.OTHER and unit.reason_ref is None:
                raise refuse(
                    "purpose-reason-missing", PurposeRequired("purpose 'other' needs a reason")
                )
        tiers = VISIBLE_TIERS[standing.category]
        break_glass = False
        ref = unit.reason_ref
        if person_id is not None and permission in PHI_PERMISSIONS:
            grant_id = self._active_break_glass(person_id)
            if grant_id is not None:
                tiers, break_glass, ref = frozenset(TIER_ORDER), True, grant_id
        tags = frozenset(sensitivity)
        if tags and Tier.FULL not in tiers:
            raise refuse("sensitivity")
        if min_tier is not None and min_tier not in tiers:
            raise refuse("category")
        request = AccessRequest(
            unit.tenant_id,
            unit.actor.member_id,
            permission,
            action,
            person_id,
            unit.purpose,
            break_glass,
            tags,
        )
        for hook in unit.vault.hooks:
            reason = hook(unit, request)
            if reason:
                raise refuse(reason)
        decision = Decision(
            permission, action, resource_type, resource_id, person_id, tiers, break_glass, ref
        )
        self.decisions.append(decision)
        return decision

    def open_gates(self) -> None:
        """The account-wide gates of a route's unit, decided when the unit opens: before any
        service looks at an object, so that an existing and a random id get the same answer
        (a settled password, the second factor, a token carrying one of the route's
        permissions). Without standing in the tenant nothing is decided here: everything in
        it looks absent, existing or not."""
        unit = self._unit
        standing = self.standing
        declared = unit.declared
        if standing is None or not declared:
            return
        actor = unit.actor
        error: PhivaultError | None = None
        if actor.token_scopes is not None and not declared & actor.token_scopes:
            reason, error = "token-scope", Forbidden("this API token does not carry this access")
        elif not actor.assurance.password_ok:
            reason, error = "password-change-required", PasswordChangeRequired()
        elif standing.mfa_required and not actor.assurance.mfa:
            reason, error = "mfa-required", MfaRequired()
        if error is not None:
            raise self._refuse_route(declared, reason, error)

    def admit(self, *, named: bool) -> None:
        """Refuse the whole route when the member has no standing in the tenant (404, as for
        anything absent) or holds none of the permissions the route declared (403, or 404
        when the route names an object: absent and forbidden look alike): for a page, before
        it parses its form or looks at any object. Audited like any refusal."""
        declared = self._unit.declared
        if not declared:
            return
        standing = self.standing
        if standing is not None and declared & standing.permissions:
            return
        raise self._refuse_route(
            declared,
            "no-grant" if standing is None else "permission",
            NotFound() if standing is None or named else Forbidden(),
        )

    def _refuse_route(
        self, declared: frozenset[Permission], reason: str, error: PhivaultError
    ) -> AccessRefused:
        """A refusal of the route as a whole (no object named), audited as a gate."""
        return self.refuse(
            min(declared),
            action=AuditAction.ACCESS_GATE,
            resource_type="",
            resource_id=None,
            person_id=None,
            reason=reason,
            error=error,
            named=False,
        )

    @staticmethod
    def _account_gates(
        unit: Unit,
        standing: Standing,
        permission: Permission,
        refuse: Callable[[str, PhivaultError | None], AccessRefused],
    ) -> None:
        """Account-wide gates, in one place rather than in every route (AUTH-3, AUTH-5)."""
        actor = unit.actor
        if actor.token_scopes is not None and permission not in actor.token_scopes:
            # The token carries some of the route's permissions (open_gates), not this one:
            # on a named object the answer is that of an absent one (404), not a 403.
            raise refuse("token-scope", None)
        if not actor.assurance.password_ok:
            raise refuse("password-change-required", PasswordChangeRequired())
        if standing.mfa_required and not actor.assurance.mfa:
            raise refuse("mfa-required", MfaRequired())

    def record(self, decision: Decision, fields: Iterable[str] = ()) -> None:
        """Append the allowed event, naming the fields returned or written."""
        unit = self._unit
        unit.append_event(
            self._draft(
                decision.action,
                ALLOWED,
                resource_type=decision.resource_type,
                resource_id=decision.resource_id,
                person_id=decision.person_id,
                break_glass=decision.break_glass,
                fields=tuple(sorted(set(fields))),
                ref=decision.ref,
            )
        )
        decision.recorded = True

    def allow(
        self,
        permission: Permission,
        *,
        action: AuditAction,
        resource_type: str,
        resource_id: uuid.UUID | str | None = None,
        person_id: uuid.UUID | None = None,
        fields: Iterable[str] = (),
        min_tier: Tier | None = None,
        named: bool | None = None,
    ) -> Decision:
        """check + record, for accesses whose fields are known up front."""
        decision = self.check(
            permission,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            person_id=person_id,
            min_tier=min_tier,
            named=named,
        )
        self.record(decision, fields)
        return decision

    def refuse(
        self,
        permission: Permission,
        *,
        action: AuditAction,
        resource_type: str,
        resource_id: uuid.UUID | str | None,
        person_id: uuid.UUID | None,
        reason: str,
        error: PhivaultError | None = None,
        named: bool = True,
    ) -> AccessRefused:
        """Queue an audited refusal and return the exception for the caller to raise."""
        self._unit.refusals.append(
            self._draft(
                action,
                REFUSED,
                resource_type=resource_type,
                resource_id=resource_id,
                person_id=person_id,
                reason=reason,
                fields=(str(permission),),
            )
        )
        if error is None:
            error = NotFound() if named else Forbidden()
        return AccessRefused(error)

    def not_found(
        self,
        permission: Permission,
        *,
        action: AuditAction,
        resource_type: str,
        resource_id: uuid.UUID | str | None,
    ) -> AccessRefused:
        return self.refuse(
            permission,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            person_id=None,
            reason="not-found",
        )

    def break_glass_params(self) -> dict[str, object]:
        """The bound values of :func:`break_glass_column` besides ``tenant``."""
        return {"bg_member": self._unit.actor.member_id, "bg_now": self._unit.now}

    def note_break_glass(self, person_id: uuid.UUID, grant_id: uuid.UUID | None) -> None:
        """What this unit knows of the member's open grant for a person: looked up by a
        caller (:func:`break_glass_column`), or just opened or ended in this unit."""
        self._break_glass[person_id] = grant_id

    def _active_break_glass(self, person_id: uuid.UUID) -> uuid.UUID | None:
        if person_id in self._break_glass:
            return self._break_glass[person_id]
        unit = self._unit
        grant_id: uuid.UUID | None = unit.session.scalar(
            _BREAK_GLASS,
            {"tenant": unit.tenant_id, "person": person_id, **self.break_glass_params()},
        )
        self._break_glass[person_id] = grant_id
        return grant_id

    def echo(
        self,
        tenants: Iterable[uuid.UUID],
        action: AuditAction,
        outcome: str,
        *,
        resource_type: str,
        resource_id: uuid.UUID | str | None,
        reason: str = "",
        fields: Iterable[str] = (),
    ) -> None:
        """The same event in other tenants' chains (an act on an account that serves them
        too, ACC-12): refusals are written with this unit's refusals, allowed events once it
        has committed."""
        for tenant in tenants:
            draft = replace(
                self._draft(
                    action,
                    outcome,
                    resource_type=resource_type,
                    resource_id=resource_id,
                    person_id=None,
                    reason=reason,
                    fields=tuple(fields),
                ),
                tenant_id=tenant,
            )
            (self._unit.refusals if outcome == REFUSED else self._unit.elsewhere).append(draft)

    def _draft(self, action: AuditAction, outcome: str, **kw: object) -> EventDraft:
        unit = self._unit
        return EventDraft(
            tenant_id=unit.tenant_id,
            action=action,
            outcome=outcome,
            occurred_at=unit.now,
            actor_id=unit.actor.member_id,
            session_id=unit.actor.session_id,
            purpose=str(unit.purpose or ""),
            source=unit.actor.source,
            request_id=unit.actor.request_id,
            **kw,  # type: ignore[arg-type]
        )
