"""Idle logoff hides PHI (AUTH-6): a warning a minute before the timeout, then the content is
removed from the DOM even with the network down; the back button shows no PHI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.browser.conftest import screenshot
from tests.browser.helpers import sign_in_first_time
from tests.conftest import app_for
from tests.support.signin import new_member

pytestmark = pytest.mark.browser


def test_idle_timeout_wipes_phi_even_offline_and_back_shows_none(page, env) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world)
    page.clock.install()
    sign_in_first_time(page, env, account)
    chart = f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=treatment"
    page.goto(chart)
    secret = env.world.secrets["plan"]
    assert secret in page.content()

    page.clock.run_for("09:05")  # the default idle timeout is 10 minutes
    assert page.locator("#idle-warning").is_visible()
    assert secret in page.content()  # still shown during the warning
    page.context.set_offline(True)
    page.clock.run_for("01:00")
    assert page.locator("#signed-out").is_visible()
    assert secret not in page.content()
    assert env.world.secrets["family"] not in page.content()
    screenshot(page, "idle-signed-out")

    page.context.set_offline(False)
    env.clock.advance(minutes=11)  # the server ends the idle session too
    page.goto("/")
    page.go_back()
    assert secret not in page.content()


def test_staying_signed_in_resets_the_timer(page, env) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world)
    page.clock.install()
    sign_in_first_time(page, env, account)
    page.goto(f"/t/{env.world.tenant_a}/people")
    page.clock.run_for("09:10")
    page.get_by_role("button", name="Stay signed in").click()
    page.wait_for_selector("#idle-warning", state="detached")
    page.clock.run_for("05:00")
    assert not page.locator("#signed-out").count()


def _focused_id(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def _server_status(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("fetch('/api/v1/auth/session').then(r => r.status)"))


def _type_and_wait_for_the_server(page, field, text: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_response("**/api/v1/auth/session"):
        field.press_sequentially(text)


def test_typing_in_a_form_keeps_the_session_and_what_was_typed(page, env) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world)
    page.clock.install()
    sign_in_first_time(page, env, account)
    page.goto(f"/t/{env.world.tenant_a}/people")
    field = page.locator("#main input:not([type=hidden])").first
    field.click()
    for _ in range(3):  # 24 minutes of steady typing, far past the 10-minute idle timeout
        page.clock.run_for("08:00")
        env.clock.advance(minutes=8)  # the server's clock moves with the browser's
        _type_and_wait_for_the_server(page, field, "Ab")
    assert not page.locator("#signed-out").count()
    assert field.input_value() == "AbAbAb"  # nothing typed is lost
    assert _server_status(page) == 200  # the server saw the activity too


def test_the_warning_does_not_take_the_focus_from_a_form(page, env) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world)
    page.clock.install()
    sign_in_first_time(page, env, account)
    page.goto(f"/t/{env.world.tenant_a}/people")
    field = page.locator("#main input:not([type=hidden])").first
    field.click()
    field.press_sequentially("Fab")
    focused = _focused_id(page)
    page.clock.run_for("09:30")
    assert page.locator("#idle-warning").is_visible()
    assert _focused_id(page) == focused  # still in the form field
    _type_and_wait_for_the_server(page, field, "ricated")  # the keystrokes land in the field
    assert field.input_value() == "Fabricated"
    page.wait_for_selector("#idle-warning", state="detached")  # typing answered the warning
    assert not page.locator("#signed-out").count()


def test_a_lowered_idle_timeout_reaches_an_open_page(page, env) -> None:
    with TestClient(app_for(env.vault)) as client:
        account = new_member(client, env.world)
        page.clock.install()
        sign_in_first_time(page, env, account)
        page.goto(f"/t/{env.world.tenant_a}/people")
        lowered = client.patch(
            f"/api/v1/tenants/{env.world.tenant_a}/settings",
            headers=env.world["officer"].headers,
            json={"idle_timeout_minutes": 5},
        )
        assert lowered.status_code == 200, lowered.text
    field = page.locator("#main input:not([type=hidden])").first
    field.click()
    page.clock.run_for("00:30")
    _type_and_wait_for_the_server(page, field, "x")  # the answer carries the new timeout
    page.clock.run_for("04:05")
    assert page.locator("#idle-warning").is_visible()  # one minute before the new 5 minutes
    page.clock.run_for("01:00")
    assert page.locator("#signed-out").is_visible()
