"""The workspace in a real browser: search and chart, minimum-necessary views in the DOM,
agency switching, and the same page for a missing and a forbidden patient."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phivault.identity import invitations
from phivault.identity.auth import Client
from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends, sign_in_first_time
from tests.conftest import app_for
from tests.support.signin import new_member

pytestmark = pytest.mark.browser


def _member(env, position: str, *, also_in_b: bool = False):
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world, position=position)
        if also_in_b:
            grant = client.put(
                f"/api/v1/tenants/{env.world.tenant_b}/members/{account.member_id}/grant",
                headers=env.world["officer"].headers,
                json={"position_id": str(_position_b(client, env, "Office Manager"))},
            )
            assert grant.json()["status"] == "invited", grant.text
            # An existing account is invited, never pulled in: its owner accepts (ACC-12).
            invitations.accept_invitation(
                env.vault, account.member_id, env.world.tenant_b, Client("test"), session="test"
            )
    return account


def _position_b(client, env, title):
    entries = client.get(
        f"/api/v1/tenants/{env.world.tenant_b}/directory", headers=env.world["officer"].headers
    ).json()
    return next(e["position_id"] for e in entries if e["title"] == title)


def _search_mrn(page, env, tenant, purpose="treatment"):
    page.goto(f"/t/{tenant}/people")
    page.get_by_label("MRN").fill(env.world.secrets["mrn"])
    page.get_by_label("Purpose of use").select_option(purpose)
    page.get_by_role("button", name="Search").click()


@both_backends
def test_search_and_open_a_chart(page, env) -> None:
    account = sign_in_first_time(page, env, _member(env, "Emergency Medical Technician Paramedic"))
    _search_mrn(page, env, env.world.tenant_a)
    results = page.locator("#results a")
    assert results.count() == 1
    assert env.world.secrets["family"] in results.inner_text()
    results.click()
    assert env.world.secrets["plan"] in page.locator("#phi").inner_text()
    assert "mental health" in page.locator("#phi").inner_text()  # sensitivity tag visible
    screenshot(page, "chart")
    assert account.username


def test_summary_user_sees_no_hidden_field_even_in_the_html(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Medical Coder"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=payment")
    html = page.content()
    assert "diagnosis codes" in page.locator("#phi").inner_text().lower()
    for hidden in (
        "plan_text",
        "plan text",
        env.world.secrets["plan"],
        env.world.secrets["note"],
        "ssn",
        "mental health",
    ):
        assert hidden not in html


def test_purpose_is_asked_once_per_patient_context(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Why are you opening")
    page.get_by_label("Purpose of use").select_option("operations")
    page.get_by_role("button", name="Open chart").click()
    assert "purpose: operations" in page.locator("#phi").inner_text()


def test_switching_agency_shows_only_that_agencys_people(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager", also_in_b=True))
    _search_mrn(page, env, env.world.tenant_a)
    assert page.locator("#results a").count() == 1
    page.get_by_role("link", name="Beta Paramedics").click()
    assert page.locator("#current-agency").inner_text() == "Beta Paramedics"
    _search_mrn(page, env, env.world.tenant_b)
    assert page.locator("#current-agency").inner_text() == "Beta Paramedics"
    assert page.locator("#results").inner_text() == "No one matches exactly."


def test_missing_and_forbidden_patients_look_the_same(page, env) -> None:
    import uuid

    sign_in_first_time(page, env, _member(env, "Office Manager"))
    missing = page.goto(f"/t/{env.world.tenant_a}/people/{uuid.uuid4()}?purpose=treatment")
    missing_text = page.locator("main").inner_text()
    forbidden = page.goto(f"/t/{env.world.tenant_b}/people/{env.world.patient_b}?purpose=treatment")
    forbidden_text = page.locator("main").inner_text()
    assert missing.status == forbidden.status == 404
    assert missing_text == forbidden_text


def test_the_purpose_defaults_to_the_roles_usual_one(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Medical Coder"))
    page.goto(f"/t/{env.world.tenant_a}/people")
    assert page.get_by_label("Purpose of use").input_value() == "payment"
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}")
    assert page.get_by_label("Purpose of use").input_value() == "payment"


def test_list_patients_for_a_purpose(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Scheduler"))
    page.goto(f"/t/{env.world.tenant_a}/people")
    assert page.get_by_label("for").input_value() == "operations"
    page.get_by_role("button", name="Show list").click()
    listed = page.locator("#people a")
    assert listed.count() == 1  # the world's one patient (its caregiver is not a patient)
    assert env.world.secrets["family"] in listed.inner_text()
    listed.click()
    assert "purpose: operations" in page.locator("#phi").inner_text()


def test_emergency_only_staff_cannot_list_people(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "IT Support Technician"))
    response = page.goto(f"/t/{env.world.tenant_a}/people/list?kind=patient&purpose=treatment")
    assert response.status == 403
    assert env.world.secrets["family"] not in page.content()


def test_an_outsider_gets_the_same_page_for_a_missing_and_a_forbidden_patient(page, env) -> None:
    import uuid

    from tests.support.signin import totp_now

    account = sign_in_first_time(page, env, _member(env, "Office Manager"))
    with TestClient(app_for(env.vault)) as client:  # their only standing is taken away
        revoked = client.delete(
            f"/api/v1/tenants/{env.world.tenant_a}/members/{account.member_id}/grant",
            headers=env.world["officer"].headers,
        )
        assert revoked.status_code == 204, revoked.text
    page.goto("/")
    assert page.url.endswith("/login")  # losing the grant ended the session (AUTH-8)
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        totp_now(account.totp_secret, env, 30)
    )
    page.get_by_role("button", name="Continue").click()
    assert "No agency has granted you access yet." in page.locator("#tenants").inner_text()
    pages = {}
    for name, person in (("missing", uuid.uuid4()), ("forbidden", env.world.patient)):
        response = page.goto(f"/t/{env.world.tenant_a}/people/{person}?purpose=treatment")
        pages[name] = (response.status, page.locator("main").inner_text())
    assert pages["missing"] == pages["forbidden"]
    assert pages["forbidden"][0] == 404
    assert env.world.secrets["family"] not in page.content()
    assert "Alpha Home Care" not in page.content()  # not even the agency's name


def test_an_invitation_is_accepted_from_the_home_page(page, env) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world, position="Office Manager")
        invited = client.put(
            f"/api/v1/tenants/{env.world.tenant_b}/members/{account.member_id}/grant",
            headers=env.world["officer"].headers,
            json={"position_id": str(_position_b(client, env, "Office Manager"))},
        )
        assert invited.json()["status"] == "invited"
    sign_in_first_time(page, env, account)
    page.goto("/")
    assert "Beta Paramedics" not in page.locator("#tenants").inner_text()
    assert "Beta Paramedics: Office Manager" in page.locator("#invitations").inner_text()
    page.get_by_role("button", name="Join Beta Paramedics").click()
    page.wait_for_url(f"**/t/{env.world.tenant_b}**")
    page.goto("/")
    assert "Beta Paramedics" in page.locator("#tenants").inner_text()
    assert page.locator("#invitations").count() == 0
