"""Health, OpenAPI, offline API docs, security headers, problem JSON for unknown routes."""

from __future__ import annotations


def test_health_and_security_headers(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert len(headers["x-request-id"]) == 16


def test_openapi_lists_the_vault_routes(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/tenants/{tenant_id}/records/{record_id}",
        "/api/v1/tenants/{tenant_id}/people/{person_id}/documents",
        "/api/v1/tenants/{tenant_id}/break-glass",
        "/api/v1/tenants/{tenant_id}/audit/events",
        "/api/v1/tenants/{tenant_id}/audit/verify",
    ):
        assert path in paths
    assert paths["/api/v1/tenants/{tenant_id}/records/{record_id}"]["get"][
        "x-phivault-permissions"
    ] == ["tenant:records:read"]


def test_api_docs_are_served_without_a_cdn(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"].split("style-src")[0]
    bundle = client.get("/static/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000


def test_unknown_route_is_problem_json(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_me_lists_only_own_tenants(client, world) -> None:
    body = client.get("/api/v1/me", headers=world["other_staff"].headers).json()
    assert [t["id"] for t in body["tenants"]] == [str(world.tenant_b)]
    officer = client.get("/api/v1/me", headers=world["officer"].headers).json()
    assert {t["id"] for t in officer["tenants"]} == {str(world.tenant_a), str(world.tenant_b)}


def test_only_platform_admins_create_tenants(client, world, env) -> None:
    refused = client.post(
        "/api/v1/tenants", json={"name": "X", "slug": "xx"}, headers=world["clinician"].headers
    )
    assert refused.status_code == 403
    created = client.post(
        "/api/v1/tenants",
        json={"name": "Gamma Home Care", "slug": "gamma"},
        headers=world["officer"].headers,
    )
    assert created.status_code == 201
    gamma = created.json()["id"]
    directory = client.get(f"/api/v1/tenants/{gamma}/directory", headers=world["officer"].headers)
    assert directory.status_code == 200
    # The creator administers the new tenant but has no routine access to its PHI.
    people = client.get(f"/api/v1/tenants/{gamma}/people", headers=world["officer"].headers)
    assert people.status_code == 403
    duplicate = client.post(
        "/api/v1/tenants",
        json={"name": "Gamma again", "slug": "gamma"},
        headers=world["officer"].headers,
    )
    assert duplicate.status_code == 409
