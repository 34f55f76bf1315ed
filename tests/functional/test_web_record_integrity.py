"""The pages behave as the API does for record history, voiding, unique MRNs and paging."""

from __future__ import annotations

import re
from html import unescape as html_unescape

import pytest

from phivault.access.policy import PurposeOfUse
from phivault.records import service
from tests.support.audit import last_event
from tests.support.signin import complete, new_member


@pytest.fixture
def clinician(client, env, world):
    """A signed-in Full-access writer of tenant A (session cookie in ``client``)."""
    return complete(client, env, new_member(client, world))


@pytest.mark.parametrize(
    "cursor", [f"{2**63}.{'0' * 32}", "abc", "-1", "1.zz", f"1.{'0' * 31}", "9" * 400]
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_the_patient_list_answers_a_bad_cursor_with_a_page_not_a_500(
    client, world, clinician, cursor, direction
) -> None:
    response = client.get(
        f"/t/{world.tenant_a}/people/list",
        params={"kind": "patient", "purpose": "treatment", direction: cursor},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "That page of the list does not exist" in response.text


def test_the_patient_list_pages_by_keyset_both_ways(client, env, world, clinician) -> None:
    """Sixty more patients: the first page holds 50, "Next" shows the rest, "Previous" from
    there shows the first 50 again, in the order they were added."""
    officer = world["officer"].actor
    for n in range(60):
        env.clock.advance(seconds=1)
        with env.vault.unit(world.tenant_a, officer, PurposeOfUse.TREATMENT) as unit:
            service.do_create_person(
                unit,
                kind="patient",
                given_name=f"Pager{n:02d}",
                family_name="Keyset",
                date_of_birth="1970-01-01",
            )
    listing = f"/t/{world.tenant_a}/people/list"

    def names(html: str) -> list[str]:
        return re.findall(r"Keyset, (Pager\d\d)", html)

    first = client.get(listing, params={"kind": "patient", "purpose": "treatment"})
    assert first.status_code == 200
    on_first = names(first.text)
    older = re.search(r'href="([^"]*after=[^"]+)"', first.text)
    assert older and "before=" not in first.text
    second = client.get(html_unescape(older.group(1)))
    on_second = names(second.text)
    assert on_first + on_second == [f"Pager{n:02d}" for n in range(60)]
    back = re.search(r'href="([^"]*before=[^"]+)"', second.text)
    assert back
    again = client.get(html_unescape(back.group(1)))
    assert names(again.text) == on_first


def test_a_corrected_record_has_a_history_page_linked_from_the_chart(
    client, env, world, clinician
) -> None:
    a, note = world.tenant_a, world.records["note"]
    with env.vault.unit(a, world["officer"].actor, PurposeOfUse.TREATMENT) as unit:
        service.do_update_record(
            unit, note, fields={"text": "the corrected note"}, expected_version=1
        )
    chart = client.get(f"/t/{a}/people/{world.patient}?purpose=treatment")
    link = f"/t/{a}/records/{note}/versions?purpose=treatment"
    assert link in chart.text
    history = client.get(link)
    assert history.status_code == 200
    assert world.secrets["note"] in history.text and "the corrected note" in history.text
    assert "Version 1" in history.text and "Version 2 (current)" in history.text
    event = last_event(env.vault, a)
    assert (event.action, event.resource_id) == ("record.versions", str(note))


def test_voiding_a_record_from_its_page_asks_why_and_hides_it(
    client, env, world, clinician
) -> None:
    a, note = world.tenant_a, world.records["note"]
    form = client.get(f"/t/{a}/records/{note}/void?purpose=treatment")
    assert form.status_code == 200 and 'name="reason"' in form.text
    target = f"/t/{a}/records/{note}/void"
    short = client.post(
        target, data={"csrf_token": clinician.csrf, "purpose": "treatment", "reason": "oops"}
    )
    assert short.status_code == 422 and "reason-error" in short.text
    assert "oops" in short.text  # what was typed is kept
    done = client.post(
        target,
        data={
            "csrf_token": clinician.csrf,
            "purpose": "treatment",
            "reason": "written on the wrong patient's chart",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    chart = client.get(f"/t/{a}/people/{world.patient}?purpose=treatment")
    assert world.secrets["note"] not in chart.text
    assert last_event(env.vault, a, action="record.void").outcome == "allowed"


def test_a_taken_mrn_is_named_at_the_mrn_field(client, world, clinician) -> None:
    response = client.post(
        f"/t/{world.tenant_a}/people/new",
        data={
            "csrf_token": clinician.csrf,
            "kind": "patient",
            "purpose": "treatment",
            "f_family_name": "Second",
            "f_given_name": "Person",
            "f_date_of_birth": "1970-01-01",
            "f_mrn": world.secrets["mrn"],
        },
    )
    assert response.status_code == 409
    assert 'id="f_mrn-error"' in response.text
    assert "already has this MRN" in response.text


def test_a_caregiver_is_chosen_and_shown_by_name(client, env, world, clinician) -> None:
    a = world.tenant_a
    with env.vault.unit(a, world["officer"].actor, PurposeOfUse.TREATMENT) as unit:
        caregiver = service.read_person(unit, world.caregiver).fields
        service.do_create_record(
            unit,
            person_id=world.patient,
            type_name="visit_schedule",
            fields={"visit_date": "2026-01-02", "caregiver_id": str(world.caregiver)},
        )
    name = f"{caregiver['family_name']}, {caregiver['given_name']}"
    form = client.get(
        f"/t/{a}/people/{world.patient}/records/new",
        params={"record_type": "visit_schedule", "purpose": "treatment"},
    )
    assert form.status_code == 200
    assert f'<option value="{world.caregiver}">' in form.text
    assert name.replace("'", "&#39;") in form.text
    chart = client.get(f"/t/{a}/people/{world.patient}?purpose=treatment")
    assert name.replace("'", "&#39;") in chart.text
    assert str(world.caregiver) not in chart.text


def test_voiding_a_person_from_the_chart_hides_them(client, env, world, clinician) -> None:
    a, p = world.tenant_a, world.patient
    chart = client.get(f"/t/{a}/people/{p}?purpose=treatment")
    assert f"/t/{a}/people/{p}/void?purpose=treatment" in chart.text
    done = client.post(
        f"/t/{a}/people/{p}/void",
        data={
            "csrf_token": clinician.csrf,
            "purpose": "treatment",
            "reason": "a duplicate of an existing patient",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    gone = client.get(f"/t/{a}/people/{p}?purpose=treatment")
    assert gone.status_code == 404
    assert world.secrets["family"] not in gone.text
    assert last_event(env.vault, a, action="person.void").outcome == "allowed"


def test_a_writer_without_a_full_view_cannot_void_from_the_page(client, env, world) -> None:
    coder = complete(client, env, new_member(client, world, position="Medical Coder"))
    refused = client.post(
        f"/t/{world.tenant_a}/records/{world.records['care_plan']}/void",
        data={
            "csrf_token": coder.csrf,
            "purpose": "treatment",
            "reason": "written on the wrong patient's chart",
        },
    )
    assert refused.status_code == 404
    assert last_event(env.vault, world.tenant_a, action="record.void").outcome == "refused"
