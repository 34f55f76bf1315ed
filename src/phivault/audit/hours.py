"""A tenant's trail counted per UTC hour (``audit_hours``, migration 0015).

Why kept on append, in the event's own transaction, rather than computed for a past day the
first time the dashboard needs it: an event's time is its unit's start (``unit.now``), not
its commit, and the demo and tests write with a moved clock, so an event can land in an hour
that already looked closed. A count made "once the day is over" would then be wrong for
good; a count made by the append that writes the event cannot be. It costs one small upsert
per append (on PostgreSQL inside the append's single statement, so no extra round trip), on
a row that appends of the tenant already serialize on (the chain head).

Two readers:

* the dashboard's activity panel sums the hours of its days (at most 24 rows a day,
  whatever the trail's size or density), ``day_counts``;
* the viewer's date filter: every event of a time range has its ``seq`` between the
  smallest ``first_seq`` and the largest ``last_seq`` of the hours the range touches, so
  the filter adds that (implied) bound and the database walks the primary key backwards
  from the range's last event, stopping at the page's last row, instead of reading the
  whole range through ``ix_audit_time`` to sort it by ``seq``, ``seq_bounds``.

Hours rather than days: a range that does not start or end at midnight (the API takes any
instant) is then bounded to the hour, and a day in another time zone with a whole-hour offset
is still a sum of whole rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, bindparam, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from phivault.audit.models import AuditEvent, AuditHour

HOUR_US = 3_600_000_000
HOURS_PER_DAY = 24
EPOCH = date(1970, 1, 1)


def hour_of(micros: int) -> int:
    """The UTC hour (since the epoch) an instant in microseconds falls in."""
    return micros // HOUR_US


def upsert_sql(mark: str, *, only_after: str | None = None) -> str:
    """The driver-level SQL that counts one appended event in its hour.

    ``mark`` is the driver's positional placeholder (``?`` or ``%s``); the parameters are
    :func:`upsert_params`. With ``only_after`` (the name of a common table expression of the
    same statement) the count is written only if that one returned a row. Portable: SQLite
    (3.24+) and PostgreSQL share ``ON CONFLICT ... excluded``."""
    first = "audit_hours.first_seq"
    last = "audit_hours.last_seq"
    marks = ", ".join([mark] * 7)
    values = f" VALUES ({marks})"
    if only_after is not None:
        values = f" SELECT {marks} FROM {only_after}"  # noqa: S608 (a constant CTE name)
    # Only constant identifiers and placeholders are formatted in; values are always bound.
    return (
        "INSERT INTO audit_hours"
        " (tenant_id, hour, allowed, refused, break_glass, first_seq, last_seq)"
        f"{values}"
        " ON CONFLICT (tenant_id, hour) DO UPDATE SET"
        " allowed = audit_hours.allowed + excluded.allowed,"
        " refused = audit_hours.refused + excluded.refused,"
        " break_glass = audit_hours.break_glass + excluded.break_glass,"
        f" first_seq = CASE WHEN excluded.first_seq < {first}"
        f" THEN excluded.first_seq ELSE {first} END,"
        f" last_seq = CASE WHEN excluded.last_seq > {last} THEN excluded.last_seq ELSE {last} END"
    )


def upsert_params(
    tenant: str, seq: int, occurred_us: int, outcome_allowed: bool, glass: bool
) -> tuple[object, ...]:
    """The parameters of :func:`upsert_sql` for one event, in its placeholders' order."""
    allowed = 1 if outcome_allowed else 0
    return (tenant, hour_of(occurred_us), allowed, 1 - allowed, 1 if glass else 0, seq, seq)


# Every hour of a tenant's trail counted afresh from its events (for events written without
# ``events.append``: a benchmark's bulk load; or a repair). Migration 0015 has its own copy.
_RECOUNT = text(
    "INSERT INTO audit_hours"
    " (tenant_id, hour, allowed, refused, break_glass, first_seq, last_seq)"
    " SELECT tenant_id, occurred_us / 3600000000,"
    " sum(CASE WHEN outcome = 'allowed' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN outcome = 'allowed' THEN 0 ELSE 1 END),"
    " sum(CASE WHEN break_glass <> 0 THEN 1 ELSE 0 END), min(seq), max(seq)"
    " FROM audit_events WHERE tenant_id = :tenant"
    " GROUP BY tenant_id, occurred_us / 3600000000"
    " ON CONFLICT (tenant_id, hour) DO UPDATE SET allowed = excluded.allowed,"
    " refused = excluded.refused, break_glass = excluded.break_glass,"
    " first_seq = excluded.first_seq, last_seq = excluded.last_seq"
)


def recount(conn: Connection | Session, tenant: str) -> None:
    """Count a tenant's trail per hour from its events, replacing the hours it has."""
    conn.execute(_RECOUNT, {"tenant": tenant})


def seq_bounds(
    tenant: str, since_us: int | None, until_us: int | None
) -> list[ColumnElement[bool]]:
    """Conditions on ``AuditEvent.seq`` implied by ``since_us <= occurred_us < until_us``:
    scalar subqueries over the hours the range touches (NULL, so no row, when the range has
    no event). Adding them changes no result; it lets the planner walk the primary key."""
    h, e = AuditHour, AuditEvent
    hours = [h.tenant_id == tenant]
    if since_us is not None:
        hours.append(h.hour >= hour_of(since_us))
    if until_us is not None:
        hours.append(h.hour <= hour_of(until_us - 1))
    bounds: list[ColumnElement[bool]] = []
    if since_us is not None:
        bounds.append(e.seq >= select(func.min(h.first_seq)).where(*hours).scalar_subquery())
    if until_us is not None:
        bounds.append(e.seq <= select(func.max(h.last_seq)).where(*hours).scalar_subquery())
    return bounds


@dataclass(frozen=True)
class DayCount:
    """One UTC day's entries: allowed, refused, and those under emergency access."""

    day: date
    allowed: int
    refused: int
    break_glass: int


# The hours of a run of days: one range of the primary key (tenant_id, hour).
DAY_HOURS = select(
    AuditHour.hour, AuditHour.allowed, AuditHour.refused, AuditHour.break_glass
).where(
    AuditHour.tenant_id == bindparam("tenant"),
    AuditHour.hour >= bindparam("start"),
    AuditHour.hour < bindparam("end"),
)


def day_counts(session: Session, tenant: str, first: date, days: int) -> list[DayCount]:
    """Entries per UTC day from ``first`` for ``days`` days, oldest first (zero when none),
    summed from at most ``24 * days`` rows of ``audit_hours``."""
    start = (first - EPOCH).days * HOURS_PER_DAY
    rows = session.execute(
        DAY_HOURS, {"tenant": tenant, "start": start, "end": start + days * HOURS_PER_DAY}
    )
    counts = [[0, 0, 0] for _ in range(days)]
    for hour, allowed, refused, glass in rows:
        day = counts[(int(hour) - start) // HOURS_PER_DAY]
        day[0] += int(allowed)
        day[1] += int(refused)
        day[2] += int(glass)
    return [
        DayCount(first + timedelta(days=i), allowed, refused, glass)
        for i, (allowed, refused, glass) in enumerate(counts)
    ]
