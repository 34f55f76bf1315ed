"""Audit queries, verification, checkpoints and export."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Select, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from phivault.access.policy import Permission
from phivault.access.unit import Unit
from phivault.audit import hours
from phivault.audit.actions import AuditAction
from phivault.audit.checkpoint import Checkpoint, read_checkpoint, write_checkpoint
from phivault.audit.events import ALLOWED
from phivault.audit.models import AuditEvent, AuditHead
from phivault.audit.verify import Anchor, ChainReport, verify_chain
from phivault.clock import from_micros, to_micros
from phivault.crypto.keyring import AUDIT_KEY_NAME
from phivault.crypto.signing import load_private, load_public
from phivault.db.engine import Scope
from phivault.errors import InvalidInput
from phivault.identity.models import Member
from phivault.vault import Vault

MAX_PAGE = 500
EXPORT_COLUMNS = [c.name for c in AuditEvent.__table__.columns]


@dataclass(frozen=True)
class EventFilter:
    person_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    break_glass: bool | None = None
    limit: int = 100
    offset: int = 0


def event_dict(event: AuditEvent) -> dict[str, Any]:
    row = {c: getattr(event, c) for c in EXPORT_COLUMNS}
    row["occurred_at"] = from_micros(event.occurred_us).isoformat()
    row["break_glass"] = bool(event.break_glass)
    row["fields"] = [f for f in event.fields.split(",") if f]
    return row


def _filtered(unit: Unit, flt: EventFilter) -> Select[AuditEvent]:
    return _filtered_in(unit.tenant_id, flt)


def _filtered_in(tenant_id: uuid.UUID | str, flt: EventFilter) -> Select[AuditEvent]:
    """The tenant's entries matching the filter, newest first."""
    e = AuditEvent
    query = select(e).where(e.tenant_id == str(tenant_id))
    if flt.person_id:
        query = query.where(e.person_id == str(flt.person_id))
    if flt.actor_id:
        query = query.where(e.actor_id == str(flt.actor_id))
    if flt.action:
        query = query.where(e.action == flt.action)
    if flt.outcome:
        query = query.where(e.outcome == flt.outcome)
    since = to_micros(flt.since) if flt.since else None
    until = to_micros(flt.until) if flt.until else None
    if since is not None:
        query = query.where(e.occurred_us >= since)
    if until is not None:
        query = query.where(e.occurred_us < until)
    if since is not None or until is not None:
        # The range's events lie between the first and last seq of the hours it touches
        # (audit_hours): an implied bound that lets the page walk the primary key backwards
        # and stop at its last row, instead of reading the whole range to sort it by seq.
        query = query.where(*hours.seq_bounds(str(tenant_id), since, until))
    if flt.break_glass is not None:
        # A literal, not a bound value: only then may the planner use the partial index
        # ix_audit_break_glass (its predicate is break_glass = 1).
        query = query.where(e.break_glass == literal_column("1" if flt.break_glass else "0"))
    return query.order_by(e.seq.desc())


def query_events(unit: Unit, flt: EventFilter) -> list[dict[str, Any]]:
    """The tenant's audit events, newest first. Privacy officers only."""
    if not 0 < flt.limit <= MAX_PAGE or flt.offset < 0:
        raise InvalidInput(f"'limit' must be 1 to {MAX_PAGE} and 'offset' not negative")
    unit.guard.allow(Permission.AUDIT_READ, action=AuditAction.AUDIT_QUERY, resource_type="audit")
    query = _filtered(unit, flt).offset(flt.offset).limit(flt.limit)
    return [event_dict(ev) for ev in unit.session.scalars(query)]


@dataclass(frozen=True)
class Verification:
    """The outcome of the latest on-demand verification of a tenant's chain."""

    at: datetime
    actor_id: str
    intact: bool
    events: int
    first_bad_event: int | None
    problem: str | None


@dataclass(frozen=True)
class AuditPage:
    """What the privacy officer's audit viewer shows: one page of entries, who the actors
    are (workforce display names; not PHI) and the latest chain verification."""

    entries: list[dict[str, Any]]
    actor_names: dict[str, str]
    verification: Verification | None


def audit_page(unit: Unit, flt: EventFilter) -> AuditPage:
    """A page of entries with the actors' names and the last verification: one audited read."""
    entries = query_events(unit, flt)
    verification = last_verification(unit)
    ids = {e["actor_id"] for e in entries} | {verification.actor_id if verification else ""}
    return AuditPage(entries, member_names(unit.session, ids), verification)


def member_names(session: Session, ids: Iterable[str | uuid.UUID]) -> dict[str, str]:
    """Workforce display names by member id (not PHI: the audit viewer names its actors)."""
    wanted = {uuid.UUID(str(i)) for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(Member.id, Member.display_name).where(Member.id.in_(wanted)))
    return {str(member_id): name for member_id, name in rows}


# The latest closing verification event of a chain. ix_audit_action (tenant_id, action, seq)
# makes it one step back from the end of the tenant's verify events; without it this walked
# back through the whole log (migration 0011).
_LAST_VERIFICATION = (
    select(AuditEvent)
    .where(
        AuditEvent.tenant_id == bindparam("tenant"),
        AuditEvent.action == AuditAction.AUDIT_VERIFY.value,
        AuditEvent.outcome == ALLOWED,
        # The event that opens a verification says "started"; the one that closes it holds
        # the result.
        AuditEvent.fields.contains("result:"),
    )
    .order_by(AuditEvent.seq.desc())
    .limit(1)
)


def last_verification(unit: Unit) -> Verification | None:
    """The latest recorded verification of the unit's chain. Callers have already been
    allowed an audit read in this unit (it reveals no more than the entries do)."""
    event = unit.session.scalars(_LAST_VERIFICATION, {"tenant": str(unit.tenant_id)}).first()
    if event is None:
        return None
    facts = dict(f.split(":", 1) for f in event.fields.split(",") if ":" in f)
    if "result" not in facts:
        return None  # verified before results were recorded
    return Verification(
        at=from_micros(event.occurred_us),
        actor_id=event.actor_id,
        intact=facts["result"] == "intact",
        events=int(facts.get("events", "0")),
        first_bad_event=int(facts["seq"]) if "seq" in facts else None,
        problem=None if facts["result"] == "intact" else facts["result"],
    )


MAX_EXPORT = 100_000
EXPORT_HEADER = (
    "occurred_at",
    "seq",
    "event_id",
    "action",
    "outcome",
    "reason",
    "actor_id",
    "session_id",
    "resource_type",
    "resource_id",
    "person_id",
    "purpose",
    "break_glass",
    "fields",
    "source",
    "request_id",
)


@dataclass(frozen=True)
class Export:
    """An export the guard allowed and the trail recorded: the filter, the chain's last entry
    when it was decided (entries are never changed, so what is streamed is fixed), how many
    rows it holds and whether more matched than ``MAX_EXPORT``."""

    tenant_id: uuid.UUID
    flt: EventFilter
    upto_seq: int
    rows: int
    truncated: bool


def begin_export(unit: Unit, flt: EventFilter) -> Export:
    """Decide and audit an export of the filtered entries (IDs and field names only: no PHI,
    AUD-6), newest first, at most ``MAX_EXPORT``; the audit event names its size. The rows
    themselves are streamed by :func:`export_rows` afterwards, never held in memory."""
    decision = unit.guard.check(
        Permission.AUDIT_READ, action=AuditAction.AUDIT_EXPORT, resource_type="audit"
    )
    e = AuditEvent
    upto = unit.session.scalar(
        select(func.coalesce(func.max(e.seq), 0)).where(e.tenant_id == str(unit.tenant_id))
    )
    matched = unit.session.scalar(
        select(func.count()).select_from(
            _filtered_in(unit.tenant_id, flt).where(e.seq <= upto).limit(MAX_EXPORT + 1).subquery()
        )
    )
    rows = min(int(matched or 0), MAX_EXPORT)
    unit.guard.record(decision, [f"rows:{rows}"])
    return Export(unit.tenant_id, flt, int(upto or 0), rows, int(matched or 0) > MAX_EXPORT)


def export_rows(vault: Vault, export: Export, *, batch: int = 1000) -> Iterator[tuple[str, ...]]:
    """The rows of an allowed export as CSV cells, read in batches from a snapshot that takes
    no write lock: memory stays flat however many rows there are, and the vault keeps
    serving while a large export is downloaded."""
    e = AuditEvent
    query = _filtered_in(export.tenant_id, export.flt).where(e.seq <= export.upto_seq)
    query = query.limit(export.rows).execution_options(yield_per=batch)
    with vault.db.snapshot(Scope.tenant(export.tenant_id)) as session:
        for event in session.scalars(query):
            yield _export_row(event_dict(event))


def _export_row(row: dict[str, Any]) -> tuple[str, ...]:
    row = {
        **row,
        "fields": " ".join(row["fields"]),
        "break_glass": "yes" if row["break_glass"] else "",
    }
    return tuple(_cell(row[c]) for c in EXPORT_HEADER)


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def verify_tenant_chain(open_unit: Callable[[], AbstractContextManager[Unit]]) -> ChainReport:
    """Verify a tenant's chain against its head row without stopping the vault.

    ``open_unit`` opens a guarded unit in the tenant (the route's own). The guard decides and
    the request is audited in a first short unit; the walk then reads a snapshot outside any
    unit, because a unit holds SQLite's write lock and a walk over millions of events would
    stop every other request; the result is audited in a second unit, so the audit viewer can
    say when the chain was last verified and what was found."""
    with open_unit() as unit:
        unit.guard.allow(
            Permission.AUDIT_VERIFY,
            action=AuditAction.AUDIT_VERIFY,
            resource_type="audit",
            fields=["started"],
        )
        vault, tenant = unit.vault, unit.tenant_id
    with vault.db.snapshot(Scope.tenant(tenant)) as session:
        key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
        report = _verify(session.connection(), key, str(tenant), {})
    facts = [
        f"result:{report.problem.kind if report.problem else 'intact'}",
        f"events:{report.events}",
    ]
    if report.problem:
        facts.append(f"seq:{report.problem.seq}")
    with open_unit() as unit:
        unit.guard.allow(
            Permission.AUDIT_VERIFY,
            action=AuditAction.AUDIT_VERIFY,
            resource_type="audit",
            fields=facts,
        )
    return report


def _verify(
    conn: Any, key: bytes, tenant: str, checkpoint_heads: dict[str, tuple[int, str]]
) -> ChainReport:
    head = conn.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.tenant_id == tenant)
    ).first()
    anchors = []
    if head is not None:
        anchors.append(Anchor(head.seq, head.hash, "chain head"))
    if tenant in checkpoint_heads:
        seq, digest = checkpoint_heads[tenant]
        anchors.append(Anchor(seq, digest, "checkpoint"))
    return verify_chain(conn, key, tenant, anchors)


def tenants_in_log(vault: Vault) -> list[str]:
    with vault.db.transaction(Scope.everything()) as session:
        return list(session.scalars(select(AuditHead.tenant_id).order_by(AuditHead.tenant_id)))


def verify_all(
    vault: Vault, *, tenant: str | None = None, checkpoint: Checkpoint | None = None
) -> list[ChainReport]:
    """Verify every chain (or one), optionally against a signed checkpoint."""
    heads = checkpoint.heads if checkpoint else {}
    tenants = [tenant] if tenant else sorted(set(tenants_in_log(vault)) | set(heads))
    reports = []
    # A snapshot: the walk never holds the write lock, so the vault keeps serving meanwhile.
    with vault.db.snapshot(Scope.everything()) as session:
        key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
        conn = session.connection()
        for t in tenants:
            reports.append(_verify(conn, key, t, heads))
    return reports


def load_checkpoint(vault: Vault, path: Path) -> Checkpoint:
    return read_checkpoint(path, load_public(vault.settings.key_dir))


def create_checkpoint(vault: Vault, path: Path) -> dict[str, tuple[int, str]]:
    with vault.db.transaction(Scope.everything()) as session:
        heads = {
            row.tenant_id: (row.seq, row.hash)
            for row in session.execute(select(AuditHead.tenant_id, AuditHead.seq, AuditHead.hash))
        }
    write_checkpoint(path, load_private(vault.settings.key_dir), vault.clock(), heads)
    return heads


def export_events(vault: Vault, out: TextIO, *, tenant: str | None = None) -> int:
    """Write events as JSON lines (IDs and field names only: no PHI, AUD-6)."""
    count = 0
    with vault.db.transaction(Scope.everything()) as session:
        query = select(AuditEvent).order_by(AuditEvent.tenant_id, AuditEvent.seq)
        if tenant:
            query = query.where(AuditEvent.tenant_id == tenant)
        for event in _stream(session.scalars(query.execution_options(yield_per=2000))):
            out.write(json.dumps(event_dict(event), sort_keys=True) + "\n")
            count += 1
    return count


def _stream(rows: Any) -> Iterator[AuditEvent]:
    yield from rows


@dataclass(frozen=True)
class DayActivity:
    """One UTC day of a tenant's audit trail, counted."""

    day: date
    allowed: int
    refused: int
    break_glass: int


def activity_by_day(unit: Unit, *, days: int = 14) -> list[DayActivity]:
    """Entries per UTC day for the last ``days`` days (today included), oldest first; days
    without entries count zero. Counts only, so no PHI; the read is audited like any other
    (and counted: today includes this read). Summed from the hours the appends counted
    (``audit/hours.py``), so its cost follows ``days``, not the trail's size or density."""
    unit.guard.allow(Permission.AUDIT_READ, action=AuditAction.AUDIT_SUMMARY, resource_type="audit")
    first = unit.now.date() - timedelta(days=days - 1)
    return [
        DayActivity(c.day, c.allowed, c.refused, c.break_glass)
        for c in hours.day_counts(unit.session, str(unit.tenant_id), first, days)
    ]
