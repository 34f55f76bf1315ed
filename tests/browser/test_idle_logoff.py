"""Idle logoff hides PHI (AUTH-6): a warning a minute before the timeout, then the content is
removed from the DOM even with the network down; the back button shows no PHI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phivault.api.app import create_app
from tests.browser.conftest import screenshot
from tests.browser.helpers import sign_in_first_time
from tests.support.signin import new_member

pytestmark = pytest.mark.browser


def test_idle_timeout_wipes_phi_even_offline_and_back_shows_none(page, env) -> None:
    with TestClient(create_app(env.vault)) as client:
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
    with TestClient(create_app(env.vault)) as client:
        account = new_member(client, env.world)
    page.clock.install()
    sign_in_first_time(page, env, account)
    page.goto(f"/t/{env.world.tenant_a}/people")
    page.clock.run_for("09:10")
    page.get_by_role("button", name="Stay signed in").click()
    page.wait_for_selector("#idle-warning", state="detached")
    page.clock.run_for("05:00")
    assert not page.locator("#signed-out").count()
