"""Audit activity per day, for the dashboard chart."""

from __future__ import annotations

from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit
from phivault.errors import NotFound
from phivault.records import service


def test_counts_per_day_with_refusals_and_empty_days(env) -> None:
    w = env.world
    env.clock.advance(days=2)
    with env.vault.unit(w.tenant_a, w["coder"].actor, PurposeOfUse.PAYMENT) as unit:
        service.read_person(unit, w.patient)
    try:
        with env.vault.unit(w.tenant_a, w["coder"].actor, PurposeOfUse.PAYMENT) as unit:
            service.read_record(unit, w.records["sensitive_note"])  # Summary: refused
    except NotFound:
        pass
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        days = audit.activity_by_day(unit, days=5)
    assert [d.day.isoformat() for d in days] == [
        "2026-01-03",
        "2026-01-04",
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
    ]
    assert days[2].allowed > 0  # the world was built on 2026-01-05
    assert days[3].allowed == days[3].refused == 0
    # Today: the coder's read, the refusal, and this summary itself.
    assert (days[4].allowed, days[4].refused) == (2, 1)
