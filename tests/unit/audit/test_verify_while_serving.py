"""A chain verification reads a snapshot: the vault keeps serving while it walks, and the
walk sees one consistent state (issue 9: verification must not stop the vault)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit_service
from phivault.audit import verify as verify_module
from phivault.errors import PhivaultError
from phivault.records import service
from tests.support.audit import events

WAIT = 20.0  # seconds; far beyond what any step here needs, short of hanging CI


def _hold_the_walk(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the walk pause once it has read its first rows, until the test lets it go on."""
    walking, go_on = threading.Event(), threading.Event()
    real = verify_module.verify_chain

    def paused(conn: Any, *args: Any, **kwargs: Any) -> Any:
        conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar()
        walking.set()
        assert go_on.wait(WAIT)
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(audit_service, "verify_chain", paused)
    return walking, go_on


@pytest.mark.parametrize("whole_vault", [False, True], ids=["viewer", "cli"])
def test_guarded_reads_and_writes_go_on_during_a_verification(
    env, monkeypatch: pytest.MonkeyPatch, whole_vault: bool
) -> None:
    w = env.world
    walking, go_on = _hold_the_walk(monkeypatch)
    results: list[Any] = []

    def verify() -> None:
        if whole_vault:
            results.extend(audit_service.verify_all(env.vault))
        else:
            officer = w["officer"].actor
            results.append(
                audit_service.verify_tenant_chain(lambda: env.vault.unit(w.tenant_a, officer))
            )

    walker = threading.Thread(target=verify)
    walker.start()
    try:
        assert walking.wait(WAIT), "the verification never started its walk"
        before = len(events(env.vault, w.tenant_a))
        # While the walk holds its snapshot: a guarded read (which appends an audit event)
        # and a write both complete. Holding the write lock would make them wait 15 s for
        # SQLite's busy timeout and then fail.
        with env.vault.unit(w.tenant_a, w["clinician"].actor, PurposeOfUse.TREATMENT) as unit:
            assert service.read_record(unit, w.records["care_plan"]).id == w.records["care_plan"]
            service.do_create_record(
                unit,
                person_id=w.patient,
                type_name="clinical_note",
                fields={"note_date": "2026-01-02"},
            )
        assert len(events(env.vault, w.tenant_a)) == before + 2  # the read and the write
    finally:
        go_on.set()
        walker.join(WAIT)
    assert not walker.is_alive()
    assert results and all(r.ok for r in results)
    # The walk saw the state as of its start, not the event appended meanwhile.
    walked = next(r for r in results if r.tenant_id == str(w.tenant_a))
    assert walked.last_seq < len(events(env.vault, w.tenant_a))


def test_the_verification_is_audited_when_asked_and_when_done(env) -> None:
    w = env.world
    officer = w["officer"].actor
    report = audit_service.verify_tenant_chain(lambda: env.vault.unit(w.tenant_a, officer))
    verifies = [e for e in events(env.vault, w.tenant_a) if e.action == "audit.verify"]
    assert [e.fields for e in verifies] == [
        "started",
        f"events:{report.events},result:intact",
    ]
    assert {e.actor_id for e in verifies} == {str(officer.member_id)}


def test_a_member_without_the_permission_is_refused_before_any_walk(env, monkeypatch) -> None:
    w = env.world
    walked: list[bool] = []
    monkeypatch.setattr(audit_service, "verify_chain", lambda *a, **k: walked.append(True))
    clinician = w["clinician"].actor
    with pytest.raises(PhivaultError) as refused:
        audit_service.verify_tenant_chain(lambda: env.vault.unit(w.tenant_a, clinician))
    assert refused.value.status == 403
    assert walked == []
