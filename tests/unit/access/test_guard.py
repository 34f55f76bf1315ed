"""The guard: categories project fields, refusals are 404 and audited, purpose is required,
break-glass widens access for a time, hooks can refuse, and the audit fails closed."""

from __future__ import annotations

import uuid

import pytest

from phivault.access import breakglass
from phivault.access.guard import UndeclaredPermission
from phivault.access.policy import Permission, PurposeOfUse
from phivault.audit import events as audit_events
from phivault.errors import AuditUnavailable, NotFound, PurposeRequired
from phivault.records import service
from tests.support.audit import last_event

T = PurposeOfUse.TREATMENT


def read(env, persona: str, record: str, purpose=T, tenant=None):
    w = env.world
    with env.vault.unit(tenant or w.tenant_a, w[persona].actor, purpose) as unit:
        return service.read_record(unit, w.records[record])


def test_full_category_sees_every_field(env) -> None:
    view = read(env, "clinician", "note")
    assert view.fields["text"] == env.world.secrets["note"]
    assert {"note_date", "assessment_summary", "text"} <= set(view.fields)


def test_summary_category_sees_codes_but_not_the_full_note(env) -> None:
    view = read(env, "coder", "care_plan")
    assert set(view.fields) == {"service_type", "diagnosis_codes", "goals_summary"}
    event = last_event(env.vault, env.world.tenant_a, action="record.read")
    assert event.fields == "diagnosis_codes,goals_summary,service_type"
    assert event.actor_id == str(env.world["coder"].member_id)


def test_minimum_category_sees_minimum_fields_only(env) -> None:
    plan = read(env, "scheduler", "care_plan")
    assert set(plan.fields) == {"service_type"}
    demo = read(env, "scheduler", "demographics")
    assert "address" in demo.fields
    assert "ssn" not in demo.fields


@pytest.mark.parametrize("persona", ["coder", "scheduler"])
def test_partial_categories_cannot_open_sensitive_records(env, persona: str) -> None:
    with pytest.raises(NotFound):
        read(env, persona, "sensitive_note")
    event = last_event(env.vault, env.world.tenant_a, outcome="refused")
    assert (event.action, event.reason) == ("record.read", "sensitivity")


def test_partial_categories_do_not_even_see_sensitive_records_listed(env) -> None:
    w = env.world
    with env.vault.unit(w.tenant_a, w["coder"].actor, T) as unit:
        listed = service.list_records(unit, w.patient)
    ids = {r.id for r in listed}
    assert w.records["sensitive_note"] not in ids
    assert w.records["care_plan"] in ids
    with env.vault.unit(w.tenant_a, w["clinician"].actor, T) as unit:
        assert w.records["sensitive_note"] in {r.id for r in service.list_records(unit, w.patient)}


def test_emergency_only_staff_see_nothing_without_break_glass(env) -> None:
    with pytest.raises(NotFound):
        read(env, "it_support", "note")
    w = env.world
    with env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        found = service.search_people(
            unit,
            mrn=w.secrets["mrn"],
            emergency_reason="Unconscious patient on scene, finding the right chart.",
        )
    assert [p.id for p in found] == [w.patient]
    assert found[0].fields == {}  # identity confirmed by id only


def test_break_glass_opens_full_view_for_a_limited_time(env) -> None:
    w = env.world
    actor = w["it_support"].actor
    with env.vault.unit(w.tenant_a, actor, T) as unit:
        grant = breakglass.do_break_glass(
            unit, person_id=w.patient, reason="unconscious patient, needs allergy list", minutes=30
        )
    assert grant.review_status == "pending"
    view = read(env, "it_support", "sensitive_note")
    assert view.break_glass
    event = last_event(env.vault, w.tenant_a, action="record.read")
    assert event.break_glass == 1
    assert event.ref == str(grant.id)
    env.clock.advance(minutes=31)
    with pytest.raises(NotFound):
        read(env, "it_support", "note")


def test_break_glass_is_per_patient(env) -> None:
    w = env.world
    with env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        breakglass.do_break_glass(
            unit, person_id=w.patient, reason="cardiac arrest on scene, patient cannot speak"
        )
    with pytest.raises(NotFound):
        read(env, "it_support", "credential")  # belongs to another person


def test_break_glass_needs_a_real_reason(env) -> None:
    w = env.world
    from phivault.errors import InvalidInput

    with pytest.raises(InvalidInput), env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        breakglass.do_break_glass(unit, person_id=w.patient, reason="because")


def test_privacy_officer_reviews_break_glass(env) -> None:
    w = env.world
    with env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        grant = breakglass.do_break_glass(
            unit, person_id=w.patient, reason="overdose on scene, airway compromised now"
        )
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        pending = breakglass.list_break_glass(unit)
        assert [g.id for g in pending] == [grant.id]
        reviewed = breakglass.do_review_break_glass(unit, grant.id, disposition="appropriate")
    assert reviewed.review_status == "appropriate"
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        assert breakglass.list_break_glass(unit) == []


def test_staff_cannot_review_break_glass(env) -> None:
    w = env.world
    from phivault.errors import Forbidden

    with pytest.raises(Forbidden), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        breakglass.list_break_glass(unit)


@pytest.mark.parametrize("persona", ["other_staff", "outsider"])
def test_other_tenants_staff_and_outsiders_get_not_found(env, persona: str) -> None:
    with pytest.raises(NotFound):
        read(env, persona, "note")
    event = last_event(env.vault, env.world.tenant_a, outcome="refused")
    assert event.reason == "no-grant"
    assert event.actor_id == str(env.world[persona].member_id)


def test_record_of_tenant_a_is_absent_in_tenant_b(env) -> None:
    with pytest.raises(NotFound):
        read(env, "other_staff", "note", tenant=env.world.tenant_b)
    event = last_event(env.vault, env.world.tenant_b, outcome="refused")
    assert event.reason == "not-found"


def test_absent_and_forbidden_look_the_same(env) -> None:
    w = env.world
    with pytest.raises(NotFound) as forbidden:
        read(env, "outsider", "note")
    with (
        pytest.raises(NotFound) as absent,
        env.vault.unit(w.tenant_a, w["clinician"].actor, T) as unit,
    ):
        service.read_record(unit, uuid.uuid4())
    assert str(forbidden.value) == str(absent.value)


def test_purpose_is_required(env) -> None:
    with pytest.raises(PurposeRequired):
        read(env, "clinician", "note", purpose=None)
    assert last_event(env.vault, env.world.tenant_a, outcome="refused").reason == "purpose-missing"


def test_other_purpose_needs_a_reason_which_is_stored_encrypted(env) -> None:
    with pytest.raises(PurposeRequired):
        read(env, "clinician", "note", purpose=PurposeOfUse.OTHER)
    w = env.world
    with env.vault.unit(
        w.tenant_a,
        w["clinician"].actor,
        PurposeOfUse.OTHER,
        reason="quality review requested by medical director",
    ) as unit:
        service.read_record(unit, w.records["note"])
    event = last_event(env.vault, w.tenant_a, action="record.read")
    assert event.purpose == "other"
    assert event.ref  # the reason is referenced by id, never copied into the log


def test_refused_write_leaves_nothing_behind(env) -> None:
    w = env.world
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        service.do_create_record(
            unit,
            person_id=w.patient,
            type_name="clinical_note",
            fields={"note_date": "2026-01-05", "text": "x"},
        )
    with env.vault.unit(w.tenant_a, w["clinician"].actor, T) as unit:
        notes = service.list_records(unit, w.patient, "clinical_note")
    assert len(notes) == 2


def test_audit_failure_returns_nothing_and_writes_nothing(env, monkeypatch) -> None:
    w = env.world

    def broken(*args, **kwargs):
        import sqlalchemy.exc

        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(audit_events, "append", broken)
    with pytest.raises(AuditUnavailable):
        read(env, "clinician", "note")
    with (
        pytest.raises(AuditUnavailable),
        env.vault.unit(w.tenant_a, w["clinician"].actor, T) as unit,
    ):
        service.do_create_record(
            unit,
            person_id=w.patient,
            type_name="clinical_note",
            fields={"note_date": "2026-01-05", "text": "fabricated"},
        )
    monkeypatch.undo()
    with env.vault.unit(w.tenant_a, w["clinician"].actor, T) as unit:
        assert len(service.list_records(unit, w.patient, "clinical_note")) == 2


def test_a_decision_that_is_never_audited_cannot_commit(env) -> None:
    w = env.world
    with (
        pytest.raises(AuditUnavailable, match="unaudited"),
        env.vault.unit(w.tenant_a, w["clinician"].actor, T) as unit,
    ):
        unit.guard.check(
            Permission.RECORDS_READ,
            action="record.read",
            resource_type="record",
            resource_id=w.records["note"],
            person_id=w.patient,
        )


def test_policy_hooks_can_refuse(env) -> None:
    env.vault.hooks.append(lambda unit, request: "restriction" if request.person_id else None)
    with pytest.raises(NotFound):
        read(env, "clinician", "note")
    assert last_event(env.vault, env.world.tenant_a, outcome="refused").reason == "restriction"


def test_undeclared_permission_is_refused(env) -> None:
    w = env.world
    with (
        pytest.raises(UndeclaredPermission),
        env.vault.unit(
            w.tenant_a, w["clinician"].actor, T, declared=frozenset({Permission.RECORDS_READ})
        ) as unit,
    ):
        service.do_create_record(
            unit, person_id=w.patient, type_name="clinical_note", fields={"note_date": "2026-01-05"}
        )


def test_refusal_that_cannot_be_audited_is_a_503_not_a_quiet_404(env, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OSError("audit disk gone")

    monkeypatch.setattr(audit_events, "append", broken)
    with pytest.raises(AuditUnavailable):
        read(env, "outsider", "note")
