"""The dashboard's count of due credentials comes from credential slots, kept on write: it
must always equal what the full listing (every credential decrypted) counts, and it must be
one index range however many credentials an agency holds (issue 9 §3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select

from phivault.access.policy import PurposeOfUse
from phivault.db.engine import Scope
from phivault.db.explain import explain
from phivault.records import credential_slots, service
from phivault.records.credentials import count_credentials_due, credentials_due
from phivault.records.models import CredentialSlot, CredentialSlotBuild


def _unit(env, persona: str = "officer"):
    return env.vault.unit(env.world.tenant_a, env.world[persona].actor, PurposeOfUse.OPERATIONS)


def _add(env, expires_on: str, kind: str = "license", tags: tuple[str, ...] = ()) -> uuid.UUID:
    with _unit(env) as unit:
        view = service.do_create_record(
            unit,
            person_id=env.world.caregiver,
            type_name="credential",
            fields={"credential_type": kind, "expires_on": expires_on},
            sensitivity=tags,
        )
    return view.id


def _agree(env) -> tuple[int, int]:
    """The slots' count equals the listing's, for a Full view and a Minimum one."""
    counted = (0, 0)
    for persona in ("officer", "scheduler"):
        with _unit(env, persona) as unit:
            listed = credentials_due(unit)
            counted = tuple(vars(count_credentials_due(unit)).values())  # type: ignore[assignment]
        assert counted == (len(listed), sum(1 for c in listed if c.days_left < 0)), persona
    return counted


def test_the_count_follows_every_write_of_a_credential(env) -> None:
    # The world's clock stands at 2026-01-05; its caregiver's CPR card expires on 2026-03-01.
    assert _agree(env) == (0, 0)  # the first count builds the tenant's slots
    tb = _add(env, "2026-01-01", "tb_test")  # lapsed
    assert _agree(env) == (1, 1)
    _add(env, "2026-01-20", "license")  # lapsing
    assert _agree(env) == (2, 1)
    _add(env, "2027-01-01", "tb_test")  # the TB test renewed
    assert _agree(env) == (1, 0)
    lic = _add(env, "2025-06-01", "first_aid")
    assert _agree(env) == (2, 1)
    with _unit(env) as unit:  # a correction that changes the kind moves the slot
        service.do_update_record(
            unit, lic, fields={"credential_type": "cpr"}, expected_version=None
        )
    # first_aid has no credential any more; the corrected card is an older CPR card than
    # the world's, which stays the latest of its kind.
    assert _agree(env) == (1, 0)
    with _unit(env) as unit:
        service.do_void_record(unit, tb, reason="entered for the wrong caregiver by mistake")
    assert _agree(env) == (1, 0)


def test_a_tagged_credential_counts_only_for_those_who_see_tagged_records(env) -> None:
    _add(env, "2026-01-10", "tb_test", tags=("hiv",))
    _add(env, "2025-12-01", "tb_test")  # an older untagged one of the same kind, lapsed
    with _unit(env, "officer") as unit:
        full = count_credentials_due(unit)
    with _unit(env, "scheduler") as unit:
        partial = count_credentials_due(unit)
    assert (full.due, full.lapsed) == (1, 0)  # the tagged, latest one: lapsing
    assert (partial.due, partial.lapsed) == (1, 1)  # the untagged one only: lapsed
    _agree(env)


def test_voiding_the_caregiver_removes_their_slots(env) -> None:
    _add(env, "2026-01-01", "tb_test")
    assert _agree(env) == (1, 1)
    with _unit(env) as unit:
        service.do_void_person(
            unit, env.world.caregiver, reason="created twice for the same caregiver"
        )
    assert _agree(env) == (0, 0)
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        assert session.scalar(select(func.count()).select_from(CredentialSlot)) == 0


def test_slots_are_built_from_existing_records_on_first_use(env) -> None:
    """After migration 0012 an agency's credentials are already on file: the first count
    builds the slots from them; a rebuild gives the same rows."""
    _add(env, "2026-01-01", "tb_test")
    _add(env, "2026-02-01", "license")
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        assert session.get(CredentialSlotBuild, env.world.tenant_a) is None  # not built yet
    counted = _agree(env)
    assert counted == (2, 1)  # the world's CPR card is not due yet
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        built = sorted(session.execute(select(CredentialSlot.slot, CredentialSlot.expires_on)))
        session.execute(delete(CredentialSlotBuild))
    assert _agree(env) == counted
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        assert (
            sorted(session.execute(select(CredentialSlot.slot, CredentialSlot.expires_on))) == built
        )


def test_kinds_that_differ_only_in_case_are_two_kinds(env) -> None:
    """The listing tells "TB test" from "tb test": so do the slots, whether kept on write or
    built from records already on file (a shared slot gave a wrong count, or a first build
    that failed on the slot's unique key)."""
    _add(env, "2026-01-01", "TB test")  # lapsed
    _add(env, "2027-01-01", "tb test")  # far off
    assert _agree(env) == (1, 1)  # built on first use, from both records
    _add(env, "2026-01-02", "Tb Test")  # a third kind, lapsed, kept on write
    assert _agree(env) == (2, 2)


def test_a_slot_names_nobody(env) -> None:
    _add(env, "2026-01-01", "tb_test")
    _agree(env)
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        rows = session.scalars(select(CredentialSlot)).all()
    assert rows and {r.view for r in rows} == {"all", "untagged"}
    for row in rows:
        assert env.world.caregiver.bytes not in row.slot and b"tb_test" not in row.slot
        assert len(row.slot) == 32


def test_the_count_is_one_index_range(env) -> None:
    today = env.clock().date()
    rows = [
        {
            "tenant_id": env.world.tenant_a,
            "slot": uuid.uuid4().bytes * 2,
            "view": ("all", "untagged")[i % 2],
            "expires_on": today + timedelta(days=i % 900 - 100),
        }
        for i in range(6_000)
    ]
    with env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session:
        session.execute(CredentialSlot.__table__.insert(), rows)
        session.add(CredentialSlotBuild(tenant_id=env.world.tenant_a, built_at=env.clock()))
        if env.backend == "postgres":
            session.connection().exec_driver_sql("ANALYZE credential_slots")
    vault = env.reopen()  # SQLite refreshes its statistics when a vault opens
    try:
        with vault.unit(
            env.world.tenant_a, env.world["scheduler"].actor, PurposeOfUse.OPERATIONS
        ) as unit:
            statement = credential_slots.due_query(unit.tenant_id, full=False)
            plan = explain(
                unit.session.connection(),
                statement,
                {"until": today + timedelta(days=30), "today": today},
            )
    finally:
        vault.db.dispose()
    assert "ix_credential_slots_due" in plan, plan
    assert "SCAN credential_slots" not in plan and "Seq Scan" not in plan, plan
