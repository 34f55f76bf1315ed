"""Break-glass (ACC-3): emergency access beyond a member's category, with a reason and a time
limit, flagged at once for the privacy officer's review."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from phivault.access.guard import AccessRefused, Decision
from phivault.access.models import BreakGlassGrant
from phivault.access.policy import Permission
from phivault.access.reasons import SENTENCE_RULE, sentence_problem
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.errors import Conflict, Forbidden, InvalidInput, PhivaultError
from phivault.notifications import service as notifications
from phivault.records.models import Person
from phivault.tenancy.models import TenantSettings

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
    reviewed_by: uuid.UUID | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None


# A shift: the window in which a member's openings are counted against the tenant's limit.
SHIFT = timedelta(hours=12)


class BreakGlassLimit(PhivaultError):
    """The member has opened as many emergency accesses as a shift allows."""

    status = 429
    slug = "break-glass-limit"
    title = "Emergency access limit reached"


def _refuse_token(unit: Unit, action: AuditAction) -> None:
    """An emergency act is a person's deliberate decision: a signed-in session with the password
    again, never an API token (a token carries no interactive proof and can be scripted)."""
    if unit.actor.session_id.startswith("token:") or unit.actor.token_scopes is not None:
        raise unit.guard.refuse(
            Permission.BREAK_GLASS_INVOKE,
            action=action,
            resource_type="break_glass",
            resource_id=None,
            person_id=None,
            reason="token",
            error=Forbidden("emergency access needs a signed-in session, not an API token"),
            named=False,
        )


def limits(unit: Unit) -> tuple[int, int]:
    """The tenant's bounds: openings per member per shift, and the longest opening (minutes),
    never above the installation's ceiling."""
    row = unit.session.get(TenantSettings, unit.tenant_id)
    per_shift = row.break_glass_per_shift if row is not None else 3
    longest = row.break_glass_max_minutes if row is not None else 60
    return per_shift, min(longest, unit.vault.settings.break_glass_max_minutes)


def _check_shift_limit(unit: Unit, per_shift: int) -> None:
    """Refuse (429, audited) once the member opened ``per_shift`` accesses in the last shift.
    Depends on the member alone, never on the person asked for (no existence oracle)."""
    opened = unit.session.scalar(
        select(func.count())
        .select_from(BreakGlassGrant)
        .where(
            BreakGlassGrant.tenant_id == unit.tenant_id,
            BreakGlassGrant.member_id == unit.actor.member_id,
            BreakGlassGrant.started_at > unit.now - SHIFT,
        )
    )
    if (opened or 0) >= per_shift:
        raise unit.guard.refuse(
            Permission.BREAK_GLASS_INVOKE,
            action=AuditAction.BREAK_GLASS_START,
            resource_type="break_glass",
            resource_id=None,
            person_id=None,
            reason="break-glass-limit",
            error=BreakGlassLimit(
                f"you have opened emergency access {per_shift} times in the last "
                f"{SHIFT.seconds // 3600} hours, the limit for a shift: "
                "call the privacy officer"
            ),
            named=False,
        )


def do_break_glass(
    unit: Unit, *, person_id: uuid.UUID, reason: str, minutes: int | None = None
) -> BreakGlassView:
    """Open emergency access to one person: a session (not a token), a reason that is a
    sentence (stored exactly as typed), a duration within the tenant's bound, and no more than
    the tenant's openings per shift. The privacy officers are notified at once (IDs only)."""
    _refuse_token(unit, AuditAction.BREAK_GLASS_START)
    problem = sentence_problem(reason)  # the one rule for a reason (access/reasons.py)
    if problem:
        raise InvalidInput(problem)
    per_shift, longest = limits(unit)
    if minutes is None:
        minutes = min(unit.vault.settings.break_glass_default_minutes, longest)
    if not 1 <= minutes <= longest:
        raise InvalidInput(f"'minutes' must be 1 to {longest}")
    grant_id = uuid.uuid4()
    # The guard decides first; then the member's own limit; only then is the person looked at.
    decision = unit.guard.check(
        Permission.BREAK_GLASS_INVOKE,
        action=AuditAction.BREAK_GLASS_START,
        resource_type="break_glass",
        resource_id=grant_id,
        person_id=person_id,
    )
    _check_shift_limit(unit, per_shift)
    if unit.session.get(Person, (unit.tenant_id, person_id)) is None:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_INVOKE,
            action=AuditAction.BREAK_GLASS_START,
            resource_type="person",
            resource_id=person_id,
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
    unit.guard.note_break_glass(person_id, grant_id)
    decision.break_glass, decision.ref = True, grant_id
    unit.guard.record(decision, ("reason", "minutes"))
    notifications.notify_privacy_officers(unit, kind=AuditAction.BREAK_GLASS_START, ref_id=grant_id)
    return _view(unit, grant, with_reason=True)


def do_end_break_glass(unit: Unit, grant_id: uuid.UUID) -> BreakGlassView:
    grant = unit.session.get(BreakGlassGrant, (unit.tenant_id, grant_id))
    if grant is None or grant.member_id != unit.actor.member_id:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_INVOKE,
            action=AuditAction.BREAK_GLASS_END,
            resource_type="break_glass",
            resource_id=grant_id,
        )
    unit.guard.allow(
        Permission.BREAK_GLASS_INVOKE,
        action=AuditAction.BREAK_GLASS_END,
        resource_type="break_glass",
        resource_id=grant_id,
        person_id=grant.person_id,
        fields=("ended_at",),
    )
    grant.ended_at = grant.ended_at or unit.now
    unit.session.flush()
    unit.guard.note_break_glass(grant.person_id, None)
    return _view(unit, grant, with_reason=False)


REVIEW_STATUSES = ("pending", *DISPOSITIONS)


def list_break_glass(unit: Unit, *, status: str | None = "pending") -> list[BreakGlassView]:
    """Emergency accesses by review status (None: all), with reasons and review decisions."""
    if status is not None and status not in REVIEW_STATUSES:
        raise InvalidInput("'review_status' must be pending, appropriate or inappropriate")
    unit.guard.allow(
        Permission.BREAK_GLASS_REVIEW,
        action=AuditAction.BREAK_GLASS_LIST,
        resource_type="break_glass",
        fields=("reason", "review_status", "reviewed_by", "reviewed_at", "review_note"),
    )
    query = select(BreakGlassGrant).where(BreakGlassGrant.tenant_id == unit.tenant_id)
    if status:
        query = query.where(BreakGlassGrant.review_status == status)
    grants = unit.session.scalars(query.order_by(BreakGlassGrant.started_at)).all()
    return [_view(unit, g, with_reason=True) for g in grants]


def recent_reviews(unit: Unit, *, limit: int = 50) -> list[BreakGlassView]:
    """The latest closed reviews, newest decision first: who decided, when, what, the note."""
    unit.guard.allow(
        Permission.BREAK_GLASS_REVIEW,
        action=AuditAction.BREAK_GLASS_LIST,
        resource_type="break_glass",
        fields=("reason", "review_status", "reviewed_by", "reviewed_at", "review_note"),
    )
    grants = unit.session.scalars(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.tenant_id == unit.tenant_id,
            BreakGlassGrant.reviewed_at.is_not(None),
        )
        .order_by(BreakGlassGrant.reviewed_at.desc(), BreakGlassGrant.id)
        .limit(limit)
    ).all()
    return [_view(unit, g, with_reason=True) for g in grants]


def do_review_break_glass(
    unit: Unit, grant_id: uuid.UUID, *, disposition: str, note: str = ""
) -> BreakGlassView:
    """Close the review of one emergency access: appropriate or inappropriate, with a note.

    The guard decides first; then a missing grant is 404 and one's own act 409 (only someone
    who may review learns that the grant exists). A decision is final and stays readable
    (who, when, decision, note); 'inappropriate' ones feed the sanctions procedure."""
    decision = unit.guard.check(
        Permission.BREAK_GLASS_REVIEW,
        action=AuditAction.BREAK_GLASS_REVIEW,
        resource_type="break_glass",
        resource_id=grant_id,
    )
    grant = unit.session.get(BreakGlassGrant, (unit.tenant_id, grant_id))
    if grant is None:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_REVIEW,
            action=AuditAction.BREAK_GLASS_REVIEW,
            resource_type="break_glass",
            resource_id=grant_id,
        )
    if grant.member_id == unit.actor.member_id:
        raise _refused_review(
            unit, grant_id, "own-act", "nobody reviews their own emergency access"
        )
    if grant.review_status != "pending":
        raise _refused_review(unit, grant_id, "already-reviewed", "this review is already closed")
    if disposition not in DISPOSITIONS:
        raise InvalidInput("'disposition' must be 'appropriate' or 'inappropriate'")
    if len(note) > 2000:
        raise InvalidInput("'note' is longer than 2000 characters")
    grant.review_status = disposition
    grant.reviewed_by = unit.actor.member_id
    grant.reviewed_at = unit.now
    if note:
        grant.review_note_ct = unit.cipher.encrypt_text(
            "break_glass", "review_note", grant_id, note
        )
    unit.guard.record(decision, ("review_status", "review_note"))
    unit.session.flush()
    return _view(unit, grant, with_reason=True)


def _refused_review(unit: Unit, grant_id: uuid.UUID, reason: str, detail: str) -> AccessRefused:
    return unit.guard.refuse(
        Permission.BREAK_GLASS_REVIEW,
        action=AuditAction.BREAK_GLASS_REVIEW,
        resource_type="break_glass",
        resource_id=grant_id,
        person_id=None,
        reason=reason,
        error=Conflict(detail),
    )


def _view(unit: Unit, grant: BreakGlassGrant, *, with_reason: bool) -> BreakGlassView:
    decrypt = unit.cipher.decrypt_text
    reason = decrypt("break_glass", "reason", grant.id, grant.reason_ct) if with_reason else None
    note = (
        decrypt("break_glass", "review_note", grant.id, grant.review_note_ct)
        if with_reason and grant.review_note_ct is not None
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
        grant.reviewed_by,
        grant.reviewed_at,
        note,
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


def emergency_search(unit: Unit, decision: Decision, reason: str | None) -> None:
    """Make a people search by an Emergency-only member part of the emergency act.

    Called by the search right after the guard allowed it. A member whose category shows
    identities searches as usual. An Emergency-only member must first give a reason (the
    sentence rule); without it the search is refused before it runs, so the answer never tells a
    patient from a non-patient. With it, the reason is kept (encrypted), the search is audited
    as ``emergency.search`` flagged like break-glass, and the privacy officers are notified."""
    if decision.tiers:
        return
    problem = sentence_problem(reason) if reason is not None else f"Give {SENTENCE_RULE}."
    if problem:
        raise unit.guard.refuse(
            Permission.PEOPLE_READ,
            action=AuditAction.EMERGENCY_SEARCH,
            resource_type="person",
            resource_id=None,
            person_id=None,
            reason="emergency-reason-missing",
            error=InvalidInput(f"An emergency search needs a reason first. {problem}"),
            named=False,
        )
    assert reason is not None
    unit.store_reason(reason)
    assert unit.reason_ref is not None
    decision.action, decision.break_glass, decision.ref = (
        AuditAction.EMERGENCY_SEARCH,
        True,
        unit.reason_ref,
    )
    notifications.notify_privacy_officers(
        unit, kind=AuditAction.EMERGENCY_SEARCH, ref_id=unit.reason_ref
    )
