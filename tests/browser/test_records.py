"""Adding and correcting people and records in the browser: validation messages at the
field, values kept, minimum-necessary forms, and corrections that never overwrite someone
else's."""

from __future__ import annotations

import pytest
from faker import Faker

from phivault.access.policy import PurposeOfUse
from phivault.records import service
from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends, sign_in_first_time
from tests.browser.test_workspace import _member

pytestmark = pytest.mark.browser
fake = Faker()


def _chart(page, env, purpose="treatment", person=None):
    page.goto(f"/t/{env.world.tenant_a}/people/{person or env.world.patient}?purpose={purpose}")


def test_add_a_person_with_a_mistake_then_correct_it(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people")
    page.get_by_role("link", name="Add a person").click()
    family, given = fake.last_name() + "ova", fake.first_name()
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Given name").fill(given)
    page.get_by_label("Date of birth").fill("2199-01-01")
    page.get_by_label("Mrn").fill("MRN-FORM-1")
    page.get_by_role("button", name="Add person").click()
    # Refused at the field, everything typed is still there, nothing was created.
    assert page.locator(".field.invalid").count() == 1
    assert (
        "Must be a date from 1880-01-01 to" in page.locator("#f_date_of_birth-error").inner_text()
    )
    assert page.get_by_label("Family name").input_value() == family
    assert page.locator("#f_date_of_birth").get_attribute("aria-invalid") == "true"
    page.get_by_label("Date of birth").fill("1950-06-07")
    page.get_by_role("button", name="Add person").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"{family}, {given}"
    assert "MRN MRN-FORM-1" in page.locator("#phi").inner_text()
    # The new person is found by the blind index like any other.
    page.goto(f"/t/{env.world.tenant_a}/people")
    page.get_by_label("MRN").fill("MRN-FORM-1")
    page.get_by_role("button", name="Search").click()
    assert page.locator("#results a").count() == 1


@both_backends
def test_add_a_record_with_field_errors_then_see_it_on_the_chart(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    _chart(page, env)
    page.get_by_label("Add a record").select_option("billing_claim")
    page.get_by_role("button", name="Add…").click()
    assert page.get_by_role("heading", level=1).inner_text() == "New billing / claim record"
    page.get_by_label("Payer").fill("Fabricated Mutual")
    page.get_by_label("Amount").fill("twelve")
    page.get_by_label("Procedure codes").fill("99213, ???")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#f_claim_date-error").inner_text() == "This field is required."
    assert page.locator("#f_amount-error").inner_text() == "Must be an amount."
    assert page.locator("#f_procedure_codes-error").inner_text() == "Must be a list of codes."
    assert page.get_by_label("Payer").input_value() == "Fabricated Mutual"
    screenshot(page, "record-form-errors")
    page.get_by_label("Claim date").fill("2026-02-03")
    page.get_by_label("Amount").fill("120.50")
    page.get_by_label("Procedure codes").fill("99213, G0180")
    page.get_by_role("button", name="Save").click()
    claim = page.locator('article[data-record-type="billing_claim"]')
    assert claim.count() == 1
    text = claim.inner_text()
    assert "Fabricated Mutual" in text and "99213, G0180" in text and "120.50" in text


def test_correct_a_record(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    _chart(page, env)
    plan = page.locator('article[data-record-type="care_plan"]')
    plan.get_by_role("link", name="Correct this record").click()
    assert page.get_by_label("Plan text").input_value() == env.world.secrets["plan"]
    page.get_by_label("Allergies").fill("fabricated: penicillin")
    page.get_by_role("button", name="Save").click()
    assert (
        "fabricated: penicillin"
        in page.locator('article[data-record-type="care_plan"]').inner_text()
    )


def test_a_correction_never_overwrites_one_made_meanwhile(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    record_id = env.world.records["care_plan"]
    page.goto(f"/t/{env.world.tenant_a}/records/{record_id}/edit?purpose=treatment")
    # Someone else corrects the same record while the form is open.
    with env.vault.unit(
        env.world.tenant_a, env.world["clinician"].actor, PurposeOfUse.TREATMENT
    ) as unit:
        service.do_update_record(
            unit, record_id, fields={"goals_summary": "theirs"}, expected_version=1
        )
    page.get_by_label("Goals summary").fill("mine")
    page.get_by_role("button", name="Save").click()
    assert "Someone else corrected this record meanwhile" in page.get_by_role("alert").inner_text()
    with env.vault.unit(
        env.world.tenant_a, env.world["officer"].actor, PurposeOfUse.TREATMENT
    ) as unit:
        assert service.read_record(unit, record_id).fields["goals_summary"] == "theirs"


def test_summary_writer_form_has_no_full_field_and_cannot_smuggle_one(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Medical Coder"))
    record_id = env.world.records["care_plan"]
    page.goto(f"/t/{env.world.tenant_a}/records/{record_id}/edit?purpose=payment")
    html = page.content()
    assert "plan_text" not in html and env.world.secrets["plan"] not in html
    assert page.get_by_label("Diagnosis codes").input_value() == "I10"
    # A forged field of a tier the coder cannot see is not written.
    page.evaluate(
        """() => { const i = document.createElement('input'); i.name = 'f_plan_text';
        i.value = 'forged'; document.querySelector('form.card').appendChild(i); }"""
    )
    page.get_by_label("Diagnosis codes").fill("I10, E11.9")
    page.get_by_role("button", name="Save").click()
    assert "I10, E11.9" in page.locator('article[data-record-type="care_plan"]').inner_text()
    with env.vault.unit(
        env.world.tenant_a, env.world["officer"].actor, PurposeOfUse.TREATMENT
    ) as unit:
        stored = service.read_record(unit, record_id).fields
    assert stored["plan_text"] == env.world.secrets["plan"]
    assert stored["diagnosis_codes"] == ["I10", "E11.9"]


def test_emergency_only_staff_see_no_form_and_get_the_not_found_page(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "IT Support Technician"))
    record_id = env.world.records["care_plan"]
    response = page.goto(f"/t/{env.world.tenant_a}/records/{record_id}/edit?purpose=treatment")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    response = page.goto(
        f"/t/{env.world.tenant_a}/people/{env.world.patient}/records/new?purpose=treatment"
        "&record_type=care_plan"
    )
    assert response.status == 404
    assert env.world.secrets["family"] not in page.content()
