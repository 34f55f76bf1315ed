"""Records are validated, unique and never silently overwritten (AUD-7, HIPAA 164.312(c))."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from phivault.access.policy import PurposeOfUse
from phivault.db.engine import Scope
from phivault.records import service
from phivault.records.models import PersonVersion, RecordVersion
from tests.support.audit import last_event


def url(world, path: str, tenant=None) -> str:
    return f"/api/v1/tenants/{tenant or world.tenant_a}{path}"


def _note(world) -> str:
    return url(world, f"/records/{world.records['note']}")


# -- history, not overwrite -----------------------------------------------------------------
def test_a_correction_keeps_the_earlier_version_readable(client, world) -> None:
    headers = world["clinician"].headers
    patched = client.patch(
        _note(world), json={"fields": {"text": "corrected text"}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    response = client.get(_note(world) + "/versions", headers=headers)
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert (first["version"], first["current"], second["version"], second["current"]) == (
        1,
        False,
        2,
        True,
    )
    assert first["fields"]["text"] == world.secrets["note"]
    assert second["fields"]["text"] == "corrected text"
    assert first["replaced_by"] == str(world["clinician"].member_id)
    event = last_event(client.app.state.vault, world.tenant_a)
    assert (event.action, event.outcome) == ("record.versions", "allowed")
    assert "text" in event.fields


def test_version_history_is_for_full_readers_and_privacy_officers(client, world) -> None:
    client.patch(
        _note(world), json={"fields": {"text": "corrected"}}, headers=world["clinician"].headers
    )
    for persona in ("coder", "scheduler", "other_staff"):
        refused = client.get(_note(world) + "/versions", headers=world[persona].headers)
        assert refused.status_code == 404, persona
        assert world.secrets["note"] not in refused.text
    officer = client.get(_note(world) + "/versions", headers=world["officer"].headers)
    assert officer.status_code == 200
    assert officer.json()[0]["fields"]["text"] == world.secrets["note"]


def test_earlier_versions_are_encrypted_at_rest(env, world) -> None:
    with env.vault.unit(world.tenant_a, world["officer"].actor, PurposeOfUse.TREATMENT) as unit:
        service.do_update_record(
            unit, world.records["note"], fields={"text": "new"}, expected_version=1
        )
        service.do_update_person(unit, world.patient, {"family_name": "Renamed"})
    with env.vault.db.transaction(Scope.tenant(world.tenant_a)) as session:
        (kept,) = session.scalars(select(RecordVersion)).all()
        (person,) = session.scalars(select(PersonVersion)).all()
        stored = b"".join(
            b or b"" for b in (kept.minimum_ct, kept.summary_ct, kept.full_ct, kept.tags_ct)
        )
        assert world.secrets["note"].encode() not in stored
        assert world.secrets["family"].encode() not in person.family_name_ct
        assert kept.version == 1 and kept.record_id == world.records["note"]
    with env.vault.unit(world.tenant_a, world["officer"].actor, PurposeOfUse.TREATMENT) as unit:
        name = unit.cipher.decrypt_text(
            "person_versions", "family_name", person.id, person.family_name_ct
        )
        assert name == world.secrets["family"]


# -- voiding ---------------------------------------------------------------------------------
def test_a_voided_record_is_hidden_but_kept_for_the_privacy_office(client, world) -> None:
    headers = world["clinician"].headers
    reason = {"reason": "written on the wrong patient's chart"}
    voided = client.post(_note(world) + "/void", json=reason, headers=headers)
    assert voided.status_code == 204, voided.text
    event = last_event(client.app.state.vault, world.tenant_a)
    assert (event.action, event.fields) == ("record.void", "void_reason")
    assert client.get(_note(world), headers=headers).status_code == 404
    listed = client.get(url(world, f"/people/{world.patient}/records"), headers=headers).json()
    assert str(world.records["note"]) not in {r["id"] for r in listed}
    assert client.get(_note(world) + "/versions", headers=headers).status_code == 404
    kept = client.get(_note(world) + "/versions", headers=world["officer"].headers)
    assert kept.status_code == 200
    assert kept.json()[-1]["voided"] is True
    assert kept.json()[-1]["fields"]["text"] == world.secrets["note"]
    again = client.post(_note(world) + "/void", json=reason, headers=headers)
    assert again.status_code == 404


def test_voiding_is_permission_checked_and_needs_a_reason(client, world) -> None:
    reason = {"reason": "written on the wrong patient's chart"}
    for persona in ("coder", "other_staff", "it_support"):
        refused = client.post(_note(world) + "/void", json=reason, headers=world[persona].headers)
        assert refused.status_code in (403, 404), persona
    short = client.post(
        _note(world) + "/void", json={"reason": "aaaaaaaaaa"}, headers=world["clinician"].headers
    )
    assert short.status_code == 422
    assert client.get(_note(world), headers=world["clinician"].headers).status_code == 200


def test_a_voided_person_is_hidden_from_reads_lists_and_search(client, world) -> None:
    headers = world["clinician"].headers
    person = url(world, f"/people/{world.patient}")
    voided = client.post(
        person + "/void", json={"reason": "a duplicate of an existing patient"}, headers=headers
    )
    assert voided.status_code == 204, voided.text
    assert client.get(person, headers=headers).status_code == 404
    assert client.get(_note(world), headers=headers).status_code == 404
    listed = client.get(url(world, "/people"), headers=headers).json()
    assert str(world.patient) not in {p["id"] for p in listed}
    found = client.post(
        url(world, "/people/search"), json={"mrn": world.secrets["mrn"]}, headers=headers
    )
    assert found.status_code == 200 and found.json() == []


# -- typed fields ----------------------------------------------------------------------------
def _create(client, world, record_type: str, fields: dict, person=None):
    return client.post(
        url(world, f"/people/{person or world.patient}/records"),
        json={"record_type": record_type, "fields": fields},
        headers=world["clinician"].headers,
    )


@pytest.mark.parametrize("amount", [99999999999999999999999999999, 19.999, "19.999", -5, "abc"])
def test_money_that_storing_would_change_is_refused(client, world, amount) -> None:
    response = _create(
        client, world, "billing_claim", {"claim_date": "2026-01-02", "amount": amount}
    )
    assert response.status_code == 422, response.text
    assert "amount" in response.json()["detail"]


@pytest.mark.parametrize(("given", "stored"), [("19.99", "19.99"), (19.5, "19.50"), (0, "0.00")])
def test_money_is_stored_exactly_with_two_places(client, world, given, stored) -> None:
    response = _create(
        client, world, "billing_claim", {"claim_date": "2026-01-02", "amount": given}
    )
    assert response.status_code == 201, response.text
    assert response.json()["fields"]["amount"] == stored


@pytest.mark.parametrize(
    ("record_type", "fields", "named"),
    [
        ("clinical_note", {"note_date": "1850-01-01"}, "note_date"),
        ("clinical_note", {"note_date": "2999-01-01"}, "note_date"),
        ("care_plan", {"service_type": "x", "start_date": "0001-01-01"}, "start_date"),
        ("visit_schedule", {"visit_date": "2026-01-02", "start_time": "25:99"}, "start_time"),
        (
            "visit_schedule",
            {"visit_date": "2026-01-02", "start_time": "10:00", "end_time": "09:30"},
            "end_time",
        ),
        ("demographics", {"email": "not-an-address"}, "email"),
        ("demographics", {"phone": "call me"}, "phone"),
        ("demographics", {"ssn": "123456789"}, "ssn"),
        ("demographics", {"state": "ZZ"}, "state"),
        ("demographics", {"postal_code": "1234"}, "postal_code"),
    ],
)
def test_impossible_values_are_refused_naming_the_field(
    client, world, record_type, fields, named
) -> None:
    response = _create(client, world, record_type, fields)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert named in detail
    if "date" in named:
        assert "1990-01-01" in detail  # the message says which range


def test_plausible_values_are_accepted(client, world) -> None:
    demographics = {
        "email": "pat.doe@example.org",
        "phone": "(503) 555-0142",
        "ssn": "123-45-6789",
        "state": "OR",
        "postal_code": "97201-1234",
    }
    assert _create(client, world, "demographics", demographics).status_code == 201
    visit = {"visit_date": "2026-01-02", "start_time": "09:00", "end_time": "10:30"}
    assert _create(client, world, "visit_schedule", visit).status_code == 201


def test_a_caregiver_reference_names_a_caregiver_of_the_agency(client, world) -> None:
    def visit(caregiver: object):
        fields = {"visit_date": "2026-01-02", "caregiver_id": str(caregiver)}
        return _create(client, world, "visit_schedule", fields)

    assert visit(world.caregiver).status_code == 201
    for wrong in (world.patient, world.patient_b, uuid.uuid4(), "not-an-id"):
        response = visit(wrong)
        assert response.status_code == 422, wrong
        assert "caregiver_id" in response.json()["detail"]


# -- MRN unique per agency -------------------------------------------------------------------
def test_a_second_person_with_the_same_mrn_is_refused(client, world) -> None:
    headers = world["clinician"].headers
    body = {
        "kind": "patient",
        "given_name": "Second",
        "family_name": "Person",
        "date_of_birth": "1970-01-01",
        "mrn": world.secrets["mrn"],
    }
    response = client.post(url(world, "/people"), json=body, headers=headers)
    assert response.status_code == 409, response.text
    assert "MRN" in response.json()["detail"]
    other = client.post(url(world, "/people"), json={**body, "mrn": "X-1"}, headers=headers)
    assert other.status_code == 201
    taken = client.patch(
        url(world, f"/people/{other.json()['id']}"),
        json={"mrn": world.secrets["mrn"]},
        headers=headers,
    )
    assert taken.status_code == 409
    found = client.post(
        url(world, "/people/search"), json={"mrn": world.secrets["mrn"]}, headers=headers
    )
    assert len(found.json()) == 1
    # Another agency may use the same MRN for its own patient.
    elsewhere = client.post(
        url(world, "/people", world.tenant_b), json=body, headers=world["officer"].headers
    )
    assert elsewhere.status_code == 201, elsewhere.text


def test_the_database_refuses_a_duplicate_mrn(env, world) -> None:
    from sqlalchemy.exc import IntegrityError

    from phivault.records.models import Person

    with env.vault.db.transaction(Scope.tenant(world.tenant_a)) as session:
        original = session.get(Person, (world.tenant_a, world.patient))
        assert original is not None
        copy = Person(
            tenant_id=world.tenant_a,
            id=uuid.uuid4(),
            kind="patient",
            given_name_ct=original.given_name_ct,
            family_name_ct=original.family_name_ct,
            date_of_birth_ct=original.date_of_birth_ct,
            mrn_ct=original.mrn_ct,
            bidx_name_dob=original.bidx_name_dob,
            bidx_mrn=original.bidx_mrn,
            created_at=original.created_at,
            updated_at=original.updated_at,
        )
        session.add(copy)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


# -- the guard decides before validation ---------------------------------------------------
def test_an_invalid_body_on_a_hidden_record_gets_the_same_404(client, world) -> None:
    hidden = url(world, f"/records/{world.records['sensitive_note']}")
    headers = world["scheduler"].headers
    valid = client.patch(hidden, json={"fields": {"note_date": "2026-01-04"}}, headers=headers)
    for body in (
        {"fields": {"no_such_field": "x"}},
        {"fields": {"note_date": "not a date"}},
        {"fields": {"text": 12}},
    ):
        invalid = client.patch(hidden, json=body, headers=headers)
        assert invalid.status_code == valid.status_code == 404, invalid.text
        assert "clinical_note" not in invalid.text and "note_date" not in invalid.text


def test_an_invalid_record_for_a_hidden_person_gets_404(client, world) -> None:
    response = client.post(
        url(world, f"/people/{world.patient}/records"),
        json={"record_type": "payroll_entry", "fields": {"nope": 1}},
        headers=world["it_support"].headers,
    )
    assert response.status_code in (403, 404)
    assert "patient" not in response.text


def test_search_on_an_unknown_tenant_is_the_unknown_tenant_404(client, world) -> None:
    response = client.post(
        url(world, "/people/search", uuid.uuid4()),
        json={"mrn": "SUN-00042"},
        headers=world["clinician"].headers,
    )
    assert response.status_code == 404, response.text
    listed = client.get(url(world, "/people", uuid.uuid4()), headers=world["clinician"].headers)
    assert listed.status_code == 404


def test_a_corrected_and_voided_person_keeps_its_history_for_the_privacy_office(
    client, world
) -> None:
    headers = world["clinician"].headers
    person = url(world, f"/people/{world.patient}")
    assert (
        client.patch(person, json={"family_name": "Corrected"}, headers=headers).status_code == 200
    )
    history = client.get(person + "/versions", headers=headers)
    assert history.status_code == 200, history.text
    first, second = history.json()
    assert first["fields"]["family_name"] == world.secrets["family"]
    assert (second["current"], second["fields"]["family_name"]) == (True, "Corrected")
    assert client.get(person + "/versions", headers=world["coder"].headers).status_code == 404
    reason = {"reason": "a duplicate of an existing patient"}
    assert client.post(person + "/void", json=reason, headers=headers).status_code == 204
    assert client.get(person + "/versions", headers=headers).status_code == 404
    kept = client.get(person + "/versions", headers=world["officer"].headers)
    assert kept.status_code == 200 and kept.json()[-1]["voided"] is True
    event = last_event(client.app.state.vault, world.tenant_a)
    assert event.action == "person.versions"


def test_a_duplicate_mrn_racing_past_the_check_is_a_conflict_not_a_500(
    env, world, monkeypatch
) -> None:
    from phivault.errors import Conflict

    monkeypatch.setattr(service, "_refuse_taken_mrn", lambda unit, person: None)
    with (
        pytest.raises(Conflict, match="MRN"),
        env.vault.unit(world.tenant_a, world["officer"].actor, PurposeOfUse.TREATMENT) as unit,
    ):
        service.do_create_person(
            unit,
            kind="patient",
            given_name="Racing",
            family_name="Duplicate",
            date_of_birth="1960-01-01",
            mrn=world.secrets["mrn"],
        )


def test_a_kept_version_cannot_be_changed_or_deleted_in_postgresql(pg_env) -> None:
    import sqlalchemy.exc
    from sqlalchemy import text

    w = pg_env.world
    with pg_env.vault.unit(w.tenant_a, w["officer"].actor, PurposeOfUse.TREATMENT) as unit:
        service.do_update_record(
            unit, w.records["note"], fields={"text": "new"}, expected_version=1
        )
    for statement in (
        "UPDATE record_versions SET version = 7",
        "UPDATE record_versions SET written_at = now() - interval '1 day'",
        "DELETE FROM record_versions",
    ):
        with (
            pytest.raises(sqlalchemy.exc.DBAPIError, match="keeps earlier versions"),
            pg_env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session,
        ):
            session.execute(text(statement))
    # Re-encrypting (key rotation) is the one change allowed.
    with pg_env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session:
        session.execute(text("UPDATE record_versions SET full_ct = full_ct"))


def test_a_patch_writes_only_the_fields_that_differ_like_the_correction_form(
    client, world
) -> None:
    """The API and the pages share one correction service: a field sent back unchanged is
    not written, and a correction that changes nothing makes no new version."""
    headers = world["clinician"].headers
    note = client.get(_note(world), headers=headers).json()
    same_text, new_date = note["fields"]["text"], "2026-01-03"
    patched = client.patch(
        _note(world),
        headers=headers,
        json={"fields": {"text": same_text, "note_date": new_date}, "expected_version": 1},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    event = last_event(client.app.state.vault, world.tenant_a, action="record.update")
    assert event.fields == "note_date"
    again = client.patch(
        _note(world),
        headers=headers,
        json={"fields": {"text": same_text, "note_date": new_date}, "expected_version": 2},
    )
    assert again.status_code == 200 and again.json()["version"] == 2
    unchanged = last_event(client.app.state.vault, world.tenant_a, action="record.update")
    assert (unchanged.outcome, unchanged.fields) == ("allowed", "")
    versions = client.get(_note(world) + "/versions", headers=headers).json()
    assert [v["version"] for v in versions] == [1, 2]


def test_a_person_patch_that_changes_nothing_makes_no_version(client, world) -> None:
    headers = world["officer"].headers
    person = f"/api/v1/tenants/{world.tenant_a}/people/{world.patient}"
    before = client.get(person + "/versions", headers=headers).json()
    same = client.patch(person, headers=headers, json={"family_name": world.secrets["family"]})
    assert same.status_code == 200, same.text
    assert client.get(person + "/versions", headers=headers).json() == before
    event = last_event(client.app.state.vault, world.tenant_a, action="person.update")
    assert (event.outcome, event.fields) == ("allowed", "")
    changed = client.patch(
        person, headers=headers, json={"family_name": world.secrets["family"], "mrn": "MRN-1"}
    )
    assert changed.status_code == 200, changed.text
    assert len(client.get(person + "/versions", headers=headers).json()) == len(before) + 1
    event = last_event(client.app.state.vault, world.tenant_a, action="person.update")
    assert event.fields == "mrn"
