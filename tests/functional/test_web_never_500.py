"""Any page or API answer is a page or an RFC 9457 problem, never a 500: paging offsets the
database cannot hold, negative or not numbers; form fields longer than declared; a wrong id
in a page's address."""

from __future__ import annotations

import pytest

from tests.support.signin import complete, login, new_member

BAD_OFFSETS = [str(2**63), str(10**30), "-1", "abc", "1e3", "²"]


@pytest.fixture
def officer(client, env, world):
    """A signed-in privacy officer of tenant A (audit reader), session cookie in ``client``."""
    return complete(
        client, env, new_member(client, world, position="Office Manager", privacy_officer=True)
    )


@pytest.mark.parametrize("offset", BAD_OFFSETS)
def test_the_audit_viewer_answers_a_bad_offset_with_a_page_not_a_500(
    client, world, officer, offset
) -> None:
    response = client.get(f"/t/{world.tenant_a}/audit", params={"offset": offset})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "That page of the list does not exist" in response.text


def test_the_audit_viewer_still_pages_with_a_good_offset(client, world, officer) -> None:
    response = client.get(f"/t/{world.tenant_a}/audit", params={"offset": "100"})
    assert response.status_code == 200


@pytest.mark.parametrize("offset", [str(2**63), str(10**30), "-1", "abc"])
def test_api_lists_answer_a_bad_offset_with_a_problem_not_a_500(client, world, offset) -> None:
    officer = world["officer"]
    for path in ("people", "audit/events"):
        response = client.get(
            f"/api/v1/tenants/{world.tenant_a}/{path}",
            params={"offset": offset},
            headers={**officer.headers, "X-Purpose-Of-Use": "operations"},
        )
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if len(offset) > 5:  # the problem names the field, not the value
            assert offset not in response.text


def test_an_overlong_sign_in_field_shows_the_sign_in_form_again_with_the_reason(
    client,
) -> None:
    response = client.post("/login", data={"username": "u" * 500, "password": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login"' in response.text
    assert "Username: at most 120 characters" in response.text
    assert "u" * 500 not in response.text


def test_an_overlong_password_on_the_first_change_shows_the_form_again(client, world) -> None:
    account = new_member(client, world)
    assert login(client, account.username, account.password).status_code == 200
    csrf = client.get("/password").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/password",
        data={"csrf_token": csrf, "current_password": account.password, "new_password": "p" * 2000},
    )
    assert response.status_code == 422
    assert '<form method="post" action="/password"' in response.text
    assert "New password: at most 1024 characters" in response.text


def test_an_overlong_field_on_any_other_page_is_a_page_not_json(client, world, officer) -> None:
    """Pages without their own renderer (here the break-glass review note) answer with a
    page naming the field, never the API's problem JSON."""
    response = client.post(
        f"/t/{world.tenant_a}/break-glass/00000000-0000-0000-0000-000000000000/review",
        data={"csrf_token": officer.csrf, "disposition": "appropriate", "note": "n" * 5000},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not accepted</h1>" in response.text
    assert "Note</strong>: at most 2000 characters" in response.text


def test_a_malformed_id_in_a_page_address_is_the_not_found_page(client, officer) -> None:
    response = client.get("/t/not-an-agency-id/people")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_an_unknown_page_address_is_the_not_found_page_and_the_api_keeps_its_problem(
    client,
) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text
    api = client.get("/api/v1/no-such-route")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    wrong_method = client.put("/login")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("text/html")
