"""Agency administration in a real browser: the privacy officer adds a member (initial password
shown once, and it works), suspends one (their session ends), changes settings (readable
errors, nothing saved), authorizes a reset and closes an access review; staff and the other
agency's staff get the same 404 page as for anything missing; a stale session re-authenticates
first and comes back to the form."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from phivault.identity import lifecycle
from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends, sign_in_first_time
from tests.conftest import app_for
from tests.support.signin import AUTH, Account, new_member

pytestmark = pytest.mark.browser


def _member(env, position: str = "Office Manager", **extra) -> Account:
    with TestClient(app_for(env.vault)) as client:
        return new_member(client, env.world, position=position, **extra)


def _officer(page, env) -> Account:
    return sign_in_first_time(page, env, _member(env, privacy_officer=True))


def _idle_timeout(env) -> int:
    with env.vault.unit(env.world.tenant_a, env.world["officer"].actor) as unit:
        return int(lifecycle.read_settings(unit)["idle_timeout_minutes"])


def _second_browser(chromium, live_server):
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    return context, context.new_page()


@both_backends
def test_officer_adds_a_member_who_signs_in_with_the_initial_password(
    page, env, chromium, live_server
) -> None:
    a = env.world.tenant_a
    _officer(page, env)
    page.goto(f"/t/{a}")
    page.get_by_role("link", name="Administration").click()
    page.wait_for_url(f"**/t/{a}/admin")
    workforce = page.locator("#workforce").inner_text()
    assert "clinician" in workforce and "Emergency Medical Technician Paramedic" in workforce
    assert "Not enrolled" in workforce
    screenshot(page, "admin-workforce")

    page.get_by_role("link", name="Add a member").click()
    page.get_by_label("Username").fill("new.aide")
    page.get_by_label("Display name").fill("Fabricated Aide")
    page.get_by_label("Position").select_option(
        label="Scheduler — Scheduling and Payroll Staff (Minimum)"
    )
    page.get_by_role("button", name="Add member").click()
    password = page.locator("#initial-password").inner_text()
    assert len(password) >= 12
    assert "in person" in page.locator("main").inner_text()
    assert "change it at their first" in page.locator("main").inner_text()
    details = page.get_by_role("link", name="Open their details").get_attribute("href")
    member_id = uuid.UUID(details.rsplit("/", 1)[1])

    page.get_by_role("link", name="Back to the workforce").click()
    assert "new.aide" in page.locator("#workforce").inner_text()
    assert password not in page.content()  # shown once only
    page.get_by_role("link", name="Fabricated Aide").click()
    assert page.locator("#member-status").inner_text().startswith("Invited")
    assert password not in page.content()

    context, newcomer = _second_browser(chromium, live_server)
    sign_in_first_time(newcomer, env, Account("new.aide", password, member_id))
    newcomer.goto(f"/t/{a}")
    assert newcomer.locator("#current-agency").inner_text() == "Alpha Home Care"
    context.close()
    page.reload()
    assert page.locator("#member-status").inner_text() == "Active"


def test_suspending_a_member_ends_their_session(page, env, chromium, live_server) -> None:
    a = env.world.tenant_a
    staff = _member(env, "Scheduler")
    context, staff_page = _second_browser(chromium, live_server)
    sign_in_first_time(staff_page, env, staff)
    staff_page.goto(f"/t/{a}/people")
    assert staff_page.url.endswith(f"/t/{a}/people")

    _officer(page, env)
    page.goto(f"/t/{a}/admin/members/{staff.member_id}")
    page.get_by_role("button", name="Suspend…").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Suspend this account?"
    assert staff.username in page.locator("#confirm").inner_text()
    page.get_by_role("button", name="Yes, suspend").click()
    assert "Account suspended" in page.locator("#notice").inner_text()
    assert page.locator("#member-status").inner_text() == "Suspended"

    staff_page.goto(f"/t/{a}/people")
    staff_page.wait_for_url("**/login")
    context.close()

    page.get_by_role("button", name="Reinstate…").click()
    page.get_by_role("button", name="Yes, reinstate").click()
    assert page.locator("#member-status").inner_text() == "Active"


def test_settings_refuse_an_idle_timeout_over_15_and_save_a_valid_one(page, env) -> None:
    a = env.world.tenant_a
    _officer(page, env)
    page.goto(f"/t/{a}/admin")
    page.locator("nav.subnav").get_by_role("link", name="Security settings").click()
    idle = page.get_by_label("Idle timeout (minutes)")
    assert idle.input_value() == "10"
    idle.fill("30")
    page.get_by_label("Re-verify the second factor every (days)").fill("7")
    page.get_by_role("button", name="Save settings").click()
    assert page.locator("#idle_timeout_minutes-error").inner_text() == (
        "Idle timeout (minutes) must be between 1 and 15."
    )
    assert "not saved" in page.get_by_role("alert").first.inner_text()
    assert page.get_by_label("Idle timeout (minutes)").input_value() == "30"  # values kept
    assert page.get_by_label("Re-verify the second factor every (days)").input_value() == "7"
    assert idle.get_attribute("aria-invalid") == "true"
    assert _idle_timeout(env) == 10  # nothing changed

    page.get_by_label("Idle timeout (minutes)").fill("5")
    page.get_by_role("button", name="Save settings").click()
    assert page.locator("#notice").inner_text() == "Settings saved."
    assert page.get_by_label("Idle timeout (minutes)").input_value() == "5"
    assert page.get_by_label("Re-verify the second factor every (days)").input_value() == "7"
    assert _idle_timeout(env) == 5
    screenshot(page, "admin-settings")


def test_staff_get_the_same_404_page_as_for_anything_missing(page, env) -> None:
    a = env.world.tenant_a
    sign_in_first_time(page, env, _member(env, "Emergency Medical Technician Paramedic"))
    page.goto(f"/t/{a}")
    assert page.get_by_role("link", name="Administration").count() == 0
    missing = page.goto(f"/t/{uuid.uuid4()}/admin/members/{uuid.uuid4()}")
    assert missing.status == 404
    expected = page.locator("main").inner_text()
    clinician = env.world["clinician"].member_id
    for path in (
        "/admin",
        "/admin/members/new",
        f"/admin/members/{clinician}",
        "/admin/directory",
        "/admin/settings",
        "/admin/reviews",
    ):
        response = page.goto(f"/t/{a}{path}")
        assert response.status == 404, path
        assert page.locator("main").inner_text() == expected, path
        html = page.content()
        for leaked in ("clinician", "scheduler", "Idle timeout", "Role directory", "Workforce"):
            assert leaked not in html, (path, leaked)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(
        f"/t/{a}/admin/settings",
        form={
            "csrf_token": csrf,
            "password_profile": "nist",
            "idle_timeout_minutes": "1",
            "password_expiry_days": "90",
            "password_history": "6",
            "mfa_reverify_days": "30",
        },
    )
    assert forged.status == 404
    assert _idle_timeout(env) == 10
    suspend = page.request.post(
        f"/t/{a}/admin/members/{clinician}/suspend", form={"csrf_token": csrf, "confirm": "yes"}
    )
    assert suspend.status == 404


def test_staff_of_the_other_agency_see_nothing_of_this_workforce(page, env) -> None:
    world = env.world
    with TestClient(app_for(env.vault)) as client:
        entries = client.get(
            f"/api/v1/tenants/{world.tenant_b}/directory", headers=world["officer"].headers
        ).json()
        position = next(e["position_id"] for e in entries if e["title"] == "Office Manager")
        created = client.post(
            f"/api/v1/tenants/{world.tenant_b}/members",
            headers=world["officer"].headers,
            json={
                "username": "beta.officer",
                "display_name": "Fabricated Beta Officer",
                "position_id": position,
                "privacy_officer": True,
            },
        )
        assert created.status_code == 201, created.text
    body = created.json()
    sign_in_first_time(
        page, env, Account("beta.officer", body["initial_password"], uuid.UUID(body["id"]))
    )
    a = world.tenant_a
    for path in (
        f"/t/{a}/admin",
        f"/t/{a}/admin/members/{world['clinician'].member_id}",
        f"/t/{a}/admin/directory",
        f"/t/{a}/admin/settings",
        f"/t/{a}/admin/resets",
        f"/t/{a}/admin/reviews",
    ):
        response = page.goto(path)
        assert response.status == 404, path
        html = page.content()
        assert "clinician" not in html and "Alpha Home Care" not in html, path
    page.goto(f"/t/{world.tenant_b}/admin")
    workforce = page.locator("#workforce").inner_text()
    assert "other_staff" in workforce and "beta.officer" in workforce
    for name in ("clinician", "coder", "scheduler", "it_support"):
        assert name not in workforce


def test_a_stale_session_confirms_first_and_returns_to_the_form(page, env) -> None:
    a = env.world.tenant_a
    officer = _officer(page, env)
    env.clock.advance(minutes=6)
    page.goto(f"/t/{a}/admin/settings")
    page.wait_for_url(lambda url: "/reauth?next=" in url)
    page.get_by_label("Your password").fill(officer.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**/t/{a}/admin/settings")
    assert page.get_by_role("heading", level=1).inner_text() == "Security settings"

    # The POST checks again: a form opened while fresh but sent too late re-authenticates
    # first, and nothing is created meanwhile.
    page.goto(f"/t/{a}/admin/members/new")
    page.get_by_label("Username").fill("late.member")
    page.get_by_label("Display name").fill("Fabricated Late")
    page.get_by_label("Position").select_option(
        label="Scheduler — Scheduling and Payroll Staff (Minimum)"
    )
    env.clock.advance(minutes=6)
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url(lambda url: "/reauth?next=" in url)
    page.get_by_label("Your password").fill(officer.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**/t/{a}/admin/members/new")
    page.goto(f"/t/{a}/admin")
    assert "late.member" not in page.locator("#workforce").inner_text()


def test_officer_authorizes_a_reset_and_closes_an_access_review(page, env) -> None:
    a = env.world.tenant_a
    officer = _officer(page, env)
    worker = _member(env, "Scheduler", manager_id=str(officer.member_id))
    with TestClient(app_for(env.vault)) as client:
        asked = client.post(f"{AUTH}/reset-requests", json={"username": worker.username})
        assert asked.status_code == 202
    page.goto(f"/t/{a}/admin/resets")
    assert worker.username in page.locator("#resets").inner_text()
    page.get_by_role("button", name=f"Authorize the reset for {worker.username}").click()
    code = page.locator("#reset-code").inner_text()
    assert "in person" in page.locator("main").inner_text()
    with TestClient(app_for(env.vault)) as client:
        done = client.post(
            f"{AUTH}/reset", json={"code": code, "new_password": "a quiet river bend at noon 2026"}
        )
        assert done.status_code == 204, done.text
    page.goto(f"/t/{a}/admin/resets")
    assert "No pending requests." in page.locator("#resets").inner_text()

    # A change of position opens an access review, which the privacy officer closes.
    page.goto(f"/t/{a}/admin/members/{worker.member_id}")
    page.get_by_label("Position").select_option(
        label="Medical Coder — Billing and Coding Staff (Summary)"
    )
    page.get_by_role("button", name="Save position and duties").click()
    assert "access review" in page.locator("#notice").inner_text()
    page.locator("nav.subnav").get_by_role("link", name="Access reviews").click()
    row = page.locator("#reviews tbody tr", has_text="Medical Coder")
    assert worker.username in row.inner_text()
    # The officer made this change: they are offered no way to close its review.
    assert "Your change: another privacy officer reviews it." in row.inner_text()
    assert row.get_by_role("button").count() == 0

    # A second privacy officer closes it, with a note that stays readable afterwards.
    reviewer = _member(env, "Office Manager", privacy_officer=True)
    page.context.clear_cookies()
    sign_in_first_time(page, env, reviewer)
    page.goto(f"/t/{a}/admin/reviews")
    row = page.locator("#reviews tbody tr", has_text="Medical Coder")
    row.get_by_role("button", name="Revoke…").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revoke this access?"
    page.get_by_role("link", name="Cancel").click()
    page.locator("#reviews tbody tr", has_text="Medical Coder").get_by_role(
        "button", name="Confirm"
    ).click()
    assert page.locator("#notice").inner_text() == "Access confirmed."
    decided = page.locator("#decided").inner_text()
    assert "Access confirmed" in decided and "Medical Coder" in decided


def test_officer_adds_a_role_category_and_a_position(page, env) -> None:
    a = env.world.tenant_a
    _officer(page, env)
    page.goto(f"/t/{a}/admin/directory")
    drivers = "Transport Drivers"
    # No data access category is chosen for the administrator: it must be picked.
    assert page.get_by_label("Data access category").input_value() == ""
    page.get_by_label("Name", exact=True).fill(drivers)
    page.get_by_label("Data access category").evaluate("s => s.removeAttribute('required')")
    page.get_by_role("button", name="Add role category").click()
    assert "Choose" in page.locator("#role-access-error").inner_text()
    assert page.get_by_label("Name", exact=True).input_value() == drivers  # kept
    page.get_by_label("Data access category").select_option(label="Minimum")
    page.get_by_label("Name", exact=True).fill("   ")  # blank: refused, said at the field
    page.get_by_role("button", name="Add role category").click()
    assert "Must be 1 to 120 characters" in page.locator("#role-name-error").inner_text()
    page.get_by_label("Name", exact=True).fill(drivers)
    page.get_by_label("Second factor").select_option(label="Required")
    page.get_by_role("button", name="Add role category").click()
    assert page.locator("#notice").inner_text() == "Role category added."
    section = page.locator("#directory section", has_text=drivers)
    assert "Minimum" in section.inner_text() and "Required" in section.inner_text()
    assert "No current positions." in section.inner_text()
    # The same name again, in another case: refused at the field.
    page.get_by_label("Name", exact=True).fill(drivers.upper())
    page.get_by_label("Data access category").select_option(label="Summary")
    page.get_by_role("button", name="Add role category").click()
    assert "Another role category" in page.locator("#role-name-error").inner_text()
    page.goto(f"/t/{a}/admin/directory")
    page.get_by_label("Title", exact=True).fill("Wheelchair Van Driver")
    page.get_by_label("Role category").select_option(label=f"{drivers} (Minimum)")
    page.get_by_role("button", name="Add position").click()
    assert page.locator("#notice").inner_text() == "Position added."
    section = page.locator("#directory section", has_text=drivers)
    assert "Wheelchair Van Driver" in section.inner_text()
    # Rename the position, then retire it: it is offered to nobody new.
    section.get_by_label("New title for Wheelchair Van Driver").fill("Van Driver")
    section.get_by_role("button", name="Rename").last.click()
    assert page.locator("#notice").inner_text() == "Position saved."
    page.goto(f"/t/{a}/admin/members/new")
    page.get_by_label("Position").select_option(label=f"Van Driver — {drivers} (Minimum)")
    page.goto(f"/t/{a}/admin/directory")
    section = page.locator("#directory section", has_text=drivers)
    section.locator("li", has_text="Van Driver").get_by_role("button", name="Retire").click()
    assert page.locator("#notice").inner_text() == "Position saved."
    assert "Retired positions" in page.locator("#directory section", has_text=drivers).inner_text()
    page.goto(f"/t/{a}/admin/members/new")
    offered = page.get_by_label("Position").inner_text()
    assert "Van Driver" not in offered


def test_admin_forms_and_results_have_no_accessibility_violations(page, env) -> None:
    from tests.browser.test_quality import _violations

    a = env.world.tenant_a
    _officer(page, env)
    staff = _member(env, "Scheduler")
    found = {}
    for path in (
        f"/t/{a}/admin/members/new",
        f"/t/{a}/admin/members/{staff.member_id}",
        "/account/tokens/new",
    ):
        page.goto(path)
        found[path] = _violations(page)
    page.goto(f"/t/{a}/admin/members/{staff.member_id}")
    page.get_by_role("button", name="Terminate…").click()
    found["confirm"] = _violations(page)
    page.goto(f"/t/{a}/admin/settings")
    page.get_by_label("Idle timeout (minutes)").fill("30")
    page.get_by_role("button", name="Save settings").click()
    found["settings with errors"] = _violations(page)
    page.goto(f"/t/{a}/admin/members/new")
    page.get_by_label("Username").fill("axe.checked")
    page.get_by_label("Display name").fill("Fabricated Checked")
    page.get_by_label("Position").select_option(
        label="Scheduler — Scheduling and Payroll Staff (Minimum)"
    )
    page.get_by_role("button", name="Add member").click()
    found["member created"] = _violations(page)
    assert {k: v for k, v in found.items() if v} == {}
