"""I-1 for the web app: every page route is walked as an attacker would walk it.

The walk collects the page routes from the application itself (a new page is walked without
anyone adding it here) and calls each one, with a form that carries a valid CSRF token:

- signed out: sent to the sign-in page (or refused), never served;
- as the manager of another agency, with agency A's real ids: refused with 403/404, no PHI
  of A on the page, and nothing done in A (no audit event of A succeeded for that request);
- as a member of A without the permission a route declares: refused;
- as A's privacy officer: never a server error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phivault.access.policy import AccessCategory, Permission, grant_permissions
from phivault.api.deps import PSEUDO
from phivault.db.engine import Scope
from phivault.identity.session_models import LoginSession
from tests.conftest import app_for
from tests.support.audit import events
from tests.support.routes import Served, pages, served
from tests.support.signin import Account, complete, new_member

# Pages anyone may open signed out: signing in, resetting a password.
PUBLIC_PAGES = {"/login", "/reset", "/reset/complete"}


@pytest.fixture
def app(env):  # type: ignore[no-untyped-def]
    return app_for(env.vault)


def _client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


@pytest.fixture
def signed_out(app):  # type: ignore[no-untyped-def]
    yield from _client(app)


@pytest.fixture
def document_id(client, world) -> str:  # type: ignore[no-untyped-def]
    """A real document of A's patient, uploaded by A's privacy officer."""
    response = client.post(
        f"/api/v1/tenants/{world.tenant_a}/people/{world.patient}/documents",
        headers=world["officer"].headers
        | {"Content-Type": "application/pdf", "X-Filename": "walk.pdf"},
        content=b"%PDF-1.4 page walk",
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _real_ids(world, document_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "tenant_id": str(world.tenant_a),
        "person_id": str(world.patient),
        "record_id": str(world.records["note"]),
        "document_id": document_id,
        "member_id": str(world["scheduler"].member_id),
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), path)


def _call(c: TestClient, route: Served, ids: dict[str, str], csrf: str = ""):  # type: ignore[no-untyped-def]
    url = _fill(route.path, ids)
    if route.method == "GET":
        return c.get(url, params={"purpose": "treatment"})
    return c.request(route.method, url, data={"csrf_token": csrf, "purpose": "treatment"})


def _signed_in(app, env, account: Account) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    for c in _client(app):
        complete(c, env, account)
        yield c


def _other_agency_manager(client, world) -> Account:  # type: ignore[no-untyped-def]
    """A privacy officer and administrator of agency B only."""
    b = world.tenant_b
    directory = client.get(f"/api/v1/tenants/{b}/directory", headers=world["officer"].headers)
    assert directory.status_code == 200, directory.text
    position = next(p["position_id"] for p in directory.json() if p["title"] == "Director")
    name = f"bmanager{uuid.uuid4().hex[:6]}"
    response = client.post(
        f"/api/v1/tenants/{b}/members",
        headers=world["officer"].headers,
        json={
            "username": name,
            "display_name": "Fabricated Manager",
            "position_id": position,
            "privacy_officer": True,
            "administrator": True,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(name, body["initial_password"], uuid.UUID(body["id"]))


def _shows_no_phi(text: str, world) -> None:  # type: ignore[no-untyped-def]
    for name, value in world.secrets.items():
        assert value not in text, f"agency A's {name} shown"


def test_every_route_api_and_page_declares_permissions(app) -> None:
    routes = served(app)
    assert any(r.path == "/t/{tenant_id}/admin" for r in routes), "included routers missed"
    for route in routes:
        assert route.permissions, f"{route.method} {route.path} declares no permission"
        if route.path.startswith(("/api/v1/tenants/{tenant_id}", "/t/{tenant_id}")):
            assert "public" not in route.permissions, (
                f"{route.path} is a tenant route declared public"
            )
            assert all(p.startswith("tenant:") for p in route.permissions), route.path


def test_signed_out_every_page_sends_to_sign_in(signed_out, app, world, document_id) -> None:
    ids = _real_ids(world, document_id)
    walked = 0
    for route in pages(app):
        if route.path in PUBLIC_PAGES or "public" in route.permissions:
            continue
        response = _call(signed_out, route, ids)
        walked += 1
        where = (route.method, route.path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login"), where
        else:
            assert response.status_code in (401, 403, 404), where
        _shows_no_phi(response.text, world)
    assert walked > 40


def test_another_agencys_manager_is_refused_on_every_agency_page(
    client, app, env, world, document_id
) -> None:
    manager = _other_agency_manager(client, world)
    ids = _real_ids(world, document_id)
    for b_client in _signed_in(app, env, manager):
        for route in pages(app):
            if not route.path.startswith("/t/{tenant_id}"):
                continue
            response = _call(b_client, route, ids, manager.csrf)
            where = (route.method, route.path, response.status_code)
            assert response.status_code in (403, 404), where
            _shows_no_phi(response.text, world)
            request_id = response.headers["x-request-id"]
            done = [e for e in events(env.vault, world.tenant_a, request_id=request_id)]
            assert all(e.outcome == "refused" for e in done), where


def test_another_agencys_manager_cannot_touch_an_a_members_own_account_items(
    client, app, env, world
) -> None:
    """Own-account routes take ids too (sessions, tokens, passkeys): another member's ids
    change nothing of theirs."""
    scheduler = complete(client, env, new_member(client, world, position="Scheduler"))
    before = _live_sessions(env, scheduler.member_id)
    assert len(before) == 1
    manager = _other_agency_manager(client, world)
    walked = 0
    for b_client in _signed_in(app, env, manager):
        for route in pages(app):
            if not route.path.startswith("/account/") or "{" not in route.path:
                continue
            walked += 1
            ids = {"session_id": str(before[0])}
            response = _call(b_client, route, ids, manager.csrf)
            # Refused, or back to the manager's own page with nothing done (checked below).
            assert response.status_code in (303, 404), (route.method, route.path)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/account"), route.path
    assert walked >= 3
    assert _live_sessions(env, scheduler.member_id) == before


def _live_sessions(env, member_id: uuid.UUID) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    with env.vault.db.transaction(Scope.platform()) as session:
        query = select(LoginSession.id).where(
            LoginSession.member_id == member_id, LoginSession.revoked_at.is_(None)
        )
        return list(session.scalars(query))


def _beyond(route: Served, held: frozenset[Permission]) -> bool:
    declared = {Permission(p) for p in route.permissions if p not in PSEUDO}
    return bool(declared) and not (declared & held)


def test_a_member_without_the_permission_is_refused_on_every_page_that_needs_it(
    client, app, env, world, document_id
) -> None:
    scheduler = new_member(client, world, position="Scheduler")
    held = grant_permissions(AccessCategory.MINIMUM, privacy_officer=False, administrator=False)
    ids = _real_ids(world, document_id)
    walked = 0
    for s_client in _signed_in(app, env, scheduler):
        for route in pages(app):
            if not _beyond(route, held):
                continue
            walked += 1
            response = _call(s_client, route, ids, scheduler.csrf)
            assert response.status_code in (403, 404), (route.method, route.path)
    assert walked >= 10


def test_the_privacy_officer_never_meets_a_server_error(
    client, app, env, world, document_id
) -> None:
    officer = new_member(
        client, world, position="Director", privacy_officer=True, administrator=True
    )
    ids = _real_ids(world, document_id)
    for o_client in _signed_in(app, env, officer):
        for route in pages(app):
            if route.path == "/logout":
                continue
            response = _call(o_client, route, ids, officer.csrf)
            assert response.status_code < 500, (route.method, route.path, response.text[:300])
