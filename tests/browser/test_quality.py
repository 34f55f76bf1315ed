"""Quality of the web app in a real browser: no accessibility violations found by axe-core
(labels, contrast, roles, names…) on every main page, usable at tablet width without sideways
scrolling, and operable from the keyboard with a visible focus."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import sign_in_first_time
from tests.browser.test_emergency_and_audit import _member
from tests.support.signin import NEW_PASSWORD, totp_now

pytestmark = pytest.mark.browser
AXE = Axe()
TABLET = {"width": 768, "height": 1024}


def _violations(page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results.response["violations"]
    ]


def _pages(env) -> list[str]:
    a, w = env.world.tenant_a, env.world
    return [
        "/",
        f"/t/{a}",
        f"/t/{a}/people",
        f"/t/{a}/people/new",
        f"/t/{a}/people/list?kind=patient&purpose=treatment",
        f"/t/{a}/people/{w.patient}",
        f"/t/{a}/people/{w.patient}?purpose=treatment",
        f"/t/{a}/people/{w.patient}/edit?purpose=treatment",
        f"/t/{a}/people/{w.patient}/records/new?purpose=treatment&record_type=care_plan",
        f"/t/{a}/records/{w.records['care_plan']}/edit?purpose=treatment",
        f"/t/{a}/records/{w.records['care_plan']}/versions?purpose=treatment",
        f"/t/{a}/records/{w.records['care_plan']}/void?purpose=treatment",
        f"/t/{a}/people/{w.patient}/records/new?purpose=treatment&record_type=visit_schedule",
        f"/t/{a}/people/{w.patient}/emergency",
        f"/t/{a}/audit",
        f"/t/{a}/credentials",
        f"/t/{a}/credentials?purpose=operations",
        f"/t/{a}/audit?action=record.read&outcome=allowed",
        f"/t/{a}/admin",
        f"/t/{a}/admin/directory",
        f"/t/{a}/admin/settings",
        f"/t/{a}/admin/resets",
        f"/t/{a}/admin/reviews",
        "/account",
        "/account/sessions",
        "/account/tokens",
        "/reauth?next=/",
    ]


def test_sign_in_pages_have_no_accessibility_violations(page, env) -> None:
    account = _member(env, "Office Manager", privacy_officer=True)
    found: dict[str, list[str]] = {}
    page.goto("/reset")
    found["/reset"] = _violations(page)
    page.goto("/login")
    found["/login"] = _violations(page)
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    found["/login (error)"] = _violations(page)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/password")
    found["/password"] = _violations(page)
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/mfa/enrol")
    found["/mfa/enrol"] = _violations(page)
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your app").fill(totp_now(secret, env))
    page.get_by_role("button", name="Confirm").click()
    found["recovery codes"] = _violations(page)
    assert {k: v for k, v in found.items() if v} == {}


def test_main_pages_have_no_accessibility_violations(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager", privacy_officer=True))
    found = {}
    for path in _pages(env):
        response = page.goto(path)
        assert response.status == 200, path
        found[path] = _violations(page)
    assert {k: v for k, v in found.items() if v} == {}


def test_every_main_page_fits_a_tablet_without_sideways_scrolling(
    chromium, live_server, env
) -> None:
    context = chromium.new_context(base_url=live_server, viewport=TABLET)
    page = context.new_page()
    sign_in_first_time(page, env, _member(env, "Office Manager", privacy_officer=True))
    too_wide = {}
    for path in _pages(env):
        page.goto(path)
        # A wide table may scroll inside its own box; the page itself must not.
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > TABLET["width"]:
            too_wide[path] = width
    context.close()
    assert too_wide == {}


def test_keyboard_only_sign_in_and_skip_link(page, env) -> None:
    account = sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    # The username field has the focus (autofocus: wait for it, as a person's eyes would);
    # everything else is typed and tabbed.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(account.username)
    page.keyboard.press("Tab")
    page.keyboard.type(account.password)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sign in"
    page.keyboard.press("Enter")
    page.wait_for_url("**/mfa/verify")
    page.keyboard.type(totp_now(account.totp_secret, env, 30))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith("/"))
    # First Tab: the skip link, shown on focus, with a visible focus ring; Enter jumps to main.
    page.goto(f"/t/{env.world.tenant_a}")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
        return {text: e.textContent, outline: s.outlineStyle, width: s.outlineWidth, left: r.left}; }"""
    )
    assert focused["text"] == "Skip to content"
    assert focused["outline"] == "solid" and focused["width"] == "3px"
    assert focused["left"] >= 0  # on screen while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab lands inside the page's content, past the header's links.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def _watch(page) -> list[str]:
    """Everything the browser complains about: console errors and warnings (a CSP violation
    is one), script errors, and any asset or page answered 4xx/5xx (a missing favicon)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return problems


def test_api_docs_render_the_openapi_31_operations_under_the_csp(page) -> None:
    problems = _watch(page)
    page.goto("/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 20
    assert "Unable to render this definition" not in page.content()
    assert page.locator(".opblock-summary-path", has_text="/api/v1/auth/login").count() >= 1
    assert problems == []


def test_pages_raise_no_csp_violation_script_error_or_missing_asset(page, env) -> None:
    problems = _watch(page)
    page.goto("/login")
    sign_in_first_time(page, env, _member(env, "Office Manager", privacy_officer=True))
    for path in _pages(env):
        page.goto(path)
        page.wait_for_load_state("load")
    assert problems == []
