"""Credential tracking: lapsed and lapsing credentials, read through the guard."""

from __future__ import annotations

from datetime import date

import pytest

from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit
from phivault.errors import Forbidden
from phivault.records import service
from phivault.records.credentials import credentials_due, expiring_credentials
from tests.support.audit import events


def _unit(env, persona):
    return env.vault.unit(env.world.tenant_a, env.world[persona].actor, PurposeOfUse.OPERATIONS)


def _add(env, expires_on: str, kind: str = "license") -> None:
    with _unit(env, "officer") as unit:
        service.do_create_record(
            unit,
            person_id=env.world.caregiver,
            type_name="credential",
            fields={"credential_type": kind, "expires_on": expires_on},
        )


def test_lapsed_and_lapsing_are_listed_soonest_first(env) -> None:
    # The world's clock stands at 2026-01-05; its CPR card expires on 2026-03-01.
    _add(env, "2026-01-01", "tb_test")  # lapsed 4 days ago
    _add(env, "2026-01-20", "license")  # 15 days left
    _add(env, "2026-06-01", "first_aid")  # not due
    with _unit(env, "scheduler") as unit:  # Minimum view: type and expiry suffice
        due = expiring_credentials(unit, within_days=30)
    assert [(c.credential_type, c.days_left) for c in due] == [("tb_test", -4), ("license", 15)]
    assert due[0].expires_on == date(2026, 1, 1)
    assert due[0].family_name  # the caregiver's name, for the office to act on


def test_a_renewal_replaces_the_lapsed_credential(env) -> None:
    _add(env, "2025-03-01", "cpr")  # an old card, long lapsed...
    with _unit(env, "scheduler") as unit:
        assert [c.expires_on for c in credentials_due(unit, within_days=60)] == [date(2026, 3, 1)]
    _add(env, "2027-03-01", "cpr")  # ...and the renewal of the world's card
    with _unit(env, "scheduler") as unit:
        assert credentials_due(unit, within_days=60) == []


def test_the_count_names_nobody_and_reads_only_type_and_expiry(env) -> None:
    with _unit(env, "scheduler") as unit:
        due = credentials_due(unit, within_days=60)
    assert due[0].family_name == "" and due[0].given_name == ""
    with env.vault.unit(env.world.tenant_a, env.world["officer"].actor) as unit:
        event = audit.query_events(unit, audit.EventFilter(action="record.list", limit=1))[0]
    assert event["actor_id"] == str(env.world["scheduler"].member_id)
    assert event["purpose"] == "operations"
    assert event["fields"] == ["credential_type", "expires_on"]
    assert not events(
        env.vault,
        env.world.tenant_a,
        action="person.read",
        actor_id=env.world["scheduler"].member_id,
    )


def test_each_caregiver_named_is_an_audited_read_of_that_person(env) -> None:
    with _unit(env, "scheduler") as unit:
        expiring_credentials(unit, within_days=60)
    reads = events(
        env.vault,
        env.world.tenant_a,
        action="person.read",
        actor_id=env.world["scheduler"].member_id,
    )
    assert [(r.person_id, r.fields) for r in reads] == [
        (str(env.world.caregiver), "family_name,given_name")
    ]


def test_emergency_only_staff_are_refused(env) -> None:
    with pytest.raises(Forbidden), _unit(env, "it_support") as unit:
        credentials_due(unit)


def test_staff_of_another_agency_see_none_of_these(env) -> None:
    with env.vault.unit(
        env.world.tenant_b, env.world["other_staff"].actor, PurposeOfUse.OPERATIONS
    ) as unit:
        assert expiring_credentials(unit, within_days=365) == []
