"""The trail counted per UTC hour (``audit_hours``, migration 0015) is exact by construction:
the dashboard's activity panel equals a direct count of the events — allowed, refused and
emergency access, on either side of midnight, with an event whose time is earlier than its
position in the chain — and the viewer's date filter, which now adds the seq bounds those
hours imply, returns exactly the entries and order it returned without them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from phivault.access import breakglass
from phivault.access.policy import PurposeOfUse
from phivault.audit import hours
from phivault.audit import service as audit
from phivault.audit.models import AuditEvent, AuditHour
from phivault.clock import from_micros, to_micros
from phivault.db.engine import Scope
from phivault.errors import NotFound
from phivault.records import service

T = PurposeOfUse.TREATMENT
MIDNIGHT = datetime(2026, 1, 7, tzinfo=UTC)
REASON = "Unconscious patient on scene, we need the allergy list now."


def _at(env, moment: datetime) -> None:
    env.clock.now = moment


def _read(env, persona: str = "coder") -> None:
    w = env.world
    with env.vault.unit(w.tenant_a, w[persona].actor, PurposeOfUse.PAYMENT) as unit:
        service.read_person(unit, w.patient)


def _refused(env) -> None:
    w = env.world
    with (
        pytest.raises(NotFound),
        env.vault.unit(w.tenant_a, w["coder"].actor, PurposeOfUse.PAYMENT) as unit,
    ):
        service.read_record(unit, w.records["sensitive_note"])  # Summary: refused


def _emergency(env) -> None:
    """Break-glass by the IT technician, then a read under it (entries marked break_glass)."""
    w = env.world
    with env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        breakglass.do_break_glass(unit, person_id=w.patient, reason=REASON)
    with env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        service.read_person(unit, w.patient)


def _trail(env) -> None:
    """Activity over three days, on both sides of midnight to the microsecond, in the other
    tenant too, and one unit whose time lies two hours before entries already chained (a unit
    opened earlier that commits later: time order is not seq order)."""
    _at(env, MIDNIGHT - timedelta(days=1, hours=3))
    _read(env)
    _refused(env)
    _at(env, MIDNIGHT - timedelta(microseconds=1))
    _read(env)
    _emergency(env)
    _refused(env)
    _at(env, MIDNIGHT)
    _read(env)
    _refused(env)
    with env.vault.unit(env.world.tenant_b, env.world["other_staff"].actor, T) as unit:
        service.read_person(unit, env.world.patient_b)
    _at(env, MIDNIGHT + timedelta(hours=5))
    _read(env)
    _at(env, MIDNIGHT + timedelta(hours=3, minutes=30))  # earlier than the entry before it
    _emergency(env)
    _at(env, MIDNIGHT + timedelta(days=1, hours=10))
    _read(env)


def _events(env, tenant=None) -> list[AuditEvent]:
    tenant = tenant or env.world.tenant_a
    with env.vault.db.transaction(Scope.tenant(tenant)) as session:
        query = select(AuditEvent).where(AuditEvent.tenant_id == str(tenant))
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def _counted_directly(events: list[AuditEvent]) -> dict[date, tuple[int, int, int]]:
    """Per UTC day: allowed, refused, emergency access — from the events themselves."""
    counts: Counter[tuple[date, str]] = Counter()
    for event in events:
        day = from_micros(event.occurred_us).date()
        counts[day, "allowed" if event.outcome == "allowed" else "refused"] += 1
        counts[day, "glass"] += 1 if event.break_glass else 0
    days = {d for d, _ in counts}
    return {d: (counts[d, "allowed"], counts[d, "refused"], counts[d, "glass"]) for d in days}


def test_the_panel_equals_a_direct_count_of_the_events(env) -> None:
    _trail(env)
    with env.vault.unit(env.world.tenant_a, env.world["officer"].actor) as unit:
        panel = audit.activity_by_day(unit, days=14)
    direct = _counted_directly(_events(env))  # read after: the panel's own read is counted
    assert [d.day for d in panel] == [MIDNIGHT.date() + timedelta(days=i - 12) for i in range(14)]
    for day in panel:
        assert (day.allowed, day.refused, day.break_glass) == direct.get(day.day, (0, 0, 0))
    by_day = {d.day: d for d in panel}
    # Both sides of midnight, refusals and emergency access each on their own day.
    before, after = by_day[date(2026, 1, 6)], by_day[date(2026, 1, 7)]
    assert before.refused == 1 and before.break_glass > 0
    assert after.refused == 1 and after.break_glass > 0
    # The whole trail lies within the 14 days (the world was built on 2026-01-05).
    assert sum(d.allowed + d.refused for d in panel) == len(_events(env))


def test_every_hour_holds_exactly_its_events(env) -> None:
    """What the appends kept equals the events grouped by hour, and a recount (the repair a
    bulk load uses) changes nothing."""
    _trail(env)
    expected: dict[int, list[int]] = {}
    for event in _events(env):
        row = expected.setdefault(event.occurred_us // hours.HOUR_US, [0, 0, 0, event.seq, 0])
        row[0 if event.outcome == "allowed" else 1] += 1
        row[2] += 1 if event.break_glass else 0
        row[3], row[4] = min(row[3], event.seq), max(row[4], event.seq)

    def kept() -> dict[int, list[int]]:
        tenant = str(env.world.tenant_a)
        h = AuditHour
        with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
            rows = session.execute(
                select(h.hour, h.allowed, h.refused, h.break_glass, h.first_seq, h.last_seq)
                .where(h.tenant_id == tenant)
                .order_by(h.hour)
            )
            return {r[0]: list(r[1:]) for r in rows}

    assert kept() == expected
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        hours.recount(session, str(env.world.tenant_a))
    assert kept() == expected


def test_another_tenants_hours_are_not_visible(env) -> None:
    _trail(env)
    tenant_b = str(env.world.tenant_b)
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        mine = session.scalars(select(AuditHour.tenant_id).distinct()).all()
    if env.backend == "postgres":  # row-level security; SQLite has one file per installation
        assert tenant_b not in mine
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_b)) as session:
        counts = list(
            session.execute(
                select(AuditHour.allowed).where(AuditHour.tenant_id == tenant_b)
            ).scalars()
        )
    assert sum(counts) == len(_events(env, env.world.tenant_b))


def _without_bounds(env, flt: audit.EventFilter) -> list[int]:
    """The page as it was read before migration 0015: the time range, ordered by seq."""
    e = AuditEvent
    query = select(e.seq).where(e.tenant_id == str(env.world.tenant_a))
    if flt.outcome:
        query = query.where(e.outcome == flt.outcome)
    if flt.since:
        query = query.where(e.occurred_us >= to_micros(flt.since))
    if flt.until:
        query = query.where(e.occurred_us < to_micros(flt.until))
    query = query.order_by(e.seq.desc()).offset(flt.offset).limit(flt.limit)
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        return list(session.scalars(query))


RANGES = [
    (MIDNIGHT - timedelta(days=1), MIDNIGHT),  # the web filter's whole UTC day
    (MIDNIGHT, MIDNIGHT + timedelta(days=1)),
    (MIDNIGHT - timedelta(microseconds=1), MIDNIGHT + timedelta(microseconds=1)),
    (MIDNIGHT + timedelta(hours=3, minutes=31), MIDNIGHT + timedelta(hours=5, seconds=1)),
    (MIDNIGHT + timedelta(hours=3, minutes=30), MIDNIGHT + timedelta(hours=3, minutes=31)),
    (MIDNIGHT + timedelta(hours=1), MIDNIGHT + timedelta(hours=2)),  # no entry at all
    (MIDNIGHT - timedelta(days=30), MIDNIGHT - timedelta(days=29)),  # before the trail
    (MIDNIGHT, MIDNIGHT - timedelta(hours=1)),  # empty: until before since
    (MIDNIGHT + timedelta(minutes=1), None),
    (None, MIDNIGHT + timedelta(hours=4)),
]


@pytest.mark.parametrize(("since", "until"), RANGES)
def test_the_date_filter_returns_what_it_returned_without_seq_bounds(env, since, until) -> None:
    _trail(env)
    filters = [
        audit.EventFilter(since=since, until=until, limit=101),
        audit.EventFilter(since=since, until=until, limit=2),
        audit.EventFilter(since=since, until=until, limit=2, offset=1),
        audit.EventFilter(since=since, until=until, outcome="refused", limit=101),
    ]
    for flt in filters:
        with env.vault.unit(env.world.tenant_a, env.world["officer"].actor) as unit:
            got = [e["seq"] for e in audit.query_events(unit, flt)]
        # Read after: the viewer's query records itself before it reads (and may find itself).
        assert got == _without_bounds(env, flt), flt
