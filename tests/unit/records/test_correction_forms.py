"""The services behind the record forms: which fields a writer is offered, and corrections
that may not empty a required field."""

from __future__ import annotations

import pytest

from phivault.access.policy import PurposeOfUse
from phivault.errors import InvalidInput, NotFound
from phivault.records import service


def _unit(env, persona: str, purpose=PurposeOfUse.TREATMENT):
    return env.vault.unit(env.world.tenant_a, env.world[persona].actor, purpose)


def test_full_writer_is_offered_every_field_and_may_tag(env) -> None:
    with _unit(env, "clinician") as unit:
        offer = service.new_record_form(unit, env.world.patient, "care_plan")
    assert {f.name for f in offer.writable} >= {"service_type", "plan_text", "medications"}
    assert offer.may_tag
    assert offer.person.fields["family_name"] == env.world.secrets["family"]


def test_summary_writer_is_offered_no_full_field_and_may_not_tag(env) -> None:
    with _unit(env, "coder", PurposeOfUse.PAYMENT) as unit:
        offer = service.new_record_form(unit, env.world.patient, "care_plan")
    names = {f.name for f in offer.writable}
    assert "diagnosis_codes" in names
    assert not names & {"plan_text", "medications", "allergies"}
    assert not offer.may_tag


def test_a_record_type_the_person_cannot_have_is_refused(env) -> None:
    with pytest.raises(InvalidInput, match="cannot have"), _unit(env, "clinician") as unit:
        service.new_record_form(unit, env.world.patient, "payroll_entry")


def test_emergency_only_staff_get_no_form(env) -> None:
    with pytest.raises(NotFound), _unit(env, "it_support") as unit:
        service.new_record_form(unit, env.world.patient, "care_plan")


def test_correction_form_shows_the_writers_tiers_only(env) -> None:
    with _unit(env, "coder", PurposeOfUse.PAYMENT) as unit:
        draft = service.open_record_for_correction(unit, env.world.records["care_plan"])
    assert "plan_text" not in draft.record.fields
    assert "plan_text" not in {f.name for f in draft.writable}
    assert draft.record.version == 1


def test_correction_form_is_audited_as_a_read_by_a_writer(env) -> None:
    from phivault.audit import service as audit

    record_id = env.world.records["care_plan"]
    with _unit(env, "clinician") as unit:
        service.open_record_for_correction(unit, record_id)
    with env.vault.unit(env.world.tenant_a, env.world["officer"].actor) as unit:
        events = audit.query_events(unit, audit.EventFilter(action="record.read", limit=5))
    latest = events[0]
    assert latest["resource_id"] == str(record_id)
    assert latest["actor_id"] == str(env.world["clinician"].member_id)
    assert "plan_text" in latest["fields"]
    assert env.world.secrets["plan"] not in str(latest)


def test_a_required_field_cannot_be_emptied(env) -> None:
    record_id = env.world.records["care_plan"]
    with pytest.raises(InvalidInput, match="service_type"), _unit(env, "clinician") as unit:
        service.do_update_record(unit, record_id, fields={"service_type": None}, expected_version=1)
    with _unit(env, "clinician") as unit:
        assert service.read_record(unit, record_id).fields["service_type"] == "personal care"


def test_a_person_correction_form_needs_the_write_permission(env) -> None:
    from tests.support.audit import last_event

    with _unit(env, "clinician") as unit:
        person = service.open_person_for_correction(unit, env.world.patient)
    assert person.fields["mrn"] == env.world.secrets["mrn"]
    with pytest.raises(NotFound), _unit(env, "it_support") as unit:  # no write permission
        service.open_person_for_correction(unit, env.world.patient)
    refused = last_event(env.vault, env.world.tenant_a, action="person.read", outcome="refused")
    assert refused.actor_id == str(env.world["it_support"].member_id)
    assert refused.fields == "tenant:people:write"


def test_whitespace_is_not_a_value_for_a_required_field(env) -> None:
    record_id = env.world.records["care_plan"]
    with pytest.raises(InvalidInput, match="service_type"), _unit(env, "clinician") as unit:
        service.do_update_record(
            unit, record_id, fields={"service_type": "   "}, expected_version=1
        )
    with pytest.raises(InvalidInput, match="missing required"), _unit(env, "clinician") as unit:
        service.do_create_record(
            unit, person_id=env.world.patient, type_name="care_plan", fields={"service_type": " "}
        )
