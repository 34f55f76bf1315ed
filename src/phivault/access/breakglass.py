"""Break-glass (ACC-3): emergency access beyond a member's category, with a reason and a time
limit, flagged at once for the privacy officer's review."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from phivault.access.models import BreakGlassGrant
from phivault.access.policy import Permission
from phivault.access.unit import Unit
from phivault.errors import Conflict, InvalidInput
from phivault.records.models import Person

DISPOSITIONS = ("appropriate", "inappropriate")


@dataclass(frozen=True)
class BreakGlassView:
    id: uuid.UUID
    member_id: uuid.UUID
    person_id: uuid.UUID
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    review_status: str
    reason: str | None


def do_break_glass(
    unit: Unit, *, person_id: uuid.UUID, reason: str, minutes: int | None = None
) -> BreakGlassView:
    settings = unit.vault.settings
    minutes = settings.break_glass_default_minutes if minutes is None else minutes
    if not 1 <= minutes <= settings.break_glass_max_minutes:
        raise InvalidInput(f"'minutes' must be 1 to {settings.break_glass_max_minutes}")
    reason = reason.strip()
    if len(reason) < 10 or len(reason) > 1000:
        raise InvalidInput("give a reason of 10 to 1000 characters for emergency access")
    if unit.session.get(Person, (unit.tenant_id, person_id)) is None:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_INVOKE,
            action="break_glass.start",
            resource_type="person",
            resource_id=person_id,
        )
    grant_id = uuid.uuid4()
    decision = unit.guard.check(
        Permission.BREAK_GLASS_INVOKE,
        action="break_glass.start",
        resource_type="break_glass",
        resource_id=grant_id,
        person_id=person_id,
    )
    grant = BreakGlassGrant(
        tenant_id=unit.tenant_id,
        id=grant_id,
        member_id=unit.actor.member_id,
        person_id=person_id,
        reason_ct=unit.cipher.encrypt_text("break_glass", "reason", grant_id, reason),
        started_at=unit.now,
        expires_at=unit.now + timedelta(minutes=minutes),
        review_status="pending",
    )
    unit.session.add(grant)
    unit.session.flush()
    decision.break_glass, decision.ref = True, grant_id
    unit.guard.record(decision, ("reason", "minutes"))
    return _view(unit, grant, with_reason=True)


def do_end_break_glass(unit: Unit, grant_id: uuid.UUID) -> BreakGlassView:
    grant = unit.session.get(BreakGlassGrant, (unit.tenant_id, grant_id))
    if grant is None or grant.member_id != unit.actor.member_id:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_INVOKE,
            action="break_glass.end",
            resource_type="break_glass",
            resource_id=grant_id,
        )
    unit.guard.allow(
        Permission.BREAK_GLASS_INVOKE,
        action="break_glass.end",
        resource_type="break_glass",
        resource_id=grant_id,
        person_id=grant.person_id,
        fields=("ended_at",),
    )
    grant.ended_at = grant.ended_at or unit.now
    unit.session.flush()
    return _view(unit, grant, with_reason=False)


def list_break_glass(unit: Unit, *, status: str | None = "pending") -> list[BreakGlassView]:
    unit.guard.allow(
        Permission.BREAK_GLASS_REVIEW,
        action="break_glass.list",
        resource_type="break_glass",
        fields=("reason",),
    )
    query = select(BreakGlassGrant).where(BreakGlassGrant.tenant_id == unit.tenant_id)
    if status:
        query = query.where(BreakGlassGrant.review_status == status)
    grants = unit.session.scalars(query.order_by(BreakGlassGrant.started_at)).all()
    return [_view(unit, g, with_reason=True) for g in grants]


def do_review_break_glass(
    unit: Unit, grant_id: uuid.UUID, *, disposition: str, note: str = ""
) -> BreakGlassView:
    if disposition not in DISPOSITIONS:
        raise InvalidInput("'disposition' must be 'appropriate' or 'inappropriate'")
    if len(note) > 2000:
        raise InvalidInput("'note' is longer than 2000 characters")
    grant = unit.session.get(BreakGlassGrant, (unit.tenant_id, grant_id))
    if grant is None:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_REVIEW,
            action="break_glass.review",
            resource_type="break_glass",
            resource_id=grant_id,
        )
    if grant.member_id == unit.actor.member_id:
        raise Conflict("nobody reviews their own emergency access")
    unit.guard.allow(
        Permission.BREAK_GLASS_REVIEW,
        action="break_glass.review",
        resource_type="break_glass",
        resource_id=grant_id,
        fields=("review_status", "review_note"),
    )
    grant.review_status = disposition
    grant.reviewed_by = unit.actor.member_id
    grant.reviewed_at = unit.now
    if note:
        grant.review_note_ct = unit.cipher.encrypt_text(
            "break_glass", "review_note", grant_id, note
        )
    unit.session.flush()
    return _view(unit, grant, with_reason=True)


def _view(unit: Unit, grant: BreakGlassGrant, *, with_reason: bool) -> BreakGlassView:
    reason = (
        unit.cipher.decrypt_text("break_glass", "reason", grant.id, grant.reason_ct)
        if with_reason
        else None
    )
    return BreakGlassView(
        grant.id,
        grant.member_id,
        grant.person_id,
        grant.started_at,
        grant.expires_at,
        grant.ended_at,
        grant.review_status,
        reason,
    )


def my_active_grant(unit: Unit, person_id: uuid.UUID) -> BreakGlassView | None:
    """The caller's own emergency access to a person, if one is running (for the banner)."""
    grant = unit.session.scalar(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.tenant_id == unit.tenant_id,
            BreakGlassGrant.member_id == unit.actor.member_id,
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.expires_at > unit.now,
            BreakGlassGrant.ended_at.is_(None),
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )
    return _view(unit, grant, with_reason=False) if grant is not None else None
