"""The API over HTTP, with personas: privacy officer, staff, another tenant's staff, outsider."""

from __future__ import annotations

import uuid

import pytest

from tests.support.audit import last_event

PROBLEM = "application/problem+json"


def url(world, path: str, tenant=None) -> str:
    return f"/api/v1/tenants/{tenant or world.tenant_a}{path}"


def test_staff_reads_a_record_projected_to_their_category(client, world) -> None:
    full = client.get(
        url(world, f"/records/{world.records['care_plan']}"), headers=world["clinician"].headers
    )
    assert full.status_code == 200
    assert full.json()["fields"]["plan_text"] == world.secrets["plan"]
    summary = client.get(
        url(world, f"/records/{world.records['care_plan']}"), headers=world["coder"].headers
    )
    assert summary.status_code == 200
    assert "plan_text" not in summary.json()["fields"]
    assert world.secrets["plan"] not in summary.text
    assert full.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("persona", ["other_staff", "outsider"])
def test_missing_and_forbidden_get_the_same_404(client, world, persona: str) -> None:
    headers = world[persona].headers
    forbidden = client.get(url(world, f"/records/{world.records['note']}"), headers=headers)
    missing = client.get(url(world, f"/records/{uuid.uuid4()}"), headers=world["clinician"].headers)
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.headers["content-type"] == PROBLEM
    strip = lambda body: {k: v for k, v in body.items() if k not in ("instance", "request_id")}  # noqa: E731
    assert strip(forbidden.json()) == strip(missing.json())


def test_cross_tenant_path_does_not_reach_the_other_tenant(client, world) -> None:
    # Tenant B's staff asks for tenant A's record through tenant B's path.
    response = client.get(
        url(world, f"/records/{world.records['note']}", world.tenant_b),
        headers=world["other_staff"].headers,
    )
    assert response.status_code == 404


def test_purpose_of_use_is_required(client, world) -> None:
    headers = {"Authorization": world["clinician"].headers["Authorization"]}
    response = client.get(url(world, f"/records/{world.records['note']}"), headers=headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/purpose-required")


def test_unknown_purpose_is_a_clear_400(client, world) -> None:
    headers = world["clinician"].headers | {"X-Purpose-Of-Use": "curiosity"}
    response = client.get(url(world, f"/records/{world.records['note']}"), headers=headers)
    assert response.status_code == 400
    assert "treatment" in response.json()["detail"]


@pytest.mark.parametrize("header", [None, "Bearer pvt_not-a-real-token", "Basic abc", "Bearer "])
def test_bad_credentials_are_401_and_audited(client, env, world, header) -> None:
    headers = {"X-Purpose-Of-Use": "treatment"} | ({"Authorization": header} if header else {})
    response = client.get(url(world, f"/records/{world.records['note']}"), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    from phivault.db.engine import SYSTEM_TENANT

    assert last_event(env.vault, SYSTEM_TENANT, action="auth.token").outcome == "refused"


def test_malformed_ids_get_a_clear_422_without_echoing_input(client, world) -> None:
    response = client.get(url(world, "/records/not-a-uuid"), headers=world["clinician"].headers)
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["location"] == "path.record_id"
    assert "not-a-uuid" not in str(body["errors"]) + body["detail"]


def test_unknown_tenant_is_404(client, world) -> None:
    response = client.get(
        f"/api/v1/tenants/{uuid.uuid4()}/people/{world.patient}", headers=world["officer"].headers
    )
    assert response.status_code == 404


def test_create_search_and_read_a_person(client, world) -> None:
    body = {
        "kind": "patient",
        "given_name": "Fabricia",
        "family_name": "Testwell",
        "date_of_birth": "1961-04-02",
        "mrn": "MRN-00001111",
    }
    created = client.post(url(world, "/people"), json=body, headers=world["clinician"].headers)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    by_name = client.post(
        url(world, "/people/search"),
        headers=world["scheduler"].headers,
        json={"family_name": "TESTWELL ", "given_name": "fabricia", "date_of_birth": "1961-04-02"},
    )
    assert [p["id"] for p in by_name.json()] == [person_id]
    by_mrn = client.post(
        url(world, "/people/search"), json={"mrn": "MRN-00001111"}, headers=world["coder"].headers
    )
    assert by_mrn.json()[0]["fields"]["family_name"] == "Testwell"
    other = client.post(
        url(world, "/people/search", world.tenant_b),
        json={"mrn": "MRN-00001111"},
        headers=world["other_staff"].headers,
    )
    assert other.status_code == 200 and other.json() == []


def test_records_round_trip_and_minimum_user_cannot_write_full_fields(client, world) -> None:
    headers = world["clinician"].headers
    created = client.post(
        url(world, f"/people/{world.patient}/records"),
        headers=headers,
        json={
            "record_type": "visit_schedule",
            "fields": {
                "visit_date": "2026-02-01",
                "start_time": "09:00",
                "visit_notes": "fabricated",
            },
        },
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    patch = client.patch(
        url(world, f"/records/{record_id}"),
        headers=world["scheduler"].headers,
        json={"fields": {"start_time": "10:00"}, "expected_version": 1},
    )
    assert patch.status_code == 200
    assert patch.json()["fields"] == {"visit_date": "2026-02-01", "start_time": "10:00"}
    denied = client.patch(
        url(world, f"/records/{record_id}"),
        headers=world["scheduler"].headers,
        json={"fields": {"visit_notes": "overwrite"}},
    )
    assert denied.status_code == 404
    stale = client.patch(
        url(world, f"/records/{record_id}"),
        headers=headers,
        json={"fields": {"start_time": "11:00"}, "expected_version": 1},
    )
    assert stale.status_code == 409
    full = client.get(url(world, f"/records/{record_id}"), headers=headers).json()
    assert full["fields"]["visit_notes"] == "fabricated"
    assert full["version"] == 2


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"record_type": "nonsense", "fields": {}}, "unknown record type"),
        ({"record_type": "clinical_note", "fields": {"note_date": "yesterday"}}, "must be a date"),
        (
            {"record_type": "clinical_note", "fields": {"note_date": "2026-01-01", "colour": "x"}},
            "no field",
        ),
        ({"record_type": "clinical_note", "fields": {}}, "missing required"),
        ({"record_type": "credential", "fields": {"credential_type": "cpr"}}, "cannot have"),
        (
            {
                "record_type": "clinical_note",
                "fields": {"note_date": "2026-01-01"},
                "sensitivity": ["gossip"],
            },
            "sensitivity",
        ),
    ],
)
def test_bad_records_are_refused_clearly_and_nothing_is_written(
    client, world, body, problem
) -> None:
    headers = world["clinician"].headers
    before = client.get(url(world, f"/people/{world.patient}/records"), headers=headers).json()
    response = client.post(
        url(world, f"/people/{world.patient}/records"), json=body, headers=headers
    )
    assert response.status_code == 422
    assert problem in response.json()["detail"]
    after = client.get(url(world, f"/people/{world.patient}/records"), headers=headers).json()
    assert len(after) == len(before)


def test_unknown_body_fields_are_refused(client, world) -> None:
    response = client.post(
        url(world, "/people"),
        headers=world["clinician"].headers,
        json={
            "kind": "patient",
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "1990-01-01",
            "ssn": "x",
        },
    )
    assert response.status_code == 422


def test_oversized_json_body_is_413(client, world) -> None:
    response = client.post(
        url(world, "/people"),
        headers=world["clinician"].headers,
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_errors_never_carry_a_stack_trace(client, world, env, monkeypatch) -> None:
    from phivault.records import service

    def explode(*args, **kwargs):
        raise RuntimeError("Traceback secret " + world.secrets["given"])

    monkeypatch.setattr(service, "read_record", explode)
    response = client.get(
        url(world, f"/records/{world.records['note']}"), headers=world["clinician"].headers
    )
    assert response.status_code == 500
    assert "Traceback" not in response.text and world.secrets["given"] not in response.text


def test_correcting_a_name_moves_the_blind_index(client, world) -> None:
    headers = world["clinician"].headers
    person = f"/api/v1/tenants/{world.tenant_a}/people/{world.patient}"
    fixed = client.patch(person, headers=headers, json={"family_name": "Correctedson"})
    assert fixed.status_code == 200
    assert fixed.json()["fields"]["family_name"] == "Correctedson"
    search = f"/api/v1/tenants/{world.tenant_a}/people/search"
    new = {
        "family_name": "correctedson",
        "given_name": world.secrets["given"],
        "date_of_birth": world.secrets["dob"],
    }
    assert [p["id"] for p in client.post(search, json=new, headers=headers).json()] == [
        str(world.patient)
    ]
    old = new | {"family_name": world.secrets["family"]}
    assert client.post(search, json=old, headers=headers).json() == []
    bad = client.patch(person, headers=headers, json={"date_of_birth": "2999-01-01"})
    assert bad.status_code == 422
    assert (
        client.patch(
            person, headers=world["it_support"].headers, json={"family_name": "X"}
        ).status_code
        == 404
    )


def test_oversized_chunked_body_without_length_is_413(client, world) -> None:
    def body():
        yield b'{"kind": "patient", "given_name": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    response = client.post(
        url(world, "/people"), headers=world["clinician"].headers, content=body()
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_unexpected_errors_still_carry_security_headers(client, world, monkeypatch) -> None:
    from phivault.records import service

    monkeypatch.setattr(service, "read_record", lambda *a, **k: 1 / 0)
    response = client.get(
        url(world, f"/records/{world.records['note']}"), headers=world["clinician"].headers
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("field", "value"), [("family_name", "Walker "), ("given_name", " Ann"), ("mrn", "SUN-1 ")]
)
def test_a_value_with_spaces_at_either_end_is_refused_not_trimmed(
    client, world, field, value
) -> None:
    body = {
        "kind": "patient",
        "given_name": "Ann",
        "family_name": "Walker",
        "date_of_birth": "1970-01-01",
        field: value,
    }
    response = client.post(
        f"/api/v1/tenants/{world.tenant_a}/people", headers=world["clinician"].headers, json=body
    )
    assert response.status_code == 422, response.text
    assert "space" in response.json()["detail"]


def _add_patients(client, world, count: int) -> list[str]:
    ids = []
    for i in range(count):
        body = {
            "kind": "patient",
            "given_name": f"Pager{i}",
            "family_name": "Keyset",
            "date_of_birth": "1970-01-01",
        }
        created = client.post(url(world, "/people"), json=body, headers=world["officer"].headers)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


def test_people_pages_follow_the_link_header_to_the_end(client, env, world) -> None:
    """Keyset paging over the API: each page names the next in ``Link``; following them
    yields every patient once, in the list's order, the same list as the offset pages."""
    added = _add_patients(client, world, 5)
    headers = world["officer"].headers
    everyone = client.get(url(world, "/people?kind=patient&limit=200"), headers=headers).json()
    seen, next_url, pages = [], url(world, "/people?kind=patient&limit=2"), 0
    while next_url:
        response = client.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        assert len(response.json()) <= 2
        seen += [p["id"] for p in response.json()]
        link = response.headers.get("link")
        next_url = link.split(">")[0].lstrip("<") if link else None
        assert link is None or link.endswith('rel="next"')
        pages += 1
    assert seen == [p["id"] for p in everyone]  # the order added (ties by id), none twice
    assert set(added) <= set(seen) and len(set(seen)) == len(seen)
    assert pages == (len(seen) + 1) // 2
    offset = client.get(url(world, "/people?kind=patient&offset=2&limit=2"), headers=headers)
    assert [p["id"] for p in offset.json()] == seen[2:4]
    assert "link" not in offset.headers  # offset pages do not name a next one


@pytest.mark.parametrize(
    "query",
    [
        "after=not-a-cursor&kind=patient",
        "after=1.00000000000000000000000000000000&offset=1&kind=patient",
        "after=1.00000000000000000000000000000000",
    ],
)
def test_a_bad_cursor_is_refused_with_a_problem(client, world, query) -> None:
    response = client.get(url(world, f"/people?{query}"), headers=world["officer"].headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_a_cursor_from_one_agency_shows_nothing_of_another(client, env, world) -> None:
    """A cursor holds a moment and an id, not a tenant: in another agency it only starts that
    agency's own list, and a member without standing there gets 404 as for any list."""
    _add_patients(client, world, 3)
    first = client.get(url(world, "/people?kind=patient&limit=1"), headers=world["officer"].headers)
    cursor = first.headers["link"].split("after=")[1].split("&")[0]
    other = client.get(
        url(world, f"/people?kind=patient&after={cursor}", tenant=world.tenant_b),
        headers=world["other_staff"].headers,
    )
    assert other.status_code == 200
    assert not {p["id"] for p in other.json()} & {p["id"] for p in first.json()}
    outsider = client.get(
        url(world, f"/people?kind=patient&after={cursor}"), headers=world["other_staff"].headers
    )
    assert outsider.status_code == 404
