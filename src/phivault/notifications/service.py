"""Notify members at once, IDs only (PHI-free), and let them read and acknowledge notices.

The privacy office is the first recipient: it learns of every emergency act as it starts
(ACC-3). A notice names a kind and the id of what it is about; the recipient opens that
through the guard like anything else, so a notice can later go out through any channel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from phivault.access.policy import Permission
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, EventDraft
from phivault.identity.models import Member, TenantGrant
from phivault.notifications.models import Notification

KINDS = (AuditAction.BREAK_GLASS_START, AuditAction.EMERGENCY_SEARCH)
NOTICE_FIELDS = ("kind", "ref_id", "created_at", "read_at")


@dataclass(frozen=True)
class NoticeView:
    id: uuid.UUID
    kind: str
    ref_id: uuid.UUID
    created_at: datetime
    read_at: datetime | None


def notify_privacy_officers(unit: Unit, *, kind: str, ref_id: uuid.UUID) -> list[uuid.UUID]:
    """Queue a notice to every active privacy officer of the unit's tenant but the actor (who
    knows what they did), in the caller's transaction, each audited. Returns the notice ids."""
    assert kind in KINDS, kind
    officers = unit.session.scalars(
        select(TenantGrant.member_id)
        .join(Member, Member.id == TenantGrant.member_id)
        .where(
            TenantGrant.tenant_id == unit.tenant_id,
            TenantGrant.status == "active",
            TenantGrant.is_privacy_officer.is_(True),
            TenantGrant.member_id != unit.actor.member_id,
            # Like the guard's standing: a suspended officer's notices would go unread.
            Member.status.in_(("active", "invited")),
        )
        .order_by(TenantGrant.member_id)
    ).all()
    ids = []
    for officer in officers:
        notice = Notification(
            tenant_id=unit.tenant_id,
            id=uuid.uuid4(),
            recipient_id=officer,
            kind=kind,
            ref_id=ref_id,
            created_at=unit.now,
        )
        unit.session.add(notice)
        unit.append_event(
            EventDraft(
                tenant_id=unit.tenant_id,
                action=AuditAction.NOTIFICATION_SEND,
                outcome=ALLOWED,
                occurred_at=unit.now,
                actor_id=unit.actor.member_id,
                session_id=unit.actor.session_id,
                resource_type="notification",
                resource_id=notice.id,
                fields=("kind", "recipient_id", "ref_id"),
                source=unit.actor.source,
                request_id=unit.actor.request_id,
                ref=ref_id,
            )
        )
        ids.append(notice.id)
    unit.session.flush()
    return ids


def unread_notices(unit: Unit) -> list[NoticeView]:
    """The caller's unread notices in this tenant, oldest first (audited)."""
    unit.guard.allow(
        Permission.BREAK_GLASS_REVIEW,
        action=AuditAction.NOTIFICATION_LIST,
        resource_type="notification",
        fields=NOTICE_FIELDS,
    )
    notices = unit.session.scalars(
        select(Notification)
        .where(
            Notification.tenant_id == unit.tenant_id,
            Notification.recipient_id == unit.actor.member_id,
            Notification.read_at.is_(None),
        )
        .order_by(Notification.created_at, Notification.id)
    ).all()
    return [_view(n) for n in notices]


def do_mark_read(unit: Unit, notice_id: uuid.UUID) -> NoticeView:
    """Acknowledge one of the caller's own notices (someone else's looks absent)."""
    decision = unit.guard.check(
        Permission.BREAK_GLASS_REVIEW,
        action=AuditAction.NOTIFICATION_READ,
        resource_type="notification",
        resource_id=notice_id,
    )
    notice = unit.session.get(Notification, (unit.tenant_id, notice_id))
    if notice is None or notice.recipient_id != unit.actor.member_id:
        raise unit.guard.not_found(
            Permission.BREAK_GLASS_REVIEW,
            action=AuditAction.NOTIFICATION_READ,
            resource_type="notification",
            resource_id=notice_id,
        )
    notice.read_at = notice.read_at or unit.now
    unit.guard.record(decision, ("read_at",))
    unit.session.flush()
    return _view(notice)


def _view(notice: Notification) -> NoticeView:
    return NoticeView(notice.id, notice.kind, notice.ref_id, notice.created_at, notice.read_at)
