"""I-1: every route declares its permissions and every tenant route goes through the guard.

The walk calls each route as an outsider (must be refused) and as the privacy officer (must
never fail with an undeclared permission), and checks that every call of a tenant route left
an audit event carrying that request's id — a route that reached PHI around the guard would
leave none.
"""

from __future__ import annotations

import re
import uuid

from fastapi.routing import APIRoute

from phivault.db.engine import SYSTEM_TENANT
from tests.support.audit import events

EXAMPLE_BODIES = {
    ("POST", "/api/v1/tenants"): {"name": "Gamma Care", "slug": "gamma"},
    ("POST", "/api/v1/tenants/{tenant_id}/people"): {
        "kind": "patient",
        "given_name": "Walker",
        "family_name": "Routes",
        "date_of_birth": "1970-01-01",
    },
    ("POST", "/api/v1/tenants/{tenant_id}/people/search"): {"mrn": "MRN-0"},
    ("PATCH", "/api/v1/tenants/{tenant_id}/people/{person_id}"): {"family_name": "Walked"},
    ("POST", "/api/v1/tenants/{tenant_id}/people/{person_id}/records"): {
        "record_type": "clinical_note",
        "fields": {"note_date": "2026-01-01"},
    },
    ("PATCH", "/api/v1/tenants/{tenant_id}/records/{record_id}"): {
        "fields": {"note_date": "2026-01-02"}
    },
    ("POST", "/api/v1/tenants/{tenant_id}/directory/role-categories"): {
        "name": "Drivers",
        "access_category": "minimum",
    },
    ("POST", "/api/v1/tenants/{tenant_id}/directory/positions"): "POSITION",
    ("PATCH", "/api/v1/tenants/{tenant_id}/directory/role-categories/{role_category_id}"): {
        "name": "Renamed by the walk"
    },
    ("PATCH", "/api/v1/tenants/{tenant_id}/directory/positions/{position_id}"): {
        "title": "Renamed by the walk"
    },
    ("POST", "/api/v1/tenants/{tenant_id}/members"): "MEMBER",
    ("PUT", "/api/v1/tenants/{tenant_id}/members/{member_id}/grant"): "GRANT",
    ("POST", "/api/v1/tenants/{tenant_id}/break-glass"): "BREAK_GLASS",
    ("POST", "/api/v1/tenants/{tenant_id}/break-glass/{grant_id}/review"): {
        "disposition": "appropriate"
    },
}
EXAMPLE_BODIES |= {
    ("POST", "/api/v1/tenants/{tenant_id}/members/{member_id}/status"): {"status": "suspended"},
    ("PUT", "/api/v1/tenants/{tenant_id}/members/{member_id}/manager"): {"manager_id": None},
    ("PATCH", "/api/v1/tenants/{tenant_id}/settings"): {"idle_timeout_minutes": 5},
    ("POST", "/api/v1/tenants/{tenant_id}/access-reviews/{review_id}/close"): {
        "outcome": "confirmed"
    },
}
EXAMPLE_BODIES |= {
    ("POST", "/api/v1/tenants/{tenant_id}/people/{person_id}/void"): {
        "reason": "a duplicate filed by the route walk"
    },
    ("POST", "/api/v1/tenants/{tenant_id}/records/{record_id}/void"): {
        "reason": "filed in error by the route walk"
    },
}
EXAMPLE_BODIES[("POST", "/api/v1/tenants/{tenant_id}/documents/{document_id}/void")] = {
    "reason": "filed on the wrong chart by the walk"
}
RAW_BODIES = {("POST", "/api/v1/tenants/{tenant_id}/people/{person_id}/documents")}


def _routes() -> list[tuple[str, APIRoute]]:
    from phivault.api import routes_admin, routes_people, routes_workforce

    found = []
    for router in (routes_people.router, routes_admin.router, routes_workforce.router):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in route.methods:
                found.append((method, route))
    return found


def _body(key, world):
    body = EXAMPLE_BODIES.get(key)
    position = world.positions_a["Scheduler"]
    if body == "POSITION":
        return {"title": "Driver", "role_category_id": str(uuid.uuid4())}
    if body == "MEMBER":
        return {
            "username": f"walker{uuid.uuid4().hex[:6]}",
            "display_name": "Walker",
            "position_id": str(position),
        }
    if body == "GRANT":
        return {"position_id": str(position)}
    if body == "BREAK_GLASS":
        return {"person_id": str(world.patient), "reason": "route walk emergency test"}
    return body


def _fill(path: str, world, *, real: bool) -> str:
    values = {
        "tenant_id": world.tenant_a,
        "person_id": world.patient if real else uuid.uuid4(),
        "record_id": world.records["note"] if real else uuid.uuid4(),
        "member_id": world["scheduler"].member_id if real else uuid.uuid4(),
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), uuid.uuid4())), path)


def _call(client, method, route, world, persona, *, real):
    key = (method, route.path)
    if route.body_field is not None and key not in EXAMPLE_BODIES and key not in RAW_BODIES:
        raise AssertionError(f"add an example body for {key} to the route walk")
    kwargs = {"headers": dict(world[persona].headers)}
    if key in RAW_BODIES:
        kwargs["content"] = b"%PDF-1.4 walk"
        kwargs["headers"] |= {"Content-Type": "application/pdf", "X-Filename": "walk.pdf"}
    elif route.body_field is not None:
        kwargs["json"] = _body(key, world)
    return client.request(method, _fill(route.path, world, real=real), **kwargs)


def test_outsider_is_refused_on_every_route(client, env, world) -> None:
    for method, route in _routes():
        if route.path == "/api/v1/me":
            continue
        response = _call(client, method, route, world, "outsider", real=True)
        assert response.status_code in (403, 404), (method, route.path, response.status_code)
        if route.path.startswith("/api/v1/tenants/{tenant_id}"):
            request_id = response.headers["x-request-id"]
            refused = events(env.vault, world.tenant_a, request_id=request_id)
            assert refused and all(e.outcome == "refused" for e in refused), (method, route.path)


def test_officer_walk_never_hits_an_undeclared_permission_and_is_always_audited(
    client, env, world
) -> None:
    for method, route in _routes():
        response = _call(client, method, route, world, "officer", real=True)
        assert response.status_code < 500, (method, route.path, response.text)
        if route.path.startswith("/api/v1/tenants/{tenant_id}") and response.status_code < 300:
            request_id = response.headers["x-request-id"]
            audited = events(env.vault, world.tenant_a, request_id=request_id)
            assert audited, f"{method} {route.path} succeeded without an audit event"


FORGED = "pvt_" + "f" * 43  # the shape of a token, issued to no one
UNCHECKED_CALLS = {
    "example body": {"X-Purpose-Of-Use": "treatment"},
    "malformed body": {"X-Purpose-Of-Use": "treatment"},
    "bad purpose": {"X-Purpose-Of-Use": "curiosity"},
}


def test_an_invalid_token_gets_nothing_but_401_on_every_route(client, env, world) -> None:
    """A bearer token is checked inside the route's own unit (one transaction), or first
    whenever a route fails or opens no unit: whatever the body or headers, a caller with an
    invalid token learns nothing (no 404, 422 or 400) and leaves one audited refusal."""
    for method, route in _routes():
        for case, extra in UNCHECKED_CALLS.items():
            kwargs = {"headers": {"Authorization": f"Bearer {FORGED}", **extra}}
            if case == "malformed body" or route.body_field is None:
                kwargs["content"] = b'{"unexpected": ['
            elif (method, route.path) not in RAW_BODIES:
                kwargs["json"] = _body((method, route.path), world)
            response = client.request(method, _fill(route.path, world, real=True), **kwargs)
            where = (method, route.path, case)
            assert response.status_code == 401, (*where, response.status_code)
            request_id = response.headers["x-request-id"]
            refused = events(env.vault, SYSTEM_TENANT, request_id=request_id)
            assert [(e.action, e.outcome, e.reason) for e in refused] == [
                ("auth.token", "refused", "invalid-credentials")
            ], where
            assert not events(env.vault, world.tenant_a, request_id=request_id), where
